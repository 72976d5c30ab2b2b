"""PDF: text lines and their positions from PDFium (pypdfium2), into paragraphs.

PDFium, the engine Chromium uses, gives each character and its box. Lines
become paragraphs by the layout people see: a paragraph ends at a wider gap
than the line spacing, a change of type size, an indented first line, or a
short line that ends a sentence. Lines repeated at the same height at the top
or bottom of most pages (running headers, footers) and page numbers are not
reading text. A paragraph split by a page break is joined again, and the page
offsets (``Parsed.pages``) point into it. Why PDFium and not pypdf or
pdfplumber: README, "Choice of libraries".
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.reflow import Block, Words, assemble, clean_inline, join_lines

MAX_PAGES = 2000
# Furniture is looked for among this many lines at the top and the bottom of
# a page, within this share of the page's height from its edge.
EDGE_LINES = 3
EDGE_BAND = 0.15
_PAGE_NUMBER = re.compile(
    r"^[\W_]*(page|p\.|pg\.?)?\s*(\d{1,5}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,5})?[\W_]*$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?…:][\"”’')\]]*$")
_JUNK_TITLE = re.compile(r"^(untitled|microsoft word\b.*|.*\.(docx?|pdf|odt|rtf|txt|html?))$", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    """A printed line: its text and box in points, ``top``/``bottom`` measured from the page's top."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    size: float


@dataclass(frozen=True)
class PageLines:
    lines: tuple[Line, ...]
    height: float


def read_lines(data: bytes) -> tuple[list[PageLines], dict]:
    """Every page's lines, in PDFium's reading order, and the document's metadata."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        reason = "it is encrypted (needs a password)" if "password" in str(err).lower() else "it is damaged or not a PDF"
        raise LoadError(f"cannot be read as PDF: {reason}") from None
    try:
        if len(pdf) > MAX_PAGES:
            raise LoadError(f"has {len(pdf)} pages; at most {MAX_PAGES} are read")
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(_page_lines(textpage, raw, page.get_height()))
            textpage.close()
            page.close()
        return pages, pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()


def _page_lines(textpage, raw, height: float) -> PageLines:
    text = textpage.get_text_range()
    lines, start = [], 0
    # PDFium ends each line with generated "\r\n" characters; they count as
    # characters too, so offsets into ``text`` are character indices.
    for match in re.finditer(r"\r\n|\r|\n|$", text):
        a, b = start, match.start()
        start = match.end()
        chars = [i for i in range(a, b) if not text[i].isspace()]
        if not chars:
            continue
        boxes = [textpage.get_charbox(i) for i in chars]
        size = statistics.median(raw.FPDFText_GetFontSize(textpage.raw, i) for i in chars)
        lines.append(Line(
            text=text[a:b], left=min(x[0] for x in boxes), right=max(x[2] for x in boxes),
            top=height - max(x[3] for x in boxes), bottom=height - min(x[1] for x in boxes), size=round(size, 1),
        ))
        if match.end() == len(text):
            break
    return PageLines(tuple(lines), height)


def _edge_lines(page: PageLines) -> list[int]:
    """Indices of the lines near the top or bottom edge of the page."""
    order = sorted(range(len(page.lines)), key=lambda i: page.lines[i].top)
    band = page.height * EDGE_BAND
    top = [i for i in order[:EDGE_LINES] if page.lines[i].bottom <= band]
    bottom = [i for i in order[-EDGE_LINES:] if page.lines[i].top >= page.height - band]
    return top + bottom


def _furniture_key(line: Line) -> str:
    return re.sub(r"\d+", "#", " ".join(line.text.lower().split()))


def furniture(pages: list[PageLines]) -> set[tuple[int, int]]:
    """(page, line) of running headers, footers and page numbers.

    A line near an edge is furniture when it is a page number, or when the
    same text (digits aside) stands at the same height on at least two pages
    and on 40% of them: a headline printed once at the top of page 1 is not.
    """
    found, seen = set(), defaultdict(list)
    for p, page in enumerate(pages):
        for i in _edge_lines(page):
            line = page.lines[i]
            if _PAGE_NUMBER.match(line.text.strip()):
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


def _paragraphs(lines: list[Line], leading: dict[float, float]) -> list[list[Line]]:
    if not lines:
        return []
    right = max(line.right for line in lines)
    groups = [[lines[0]]]
    for k in range(1, len(lines)):
        after = lines[k + 1] if k + 1 < len(lines) else None
        if _starts_paragraph(lines[k - 1], lines[k], after, leading, right):
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


def pdf_title(metadata: dict) -> str:
    title = clean_inline(str(metadata.get("Title") or ""))
    return "" if _JUNK_TITLE.match(title) else title


def parse_pdf(data: bytes) -> Parsed:
    pages, metadata = read_lines(data)
    return from_lines(pages, pdf_title(metadata))


def from_lines(pages: list[PageLines], title: str = "") -> Parsed:
    """Reading text from each page's printed lines (any reader's; benchmarks/extraction.py compares)."""
    skip = furniture(pages)
    kept = [[line for i, line in enumerate(page.lines) if (p, i) not in skip] for p, page in enumerate(pages)]
    words = Words.of([line.text for page in kept for line in page])
    leading = _leading(pages)
    blocks, previous = [], None
    for lines in kept:
        groups = _paragraphs(lines, leading)
        page_blocks = [Block(join_lines([l.text for l in g], words), continues=(k == 0 and _continues(previous, g[0])))
                       for k, g in enumerate(groups)]
        blocks.append(page_blocks)
        previous = groups[-1] if groups else previous
    text, starts = assemble(blocks, join=lambda left, right: join_lines([left, right], words))
    if not text.strip():
        raise LoadError("has no text layer (a scanned PDF needs OCR first)")
    return Parsed(text=text, title=title, pages=starts)


class PdfLoader:
    kind = "PDF"
    suffixes = (".pdf",)

    def load(self, data: bytes) -> Parsed:
        return parse_pdf(data)
