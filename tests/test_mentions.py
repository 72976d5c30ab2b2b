"""Names written in full for term matching (rag.ingest.names)."""

from __future__ import annotations

import pytest

from rag.ingest.names import full_names, in_full
from tests.conftest import CORPUS

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)

NEWS = (
    "Talks Resume As Winter Nears\n\n"
    "On Monday the talks resumed, and Ukrainian President Volodymyr Zelensky said that a deal was near. "
    "Observers doubt that Zelensky can sign it alone, and Zelensky’s advisers agree."
)


def test_a_bare_surname_gets_the_fullest_form_the_document_gives():
    names = full_names(NEWS)
    assert names == {"Zelensky": "Ukrainian President Volodymyr Zelensky"}
    assert in_full("Observers doubt that Zelensky can sign it alone.", names) == (
        "Observers doubt that Ukrainian President Volodymyr Zelensky can sign it alone."
    )
    assert in_full("Zelensky’s advisers agree.", names) == "Ukrainian President Volodymyr Zelensky’s advisers agree."


def test_a_name_already_written_out_is_left_alone():
    names = full_names(NEWS)
    sentence = "On Monday the talks resumed, and Ukrainian President Volodymyr Zelensky said that a deal was near."
    assert in_full(sentence, names) == sentence
    assert in_full("Volodymyr Zelensky said so.", names) == "Volodymyr Zelensky said so."


def test_a_sentence_opener_is_no_part_of_a_name():
    # "Ukrainian" only ever opens a sentence here: it may be any capitalised word.
    text = "Ukrainian President Volodymyr Zelensky spoke. Later that day Zelensky left."
    assert full_names(text) == {"Zelensky": "President Volodymyr Zelensky"}


def test_sentence_openers_section_labels_and_acronyms_are_not_names():
    text = (
        "RESULTS Compared with controls, HCV RNA fell. Using Cox models we saw that Treg cells rose. "
        "However, BC1 RNA did not change. Whereas Treg counts rose, HCV RNA fell. We used RNA again."
    )
    assert full_names(text) == {}


def test_headlines_are_not_read_for_names_nor_rewritten():
    text = "Talks With Putin Stall\n\nThe talks stalled because Putin refused, and later Vladimir Putin spoke."
    names = full_names(text)
    assert names == {"Putin": "Vladimir Putin"}  # not "Talks With Putin" from the headline
    assert in_full("Talks With Putin Stall", names) == "Talks With Putin Stall"


def test_the_essays_full_names_are_the_ones_their_text_introduces():
    off_ramp = full_names((CORPUS / "putin-needs-an-off-ramp.txt").read_text(encoding="utf-8"))
    commentary = full_names(
        (CORPUS / "to-support-zelensky-the-us-needs-to-negotiate-with-putin.txt").read_text(encoding="utf-8")
    )
    assert off_ramp["Putin"] == "Vladimir Putin"
    assert commentary["Zelensky"] == "Ukrainian President Volodymyr Zelensky"
    # Every full form is a phrase of its own essay, ending in its surname.
    for names, name in (
        (off_ramp, "putin-needs-an-off-ramp.txt"),
        (commentary, "to-support-zelensky-the-us-needs-to-negotiate-with-putin.txt"),
    ):
        text = (CORPUS / name).read_text(encoding="utf-8")
        for head, form in names.items():
            assert form.endswith(head) and form in text


def test_empty_markup_and_huge_input():
    assert full_names("") == {} and in_full("", {"Putin": "Vladimir Putin"}) == ""
    html = "<b>Vladimir Putin</b> spoke. Then <i>Putin</i> left, and we saw that Putin was gone."
    assert in_full("Then <i>Putin</i> left.", full_names(html)) == "Then <i>Vladimir Putin</i> left."
    huge = "In Paris, Vladimir Putin met Emmanuel Macron. Later that day Putin and Macron spoke again. " * 20_000
    assert full_names(huge) == {"Putin": "Vladimir Putin", "Macron": "Emmanuel Macron"}
