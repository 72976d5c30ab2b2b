"""Gold answers as people copy them are found in the reading text (rag.evaluation.gold)."""

from __future__ import annotations

import pytest

from rag.evaluation.gold import locate_all, locate_in

pytestmark = pytest.mark.unit

WRAPPED = (
    "Each Contributor hereby grants You a world-wide, royalty-free,\n"
    "     non-exclusive license under the terms of this License.\n"
)


def test_exact_answer_is_found_where_it_is():
    text = "Alpha one. Beta two. Alpha one."
    assert locate_in("Alpha one.", text) == [(0, 10), (21, 31)]


def test_a_sentence_wrapped_over_lines_is_found_with_its_line_break():
    answer = "Each Contributor hereby grants You a world-wide, royalty-free, non-exclusive license"
    [(start, end)] = locate_in(answer, WRAPPED)
    assert WRAPPED[start:end].split() == answer.split()


def test_curly_and_straight_quotes_and_dashes_are_one():
    text = "He said it “can’t” be done — not ever."
    [(start, end)] = locate_in('He said it "can\'t" be done - not ever.', text)
    assert text[start:end] == text[:-1] + "."


def test_markdown_markup_in_the_answer_is_set_aside():
    text = "Run asciinema rec to start recording your terminal session now."
    answer = "Run `asciinema rec` to [start recording](https://example.org/rec) your terminal session now."
    [(start, end)] = locate_in(answer, text)
    assert text[start:end] == "Run asciinema rec to start recording your terminal session now"


def test_missing_words_are_not_found():
    text = "The licence grants rights to copy and distribute the work."
    assert locate_in("The licence forbids commercial use of the work entirely.", text) == []
    assert locate_in("grants rights", "nothing here") == []


def test_a_short_answer_is_never_matched_loosely():
    assert locate_in("rights to sell", "The licence grants rights to copy.") == []


def test_an_exact_place_in_one_document_wins_over_a_loose_one_in_another():
    found = locate_all("grants You a licence", [("a", "grants\nYou a licence"), ("b", "It grants You a licence.")])
    assert found == [("b", 3, 23)]


def test_an_answer_ending_in_a_markdown_link_is_found_by_the_links_words():
    """The link is most of the answer's last words, so matching words in order alone falls short."""
    text = "asciinema\n\nTerminal session recorder and the best companion of asciinema.org.\n\nQuick intro"
    answer = "Terminal session recorder and the best companion of [asciinema.org](https://asciinema.org)."
    [(start, end)] = locate_in(answer, text)
    assert text[start:end] == "Terminal session recorder and the best companion of asciinema.org."
