"""Word (.docx) via python-docx: the body's paragraphs and table rows in order.

Page headers and footers live outside the body and are not read; nor are
comments or tracked deletions. The title is the document's core property,
else its first paragraph styled Title.
"""

from __future__ import annotations

import io
import zipfile

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.reflow import clean_inline, paragraphs_text


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
    blocks, styled_title = [], ""
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            blocks.append(paragraph.text)
            style = paragraph.style.name if paragraph.style is not None else ""
            if not styled_title and style == "Title":
                styled_title = clean_inline(paragraph.text)
        elif tag == "tbl":
            for row in Table(element, document).rows:
                blocks.append(" ".join(cell.text for cell in row.cells))
    text = paragraphs_text(blocks)
    if not text:
        raise LoadError("has no readable text")
    title = clean_inline(document.core_properties.title or "") or styled_title
    return Parsed(text=text, title=title)


class DocxLoader:
    kind = "Word"
    suffixes = (".docx",)

    def load(self, data: bytes) -> Parsed:
        return parse_docx(data)
