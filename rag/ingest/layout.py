"""The layout of a document around its prose: headline, subtitle, photo
credit, dateline, and where the prose starts and ends.

Found from the text alone, by position and by the shape of short lines: the
headline is the first line that looks like one (rag.ingest.corpus uses it as
the title), the subtitle the line after it, a photo credit a short line
naming an agency or a "Source:", the dateline a short line that opens with
"Published" (or "Posted", "Updated").
"""

from __future__ import annotations

import bisect
import re


from rag.types import Document, Location

# Lines that precede a headline in scraped essays: photo credits, rubrics,
# datelines. They are never the title.
_CREDIT = re.compile(
    r"^(source|photo|photograph|image|credit|illustration|getty|ap photo|reuters)\b"
    r"|\b(getty|afp|reuters|ap photo|shutterstock|pool)\b"
    r"|^(published|updated|posted)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w’'\-]*", re.UNICODE)


def _looks_like_headline(line: str) -> bool:
    if len(line) > 160 or _CREDIT.search(line):
        return False
    words = _WORD.findall(line)
    if len(words) < 2 or line.rstrip().endswith((".", ":", ";", ",")):
        return False
    # A rubric such as "commentary" is one lower-case word; a caption is a
    # sentence. A headline capitalises most of its longer words.
    long_words = [w for w in words if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in long_words)
    return bool(long_words) and capitalised * 2 >= len(long_words)


def find_title(text: str, fallback: str) -> str:
    """The headline: the first line that looks like one, skipping credits.

    Markdown's ``# Title`` wins outright. Only the first few lines are looked
    at, so a body sentence never becomes a title.
    """
    first = [ln.strip() for ln in text.splitlines() if ln.strip()][:8]
    for line in first:
        if line.startswith("# "):
            return line[2:].strip()
    for line in first:
        if _looks_like_headline(line):
            return line
    return fallback


DATELINE = re.compile(r"^\s*(first )?(published|posted|updated)\b|^\s*date\s*:", re.I)
CREDIT_LINE = re.compile(
    r"^(source|photo|photograph|image|credit|illustration)\s*:|\b(getty|afp|reuters|ap photo|shutterstock)\b|\s/\s",
    re.I,
)


# Lines between a headline and its subtitle that are neither.
NOT_SUBTITLE = re.compile(r"^\s*(by|written by|published|updated|posted)\b", re.I)


def lines(doc: Document) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", doc.text)]


def is_furniture(line: str) -> bool:
    """A byline, dateline or photo credit."""
    return bool(NOT_SUBTITLE.search(line)) or (len(line) <= 120 and bool(CREDIT_LINE.search(line)))


# Lines up to this long above the first paragraph of prose are the header:
# headline, genre label, subtitle, dateline, photo credit.
HEADER_LINE_MAX = 200


def prose_start(doc: Document) -> int | None:
    """Where the first line of prose begins (see HEADER_LINE_MAX); None without one."""
    return next((a for a, b in lines(doc) if b - a > HEADER_LINE_MAX), None)


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def paragraph_starts(text: str) -> list[int]:
    """Offsets where paragraphs start: text separated by blank lines, or, in
    a text without blank lines, each line."""
    breaks = _PARAGRAPH_BREAK if _PARAGRAPH_BREAK.search(text) else re.compile(r"\n\s*")
    starts = [0] if text[:1].strip() else []
    starts += [m.end() for m in breaks.finditer(text) if m.end() < len(text)]
    if not starts or (starts[0] != 0 and not text[: starts[0]].strip()):
        first = len(text) - len(text.lstrip())
        starts = [first] + [s for s in starts if s > first]
    return starts


def location(doc: Document, offset: int, starts: list[int] | None = None) -> Location:
    """The paragraph (and page) holding ``offset``; pass ``starts`` (paragraph_starts)
    when locating many offsets of one document."""
    starts = paragraph_starts(doc.text) if starts is None else starts
    paragraph = max(1, bisect.bisect_right(starts, offset))
    page = bisect.bisect_right(doc.pages, offset) if doc.pages else None
    return Location(paragraph, max(page, 1) if page is not None else None)
