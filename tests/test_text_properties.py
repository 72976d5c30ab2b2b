"""Properties over arbitrary Unicode and bytes (hypothesis): text that enters
rag is valid Unicode once it is past the boundary, text that leaves it cannot
act on a terminal or a Markdown reader, and sentence spans stay exact."""

from __future__ import annotations

import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer.question import MAX_QUESTION_CHARS, clean_question
from rag.errors import EvalDataError, QuestionError
from rag.evaluation.qa import read_json_line
from rag.evaluation.report import _code, _md
from rag.ingest.sentences import MAX_SENTENCE_CHARS, split_sentences
from rag.text import has_invalid, safe, safe_json, safe_line, safe_name, valid_data, valid_text

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)

# Every code point, lone surrogates included (Python strings can hold them).
ANY_TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)
SURROGATES = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=5)
ESCAPES = ("\x1b", "\x07", "\x9b", "\x9d", "\x7f", "\x00", "\u202e")
BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@FAST
@given(ANY_TEXT)
def test_valid_text_is_encodable_and_changes_nothing_else(text):
    out = valid_text(text)
    assert _encodable(out) and not has_invalid(out) and len(out) == len(text)
    assert all(a == b or (0xD800 <= ord(a) <= 0xDFFF and b == "\ufffd") for a, b in zip(text, out))
    assert valid_text(out) == out


@FAST
@given(st.binary(max_size=200))
def test_bytes_from_argv_or_file_names_become_valid_text(data):
    # How Python hands over argv and file names: undecodable bytes as lone surrogates.
    text = os.fsdecode(data)
    out = valid_text(text)
    assert _encodable(out)
    raw = data.decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape")
    assert out == raw.decode("utf-8", "replace") or "\ufffd" in out


@FAST
@given(ANY_TEXT)
def test_a_question_is_valid_short_and_free_of_controls_or_refused(raw):
    try:
        text, notes = clean_question(raw)
    except QuestionError as err:
        assert "empty" in str(err)
        return
    assert text and _encodable(text) and len(text) <= MAX_QUESTION_CHARS
    assert not any(c in text for c in "\x00\x1b\x07\x9b\t\n\r")
    assert text == text.strip() and "  " not in text
    if has_invalid(raw):
        assert any("not UTF-8" in n for n in notes)


@FAST
@given(st.integers(0, 3_000_000), st.text(alphabet=string.ascii_letters, min_size=1, max_size=20))
def test_leading_whitespace_never_hides_the_question(spaces, word):
    text, _ = clean_question(" " * spaces + word)
    assert text == word


@FAST
@given(ANY_TEXT)
def test_terminal_output_has_no_escapes(text):
    for out in (safe(text), safe_line(text), safe_name(text)):
        assert _encodable(out) and not any(c in out for c in ESCAPES)
    for out in (safe_line(text), safe_name(text)):
        assert not any(c in out for c in BREAKS)


@FAST
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | ANY_TEXT,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(ANY_TEXT, kids, max_size=4),
        max_leaves=20,
    )
)
def test_json_output_is_valid_and_lossless_but_for_surrogates(value):
    out = safe_json(value)
    assert _encodable(out) and not any(c in out for c in ("\x7f", "\x9b", "\u202e"))
    assert json.loads(out) == valid_data(value)


@FAST
@given(ANY_TEXT)
def test_report_text_is_inert_one_line_markdown(text):
    for out in (_md(text), _code(text)):
        assert _encodable(out) and not any(c in out for c in ESCAPES + BREAKS)
    assert "<" not in _md(text) and "[" not in _md(text).replace("\\[", "")


@FAST
@given(ANY_TEXT)
def test_an_eval_line_is_read_or_refused_in_one_line(line):
    try:
        value = read_json_line(line, "qa.jsonl, line 1")
    except EvalDataError as err:
        assert "\n" not in str(err)
        return
    assert _encodable(json.dumps(value, ensure_ascii=False))


@pytest.mark.parametrize("depth", [9, 1000, 100_000])
def test_deep_json_is_refused_not_crashed(depth):
    with pytest.raises(EvalDataError, match="nested more than"):
        read_json_line("[" * depth + "]" * depth, "x")


# Prose-like tokens, so lines past MAX_PIECE_CHARS and sentences past
# MAX_SENTENCE_CHARS (the fallback splits) come up too.
WORDS = st.lists(
    st.sampled_from(
        [
            "The ",
            "war ",
            "ended",
            ". ",
            "! ",
            "? ",
            "Mr. ",
            "U.S. ",
            "“Yes,” ",
            "(it) ",
            "\n",
            "\n\n",
            "naïve ",
            "\u2028",
            "x" * 700,
            " " * 30,
            "Jan. 5 ",
            "”",
        ]
    ),
    max_size=400,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ANY_TEXT.filter(lambda t: not has_invalid(t)), WORDS))
def test_sentence_spans_are_exact_ordered_bounded(text):
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and "\n" not in piece and len(piece) <= MAX_SENTENCE_CHARS
        previous_end = end


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400), st.text(alphabet=string.ascii_letters + "-_ é", min_size=1, max_size=30))
def test_any_file_is_indexed_exactly_or_skipped_with_a_reason(tmp_path_factory, data, stem):
    from rag.ingest.corpus import load_corpus

    folder = tmp_path_factory.mktemp("c")
    (folder / f"{stem}.txt").write_bytes(data)
    (folder / "anchor.txt").write_text("Anchor Title\n\nA document that always loads.")
    corpus = load_corpus(folder)
    docs = {d.doc_id: d for d in corpus.documents}
    if stem in docs:
        text = docs[stem].text
        if text.encode("utf-8") != data:
            # Only a hard-wrapped file is read into new lines (its paragraphs joined,
            # control characters and hyphens at line ends dropped, and at page
            # breaks its running headers); its letters and digits stay, in order.
            # Anything else is read verbatim.
            from rag.ingest.loaders.plain import _groups, _lines, wrap_width
            from rag.ingest.loaders.text import decode

            decoded = decode(data)
            assert wrap_width(_groups(_lines(decoded)))[0]
            kept, source = [c for c in text if c.isalnum()], iter(c for c in decoded if c.isalnum())
            assert all(c in source for c in kept)  # in order, nothing made up
            if "\f" not in decoded:  # a page break's running header or page number may go
                assert kept == [c for c in decoded if c.isalnum()]
    else:
        assert [s.path for s in corpus.skipped] == [f"{stem}.txt"] and corpus.skipped[0].reason


@pytest.mark.parametrize("data", [b"\x01\n!", b"first line\nsecond line", b"ex-\nample words here\nand more"])
def test_a_two_line_file_is_read_with_its_words(tmp_path, data):
    """Hypothesis found b"\\x01\\n!": a file of wrapped lines is read as one paragraph, not verbatim."""
    from rag.ingest.corpus import load_corpus

    (tmp_path / "a.txt").write_bytes(data)
    (tmp_path / "anchor.txt").write_text("Anchor Title\n\nA document that always loads.")
    docs = {d.doc_id: d for d in load_corpus(tmp_path).documents}
    decoded = data.decode("utf-8")
    assert [c for c in docs["a"].text if c.isalnum()] == [c for c in decoded if c.isalnum()]
