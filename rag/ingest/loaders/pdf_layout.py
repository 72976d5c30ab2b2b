"""A PDF's printed lines into typed blocks: what a reader sees on the page.

Lines become paragraphs by the layout people see: a paragraph ends at a
wider gap than the line spacing, a change of type size, an indented first
line, or a short line that ends a sentence. Then each paragraph is typed:
- furniture (never reading text): a line near the top or bottom edge that
  is a page number, that carries the page's own number at its start or end
  ("Chapter 1: Introduction 7"), or whose text (digits aside) stands at the
  same height on at least two pages and on 40% of them;
- a heading: type larger than the body's, or bold and short, not monospaced;
  its level is the rank of its size among the headings' sizes;
- code: monospaced lines, kept line by line;
- a contents line: leader dots and a page number, each line a block of its own;
- else prose.
A paragraph split by a page break is joined again, and page offsets point
into it. Each page's printed label is the document's page label where it has
them, else the number printed in its header or footer, else its position.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.blocks import Piece, assemble_pages, is_contents_line
from rag.ingest.loaders.reflow import Words, clean_inline, join_lines
from rag.types import CODE, HEADING, PARAGRAPH

# Furniture is looked for among this many lines at the top and the bottom of
# a page, within this share of the page's height from its edge.
EDGE_LINES = 3
EDGE_BAND = 0.15
# A heading's type is at least this much larger than the body's.
HEADING_SIZE = 1.12
# A bold line at body size titles what follows when its paragraph is this short.
BOLD_HEADING_CHARS = 150
# A numbered line of its own this short is a title; hand-set, not measured.
NUMBERED_TITLE_CHARS = 80
_PAGE_NUMBER = re.compile(
    r"^[\W_]*(page|p\.|pg\.?)?\s*(\d{1,5}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,5})?[\W_]*$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?…:][\"”’')\]]*$")
# A numbered title printed at body size ("8. Blank lines", "2.3 Options"): a
# section number, then words that start with a capital.
_NUMBERED_TITLE = re.compile(r"^\d{1,3}(\.\d{1,3})*\.?\s+[^\W\d_]")
# The space above and below such a title together, against twice the usual
# leading (R's data manual: 1.23–1.25 times; a numbered list at the usual
# leading 1.0 ± 0.1, as line boxes differ by their descenders). Hand-set.
TITLE_GAP = 1.15
_EDGE_NUMBER = re.compile(r"^\W*(\d{1,5})\b|\b(\d{1,5})\W*$")


@dataclass(frozen=True)
class Line:
    """A printed line: its text and box in points, ``top``/``bottom`` measured
    from the page's top; whether its font is bold or monospaced (by the font's name)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    size: float
    bold: bool = False
    mono: bool = False


@dataclass(frozen=True)
class PageLines:
    lines: tuple[Line, ...]
    height: float
    label: str = ""  # the page's label in the document (PDF page labels), "" if it has none


def _edge_lines(page: PageLines) -> list[int]:
    """Indices of the lines near the top or bottom edge of the page."""
    order = sorted(range(len(page.lines)), key=lambda i: page.lines[i].top)
    band = page.height * EDGE_BAND
    top = [i for i in order[:EDGE_LINES] if page.lines[i].bottom <= band]
    bottom = [i for i in order[-EDGE_LINES:] if page.lines[i].top >= page.height - band]
    return top + bottom


def _furniture_key(line: Line) -> str:
    return re.sub(r"\d+", "#", " ".join(line.text.lower().split()))


def _number_offset(pages: list[PageLines]) -> int | None:
    """How printed page numbers relate to positions (printed = index + offset),
    when edge lines on enough pages agree; None when they do not."""
    offsets: Counter[int] = Counter()
    for p, page in enumerate(pages):
        seen = set()
        for i in _edge_lines(page):
            for group in _EDGE_NUMBER.findall(page.lines[i].text.strip()):
                for number in group:
                    if number and int(number) - p not in seen:
                        seen.add(int(number) - p)
        offsets.update(seen)
    if not offsets:
        return None
    offset, count = offsets.most_common(1)[0]
    return offset if count >= max(2, 0.3 * len(pages)) else None


def _carries_number(text: str, number: str) -> bool:
    text = text.strip()
    return bool(number) and (text.startswith(number + " ") or text.endswith(" " + number) or text == number)


def furniture(pages: list[PageLines]) -> set[tuple[int, int]]:
    """(page, line) of running headers, footers and page numbers (see the module's docstring)."""
    found, seen = set(), defaultdict(list)
    offset = _number_offset(pages)
    body = _body_size([list(page.lines) for page in pages])
    for p, page in enumerate(pages):
        printed = str(p + offset) if offset is not None else ""
        edges = _edge_lines(page)
        # A line carrying the page's number is a running header only at the
        # very edge and in type no larger than the body's: "1 Installing" set
        # large on page 1 is the chapter's heading.
        outermost = (
            {min(edges, key=lambda i: page.lines[i].top), max(edges, key=lambda i: page.lines[i].top)}
            if edges
            else set()
        )
        for i in edges:
            line = page.lines[i]
            text = line.text.strip()
            running = (
                i in outermost
                and line.size <= body * 1.05
                and (_carries_number(text, printed) or _carries_number(text, page.label))
            )
            if _PAGE_NUMBER.match(text) or running:
                found.add((p, i))
            seen[_furniture_key(line)].append((p, i, round(line.top / 3)))
    for places in seen.values():
        heights = Counter(h for _, _, h in places)
        for height, _ in heights.items():
            at = [(p, i) for p, i, h in places if abs(h - height) <= 1]
            pages_at = {p for p, _ in at}
            if len(pages_at) >= 2 and len(pages_at) >= 0.4 * len(pages):
                found.update(at)
    return found


def page_labels(pages: list[PageLines]) -> tuple[str, ...]:
    """What each page is called in citations (see the module's docstring)."""
    if any(page.label for page in pages):
        return tuple(page.label or str(p + 1) for p, page in enumerate(pages))
    offset = _number_offset(pages)
    return tuple(str(p + offset) if offset is not None and p + offset > 0 else str(p + 1) for p in range(len(pages)))


def _leading(pages: list[PageLines]) -> dict[float, float]:
    """The usual distance between baselines of neighbouring lines, by type size."""
    gaps = defaultdict(list)
    for page in pages:
        for a, b in zip(page.lines, page.lines[1:]):
            if a.size == b.size and 0 < b.bottom - a.bottom < 3 * a.size:
                gaps[a.size].append(round(b.bottom - a.bottom, 1))
    # A few lines say little (two lines may be a headline and its paragraph):
    # then the usual 1.2 times the type size.
    return {size: Counter(g).most_common(1)[0][0] for size, g in gaps.items() if len(g) >= 5}


def _starts_paragraph(prev: Line, line: Line, after: Line | None, leading: dict[float, float], right: float) -> bool:
    size = max(prev.size, line.size)
    step = line.bottom - prev.bottom
    usual = leading.get(prev.size, 1.2 * prev.size)
    if abs(prev.size - line.size) > 0.6:
        return True
    if step <= 0 or step > max(usual * 1.3, usual + 0.25 * size):
        # A wider gap, or a jump back up (the next column): a new paragraph,
        # unless a sentence visibly carries on ("gravida" / "mauris. Nam").
        return not _carries_on(prev, line)
    indented = line.left > prev.left + 0.8 * size and (after is None or after.left < line.left - 0.8 * size)
    short_end = prev.right < right - 0.15 * (right - prev.left) and _SENTENCE_END.search(prev.text.strip())
    return bool(indented or short_end)


def _set_apart_title(lines: list[Line], k: int, leading: dict[float, float], right: float) -> bool:
    """Line ``k`` is a numbered title at body size: short, no stop, set apart by
    more than the usual space above and below. (In a numbered list the items
    follow at the usual leading and read as one paragraph, as before.)"""
    line = lines[k]
    text = line.text.strip()
    if not (k < len(lines) - 1 and _NUMBERED_TITLE.match(text)) or _SENTENCE_END.search(text):
        return False
    usual = leading.get(line.size, 1.2 * line.size)
    short = line.right < right - 0.4 * (right - line.left)
    below = lines[k + 1].bottom - line.bottom
    above = line.bottom - lines[k - 1].bottom if k else below  # the first line of a page: below alone
    # Boxes, not baselines: a line without descenders ("8. Blank lines") sits ~2 pt
    # higher, so each gap alone says little; together they are clearly wider.
    apart = above + below > 2 * TITLE_GAP * usual
    return short and apart and 0.8 * usual < min(above, below) and max(above, below) < 3 * usual


def _paragraphs(lines: list[Line], leading: dict[float, float]) -> list[list[Line]]:
    if not lines:
        return []
    right = max(line.right for line in lines)
    titles = {k for k in range(len(lines)) if _set_apart_title(lines, k, leading, right)}
    groups = [[lines[0]]]
    for k in range(1, len(lines)):
        after = lines[k + 1] if k + 1 < len(lines) else None
        # A contents line, a change between monospaced and proportional type, or a
        # numbered title set apart stands apart.
        apart = (
            is_contents_line(lines[k].text)
            or is_contents_line(lines[k - 1].text)
            or lines[k].mono != lines[k - 1].mono
            or k in titles
            or k - 1 in titles
        )
        if apart or _starts_paragraph(lines[k - 1], lines[k], after, leading, right):
            groups.append([])
        groups[-1].append(lines[k])
    return groups


def _carries_on(prev: Line, line: Line) -> bool:
    """``prev`` ends mid-sentence and ``line`` starts in lower case."""
    return not _SENTENCE_END.search(prev.text.strip()) and clean_inline(line.text)[:1].islower()


def _continues(previous: list[Line] | None, first: Line) -> bool:
    """Whether a page's first line carries on the paragraph that ended the previous page."""
    if not previous:
        return False
    last = previous[-1].text.strip()
    starts_lower = clean_inline(first.text)[:1].islower()
    return starts_lower or not _SENTENCE_END.search(last)


def _body_size(pages: list[list[Line]]) -> float:
    sizes: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _kind(group: list[Line], body: float) -> str:
    text = " ".join(line.text.strip() for line in group)
    if all(line.mono for line in group):
        return CODE
    if all(line.size >= body * HEADING_SIZE for line in group) and len(text) <= 300:
        return HEADING
    if all(line.bold for line in group) and len(text) <= BOLD_HEADING_CHARS and not text.endswith("."):
        return HEADING
    if (
        len(group) == 1
        and _NUMBERED_TITLE.match(text)
        and len(text) <= NUMBERED_TITLE_CHARS
        and not _SENTENCE_END.search(text)
        and not is_contents_line(text)
    ):
        return HEADING  # a numbered title on a line of its own (set apart: _set_apart_title)
    return PARAGRAPH


def _footnotes(lines: list[Line], body: float) -> tuple[list[Line], list[Line]]:
    """A page's lines split into its body and its footnotes: smaller type
    below the last line of body type, opening with a mark ("2The only case…").
    Read where they stand, they would come between a paragraph and its
    continuation on the next page; they are read after that continuation."""
    last_body = max((k for k, line in enumerate(lines) if line.size >= body * 0.95), default=None)
    if last_body is None:
        return lines, []
    below = [k for k in range(last_body + 1, len(lines)) if lines[k].top > lines[last_body].top]
    if below and all(lines[k].size < body * 0.95 for k in below) and re.match(r"^\W?[\d*†‡§]", lines[below[0]].text):
        notes = set(below)
        return [ln for k, ln in enumerate(lines) if k not in notes], [lines[k] for k in below]
    return lines, []


def _merge_headings(groups: list[tuple[str, list[Line]]]) -> list[tuple[str, list[Line]]]:
    """A heading set over two lines (wider spacing than the body's) is one heading."""
    out: list[tuple[str, list[Line]]] = []
    for kind, g in groups:
        if out and kind == HEADING and out[-1][0] == HEADING:
            prev = out[-1][1][-1]
            if (
                abs(prev.size - g[0].size) < 0.6
                and 0 < g[0].bottom - prev.bottom <= 2 * prev.size
                and not _SENTENCE_END.search(prev.text.strip())
            ):
                out[-1] = (HEADING, out[-1][1] + g)
                continue
        out.append((kind, g))
    return out


def _code_text(group: list[Line]) -> str:
    """Monospaced lines as printed, indentation estimated from their left edges."""
    left = min(line.left for line in group)
    width = 0.6 * max(line.size for line in group)
    return "\n".join(" " * round((line.left - left) / width) + clean_inline(line.text) for line in group)


def _levels(groups: list[tuple[str, list[Line]]], body: float) -> dict[float, int]:
    """Heading levels: 1 for the largest type among headings, then down; bold at body size last."""
    sizes = sorted({max(line.size for line in g) for kind, g in groups if kind == HEADING}, reverse=True)
    return {size: min(6, rank + 1) for rank, size in enumerate(sizes)}


def from_lines(pages: list[PageLines], title: str = "") -> Parsed:
    """Reading text, blocks and page labels from each page's printed lines
    (any reader's; benchmarks/extraction.py compares)."""
    skip = furniture(pages)
    kept = [[line for i, line in enumerate(page.lines) if (p, i) not in skip] for p, page in enumerate(pages)]
    words = Words.of([line.text for page in kept for line in page])
    leading = _leading(pages)
    body = _body_size(kept)
    split = [_footnotes(lines, body) for lines in kept]
    kept = [main for main, _ in split]
    typed = [_merge_headings([(_kind(g, body), g) for g in _paragraphs(lines, leading)]) for lines in kept]
    notes = [_paragraphs(foot, leading) for _, foot in split]
    levels = _levels([item for page in typed for item in page], body)
    out: list[list[Piece]] = []
    pending: list[Piece] = []
    previous = None
    for groups, page_notes in zip(typed, notes):
        page_pieces: list[Piece] = []
        if pending and not (groups and groups[0][0] == PARAGRAPH and _continues(previous, groups[0][1][0])):
            out[-1].extend(pending)  # nothing carries on: the notes end their own page
            pending = []
        for k, (kind, g) in enumerate(groups):
            if kind == CODE:
                page_pieces.append(Piece(CODE, _code_text(g)))
                continue
            text = join_lines([line.text for line in g], words)
            level = levels.get(max(line.size for line in g), 1) if kind == HEADING else 0
            carried = k == 0 and kind == PARAGRAPH and _continues(previous, g[0])
            page_pieces.append(Piece(kind, text, level, continues=carried))
            if k == 0 and pending:
                page_pieces.extend(pending)
                pending = []
        out.append(page_pieces)
        previous = groups[-1][1] if groups else previous
        pending = [Piece(PARAGRAPH, join_lines([line.text for line in g], words)) for g in page_notes]
    if pending and out:
        out[-1].extend(pending)
    text, blocks, starts = assemble_pages(out, join=lambda left, right: join_lines([left, right], words))
    if not text.strip():
        raise LoadError("has no text layer (a scanned PDF needs OCR first)")
    if not title:  # no title in the metadata: the first top-level heading of the first pages
        first = next((b for b in blocks if b.kind == HEADING), None)
        if first is not None and first.level == 1 and (len(starts) < 3 or first.start < starts[2]):
            title = text[first.start : first.end]
    return Parsed(text=text, title=title, pages=starts, blocks=blocks, labels=page_labels(pages))
