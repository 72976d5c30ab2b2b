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

from rag.types import TITLES, Document, Location

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
    a text without blank lines, each line. Leading blanks are no paragraph."""
    breaks = _PARAGRAPH_BREAK if _PARAGRAPH_BREAK.search(text) else re.compile(r"\n\s*")
    first = len(text) - len(text.lstrip())
    starts = [first] if first < len(text) else []
    starts += [m.end() for m in breaks.finditer(text) if first < m.end() < len(text)]
    return starts or [0]


def heading_path(doc: Document, offset: int) -> tuple[str, ...]:
    """The headings above ``offset``, outermost first (from the document's blocks)."""
    path: list[tuple[int, str]] = []
    for block in doc.blocks:
        if block.start > offset:
            break
        if block.kind in TITLES:
            level = block.level or 1
            path = [(lv, t) for lv, t in path if lv < level] + [(level, doc.text[block.start : block.end])]
    return tuple(t for _, t in path)


def page_label(doc: Document, offset: int) -> str | None:
    """The printed label of the page holding ``offset`` (paged documents only)."""
    if not doc.pages:
        return None
    index = max(bisect.bisect_right(doc.pages, offset), 1)
    return doc.labels[index - 1] if len(doc.labels) >= index else str(index)


def location(doc: Document, offset: int, starts: list[int] | None = None, end: int | None = None) -> Location:
    """The paragraph, page (and the page where ``end`` falls, for a span
    running onto the next) and headings of ``offset``; pass ``starts``
    (paragraph_starts) when locating many offsets of one document."""
    starts = paragraph_starts(doc.text) if starts is None else starts
    paragraph = max(1, bisect.bisect_right(starts, offset))
    page = page_label(doc, offset)
    last = page_label(doc, max(offset, end - 1)) if end is not None and end > offset else None
    return Location(paragraph, page, last if last != page else None, heading_path(doc, offset))


def section(doc: Document, offset: int, limit: int = 2) -> str:
    """The innermost headings above ``offset`` (bar the document's own title),
    for a citation: "5 Conveying Modified Source Versions › a) …"."""
    path = [h for h in heading_path(doc, offset) if h != doc.title][-limit:]
    return " › ".join(h if len(h) <= 70 else h[:69].rsplit(" ", 1)[0] + "…" for h in path)


def describe(doc: Document, start: int, end: int | None = None, starts: list[int] | None = None) -> str:
    """Where a span is, for people: "5.6 Why do I get …, p. 18, ¶ 4", "pp. 18–19, ¶ 7",
    "¶ 12–13"."""
    starts = paragraph_starts(doc.text) if starts is None else starts
    first = location(doc, start, starts, end)
    where = first.label()
    if end is not None and end > start:
        last = bisect.bisect_right(starts, max(start, end - 1))
        if last > first.paragraph:
            where += f"–{last}"
    heading = section(doc, start)
    return f"{heading}, {where}" if heading else where
