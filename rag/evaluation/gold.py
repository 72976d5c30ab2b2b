"""Find a gold answer, as a person copied it, in a document's reading text.

People copy answers from the document they read: a PDF viewer, the raw
Markdown, a hard-wrapped text file. The reading text rag quotes from joins
wrapped lines, drops markup and hyphenation, and spells ligatures out, so an
exact search misses answers that are plainly there. Three searches, each
tried only when the one before finds nothing:

1. the answer exactly as written;
2. the same words with whitespace, quote marks, dashes and ligatures made
   uniform on both sides (a sentence wrapped over lines, ’ against ');
3. the answer's words in order: the shortest stretch of the document that
   holds at least MIN_SHARE of them, consecutively bar small gaps
   (Markdown's link targets and backticks, a footnote mark, a word split by a
   hyphen at a line end). Words the document never uses are left out first:
   a link's URL is not reading text.

Only the evaluation uses this; a quotation is always the document's own text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*\)")
# Share of an answer's (known) words the stretch must hold, in order.
MIN_SHARE = 0.9
# A fuzzy match must rest on this many words at least: shorter answers (a
# command, a name) must be found by the first two searches.
MIN_WORDS = 4

_FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "\u00a0": " ",
    }
)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_WORD = re.compile(r"\w+", re.UNICODE)


def _fold_char(ch: str) -> str:
    ch = ch.translate(_INVISIBLE)
    if not ch:
        return ""
    ch = ch.translate(_FOLD)
    if ch.isspace():
        return " "
    return unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch


def folded(text: str) -> tuple[str, list[int]]:
    """``text`` with uniform spacing and typography, and for each of its
    characters the offset in ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        piece = _fold_char(ch)
        for c in piece:
            if c == " " and (not out or out[-1] == " "):
                continue
            out.append(c)
            where.append(i)
    return "".join(out), where


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(unicodedata.normalize("NFKC", text))]


def _fuzzy(answer: str, text: str, words: list[tuple[str, int, int]], vocabulary: set[str]) -> tuple[int, int] | None:
    wanted = [w for w, _, _ in _words(answer) if w in vocabulary]
    if len(wanted) < MIN_WORDS or len(wanted) < 0.6 * len(_words(answer)):
        return None
    need = MIN_SHARE * len(wanted)
    best: tuple[int, int, int] | None = None  # (matched, -length, start) of the best stretch
    first = wanted[0]
    anchors = [k for k, (w, _, _) in enumerate(words) if w in (first, wanted[1])]
    for k in anchors:
        matched, at, start, end = 0, k, None, None
        for w in wanted:
            # The next answer word within a few document words of the last match.
            for step in range(at, min(at + 4, len(words))):
                if words[step][0] == w:
                    matched += 1
                    start = step if start is None else start
                    end = step
                    at = step + 1
                    break
        if start is not None and end is not None and matched >= need:
            key = (matched, -(end - start), -start)
            if best is None or key > best:
                best = key
                span = (words[start][1], words[end][2])
    return span if best is not None else None


def locate_in(answer: str, text: str) -> list[tuple[int, int]]:
    """Every place ``answer`` occurs in ``text`` as (start, end), by the first search that finds any."""
    found = _all(text, answer)
    if found:
        return [(s, s + len(answer)) for s in found]
    folded_text, where = folded(text)
    folded_answer = folded(answer)[0].strip()
    if folded_answer:
        found = _all(folded_text, folded_answer)
        if found:
            return [(where[s], where[s + len(folded_answer) - 1] + 1) for s in found]
    # Copied from raw Markdown: a link is its words in the reading text.
    unlinked = _MD_LINK.sub(r"\1", answer)
    if unlinked != answer:
        return locate_in(unlinked, text)
    # NFKC may change a text's length; offsets come from the words of the text itself.
    words = [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]
    span = _fuzzy(answer, text, words, {w for w, _, _ in words})
    return [span] if span else []


def _all(text: str, needle: str) -> list[int]:
    found, start = [], text.find(needle)
    while start >= 0 and needle:
        found.append(start)
        start = text.find(needle, start + 1)
    return found


def locate_all(answer: str, texts: Iterable[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """(doc_id, start, end) of ``answer`` in each (doc_id, text), searching
    every document exactly before any loosely, so a loose match in one
    document never stands in for an exact one in another."""
    texts = list(texts)
    exact = [(d, s, s + len(answer)) for d, t in texts for s in _all(t, answer)]
    if exact:
        return exact
    out: list[tuple[str, int, int]] = []
    for doc_id, text in texts:
        out += [(doc_id, s, e) for s, e in locate_in(answer, text)]
    return out
