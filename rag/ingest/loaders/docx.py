"""Word (.docx) via python-docx: the body's paragraphs and table rows in order,
typed by their styles (headings with their level, list items, code).

Page headers and footers live outside the body and are not read; nor are
comments or tracked deletions. The title is the document's core property,
else its first paragraph styled Title.
"""

from __future__ import annotations

import io
import re
import zipfile

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.blocks import Piece, build, question_kind
from rag.ingest.loaders.reflow import clean_inline
from rag.types import CAPTION, CODE, HEADING, ITEM, PARAGRAPH, TABLE

_HEADING = re.compile(r"^heading\s*([1-9])$", re.I)
_CODE_STYLES = ("source code", "code", "html preformatted", "plain text", "macro text")


def _kind(paragraph) -> tuple[str, int]:
    """A paragraph's kind from its style (Word's Heading 1–9 and Title, list
    styles or numbering, code styles such as pandoc's "Source Code")."""
    style = paragraph.style.name if paragraph.style is not None else ""
    heading = _HEADING.match(style)
    if heading:
        return question_kind(paragraph.text), int(heading.group(1))
    if style == "Title":
        return HEADING, 1
    lowered = style.lower()
    if lowered in _CODE_STYLES or lowered.startswith("source code"):
        return CODE, 0
    ppr = paragraph._p.pPr
    if lowered.startswith("list") or (ppr is not None and ppr.numPr is not None):
        return ITEM, 0
    if lowered.startswith("caption"):
        return CAPTION, 0
    return PARAGRAPH, 0


def parse_docx(data: bytes) -> Parsed:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise LoadError(f"cannot be read as a Word document ({type(err).__name__})") from None
    except Exception as err:  # python-docx raises its own kinds for a bad package
        if type(err).__name__ in ("PackageNotFoundError", "XMLSyntaxError", "InvalidXmlError"):
            raise LoadError("cannot be read as a Word document (damaged or not .docx)") from None
        raise
    pieces, styled_title = [], ""
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            kind, level = _kind(paragraph)
            pieces.append(Piece(kind, paragraph.text, level))
            style = paragraph.style.name if paragraph.style is not None else ""
            if not styled_title and style == "Title":
                styled_title = clean_inline(paragraph.text)
        elif tag == "tbl":
            for row in Table(element, document).rows:
                pieces.append(Piece(TABLE, " ".join(cell.text for cell in row.cells)))
    text, blocks = build(pieces)
    if not text:
        raise LoadError("has no readable text")
    title = clean_inline(document.core_properties.title or "") or styled_title
    if not title and blocks and blocks[0].kind == HEADING and blocks[0].level == 1:
        title = text[blocks[0].start : blocks[0].end]
    return Parsed(text=text, title=title, blocks=blocks)


class DocxLoader:
    kind = "Word"
    suffixes = (".docx",)

    def load(self, data: bytes) -> Parsed:
        return parse_docx(data)
