"""Lines into paragraphs: the shape every loader's reading text has.

One paragraph per line, paragraphs separated by a blank line
(rag.ingest.layout.paragraph_starts reads them back; sentences never cross
a line break, so a paragraph wrapped over several printed lines is joined
into one). Characters are kept as the source has them — curly quotes,
dashes, accents — except whitespace, which is collapsed to single spaces,
invisible characters, which are dropped, and typographic ligatures, which
are spelled out so the words can be found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Invisible in print and never part of a word: soft hyphen, zero-width
# space/joiners, byte order mark, word joiner.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# Presentation forms typeset by TeX and others: "ﬁnd" must match "find".
_LIGATURES = {0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+(?:[-‐][^\W\d_]+)*", re.UNICODE)
_DASHES = ("—", "–", "‐", "/")


def clean_inline(text: str) -> str:
    """One line of reading text: controls become spaces, invisibles go, whitespace collapses."""
    text = text.translate(_INVISIBLE).translate(_LIGATURES)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Words:
    """The words a document uses, to tell a line-end hyphen that splits a word
    ("nego- tiate") from one that belongs to it ("zero- sum")."""

    plain: frozenset[str]
    hyphenated: frozenset[str]

    @classmethod
    def of(cls, lines: list[str]) -> "Words":
        plain: set[str] = set()
        hyphenated: set[str] = set()
        for line in lines:
            for word in _WORD.findall(line):
                (hyphenated if "-" in word or "‐" in word else plain).add(word.lower())
        return cls(frozenset(plain), frozenset(hyphenated))


def _split_at_line_end(left: str, right: str, words: Words) -> bool:
    """Whether ``left`` ending in a hyphen and ``right`` are one word split by the
    typesetter (drop the hyphen) rather than a compound (keep it).

    Only with evidence: the joined word occurs elsewhere in the document and
    the hyphenated one does not. Without it the hyphen stays — a printed
    character is never removed on a guess.
    """
    head = re.search(r"[^\W\d_]+$", left[:-1])
    tail = re.match(r"[^\W\d_]+", right)
    if not head or not tail or not tail.group()[0].islower():
        return False
    joined = (head.group() + tail.group()).lower()
    compound = f"{head.group()}-{tail.group()}".lower()
    return joined in words.plain and compound not in words.hyphenated


# PDFium joins a line that ends in a hyphen to the next one itself, and marks
# the place with this non-character.
LINE_END_HYPHEN = "\ufffe"


def _resolve_marks(line: str, words: Words) -> str:
    """Each LINE_END_HYPHEN as nothing (a split word) or "-" (a compound), by the same rule."""
    while LINE_END_HYPHEN in line:
        at = line.index(LINE_END_HYPHEN)
        left, right = line[:at] + "-", line[at + 1 :]
        line = (left[:-1] if _split_at_line_end(left, right, words) else left) + right
    return line


def join_lines(lines: list[str], words: Words) -> str:
    """The printed lines of one paragraph as one line."""
    out, soft = "", False
    for raw in lines:
        raw = _resolve_marks(raw, words)
        line = clean_inline(raw)
        if not line:
            continue
        if not out:
            out = line
        elif soft:  # a soft hyphen is where the typesetter split a word
            out += line
        elif out.endswith(("-", "‐")) and out[-2:-1].isalpha():
            out = (out[:-1] if _split_at_line_end(out, line, words) else out) + line
        elif out.endswith(_DASHES) and not out[-2:-1].isspace():
            out += line  # "lost—" + "indeed": the dash joins the words it stands between
        else:
            out += " " + line
        soft = raw.rstrip().endswith("\u00ad")
    return out
