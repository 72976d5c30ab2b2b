"""PDF: text lines and their positions from PDFium (pypdfium2), into paragraphs.

PDFium, the engine Chromium uses, gives each character and its box. Lines
become paragraphs by the layout people see: a paragraph ends at a wider gap
than the line spacing, a change of type size, an indented first line, or a
short line that ends a sentence. Lines repeated at the same height at the top
or bottom of most pages (running headers, footers) and page numbers are not
reading text. A paragraph split by a page break is joined again, and the page
offsets (``Parsed.pages``) point into it. Why PDFium and not pypdf or
pdfplumber: docs/documents.md, "Choice of libraries".
"""

from __future__ import annotations

import re
import statistics

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.pdf_layout import Line, PageLines, from_lines
from rag.ingest.loaders.reflow import clean_inline

MAX_PAGES = 2000
FONT_SAMPLES = 8
_JUNK_TITLE = re.compile(r"^(untitled|microsoft word\b.*|.*\.(docx?|pdf|odt|rtf|txt|html?))$", re.IGNORECASE)


# Font names say what the weight and pitch fields of many PDFs do not
# (Latin Modern's regular face reports weight 744): CMB/CMBX are Computer
# Modern's bold faces, CMTT its typewriter face.
_BOLD_FONT = re.compile(r"bold|black|heavy|demi|^cmb|^cmbx|\+cmb", re.I)
_MONO_FONT = re.compile(r"mono|cmtt|courier|typewriter|consol|menlo|inconsolata|sourcecode|code", re.I)


def read_lines(data: bytes) -> tuple[list[PageLines], dict]:
    """Every page's lines, in PDFium's reading order, and the document's metadata."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        encrypted = "password" in str(err).lower()
        reason = "it is encrypted (needs a password)" if encrypted else "it is damaged or not a PDF"
        raise LoadError(f"cannot be read as PDF: {reason}") from None
    try:
        if len(pdf) > MAX_PAGES:
            raise LoadError(f"has {len(pdf)} pages; at most {MAX_PAGES} are read")
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            lines = _page_lines(textpage, raw, page.get_height())
            pages.append(PageLines(lines.lines, lines.height, clean_inline(pdf.get_page_label(index) or "")))
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
        # A line is bold or monospaced when its font is, at every one of up to
        # FONT_SAMPLES characters spread over it: inline code in a sentence is not a code line.
        sample = chars[:: max(1, len(chars) // FONT_SAMPLES)][:FONT_SAMPLES] + [chars[-1]]
        fonts = [_font_name(textpage, raw, i) for i in sample]
        lines.append(
            Line(
                text=text[a:b],
                left=min(x[0] for x in boxes),
                right=max(x[2] for x in boxes),
                top=height - max(x[3] for x in boxes),
                bottom=height - min(x[1] for x in boxes),
                size=round(size, 1),
                bold=all(_BOLD_FONT.search(f) for f in fonts),
                mono=all(_MONO_FONT.search(f) for f in fonts),
            )
        )
        if match.end() == len(text):
            break
    return PageLines(tuple(lines), height)


def _font_name(textpage, raw, index: int) -> str:
    import ctypes

    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    raw.FPDFText_GetFontInfo(textpage.raw, index, buffer, 128, ctypes.byref(flags))
    return buffer.value.decode("latin-1")


def pdf_title(metadata: dict) -> str:
    title = clean_inline(str(metadata.get("Title") or ""))
    return "" if _JUNK_TITLE.match(title) else title


def parse_pdf(data: bytes) -> Parsed:
    pages, metadata = read_lines(data)
    return from_lines(pages, pdf_title(metadata))


class PdfLoader:
    kind = "PDF"
    suffixes = (".pdf",)

    def load(self, data: bytes) -> Parsed:
        return parse_pdf(data)
