"""Clean a user's question before any work is done on it."""

from __future__ import annotations

import re
import unicodedata

from rag.errors import QuestionError
from rag.text import REPLACEMENT, has_invalid, valid_text

MAX_QUESTION_CHARS = 1000
# Read at most this much of the raw text after its leading whitespace: room
# for whitespace and control characters that cleaning removes, still a small constant.
_MAX_RAW_CHARS = 16 * MAX_QUESTION_CHARS

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Where the question starts: the first character that is neither whitespace
# nor a control character (found by the regex engine, in linear time).
_FIRST_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]")


def clean_question(raw: str) -> tuple[str, tuple[str, ...]]:
    """The question to search for, and notes on what was changed.

    Lone surrogates (bytes that were not UTF-8, or escapes such as \\ud800)
    become U+FFFD, control characters (NUL included) become spaces,
    whitespace runs become one space, and an over-long question is cut at a
    word boundary so that the work per question stays bounded.
    """
    if not isinstance(raw, str):
        raise QuestionError("the question must be text")
    notes: list[str] = []
    first = _FIRST_VISIBLE.search(raw)
    if first is None:
        raise QuestionError("the question is empty; ask something about the essays")
    # Leading blanks do not count against the limit: ten megabytes of spaces
    # before a word is a question about that word, not an empty one.
    control = bool(_CONTROL.search(raw, 0, first.start()))
    raw = raw[first.start() :]
    cut_raw = len(raw) > _MAX_RAW_CHARS
    if cut_raw:
        # Bound the work before any pass over the text: normalising or
        # matching a megabyte would cost time for a question we cut anyway.
        raw = raw[:_MAX_RAW_CHARS]
    if has_invalid(raw) or REPLACEMENT in raw:
        # U+FFFD too: the page's gate (rag.chat.guard) has already replaced
        # lone surrogates by it, and a decoder upstream may have.
        raw = valid_text(raw)
        notes.append(f"bytes that are not UTF-8 text were replaced by {REPLACEMENT} in the question")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    if control or text != unicodedata.normalize("NFC", raw):
        notes.append("control characters were removed from the question")
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; ask something about the essays")
    if len(text) > MAX_QUESTION_CHARS or cut_raw:
        cut = text.rfind(" ", 0, MAX_QUESTION_CHARS)
        text = text[: cut if cut > MAX_QUESTION_CHARS // 2 else MAX_QUESTION_CHARS]
        notes.append(f"the question was shortened to its first {len(text)} characters")
    return text, tuple(notes)
