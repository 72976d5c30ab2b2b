"""One loader per file type, chosen by the file's suffix.

``loader_for(name)`` is the registry's one entry point; a new type is a class
with ``kind``, ``suffixes`` and ``load(bytes) -> Parsed`` added to LOADERS.
Loaders import their libraries when called, so listing types is free.
"""

from __future__ import annotations

from rag.ingest.loaders.base import Loader, LoadError, Parsed
from rag.ingest.loaders.docx import DocxLoader
from rag.ingest.loaders.html import HtmlLoader
from rag.ingest.loaders.markdown import MarkdownLoader
from rag.ingest.loaders.pdf import PdfLoader
from rag.ingest.loaders.text import TextLoader

LOADERS: tuple[Loader, ...] = (TextLoader(), MarkdownLoader(), HtmlLoader(), PdfLoader(), DocxLoader())
_BY_SUFFIX = {suffix: loader for loader in LOADERS for suffix in loader.suffixes}
SUFFIXES = tuple(_BY_SUFFIX)


def loader_for(name: str) -> Loader | None:
    """The loader for a file name's suffix (any case), or None."""
    dot = name.rfind(".")
    return _BY_SUFFIX.get(name[dot:].lower()) if dot >= 0 else None


__all__ = ["LOADERS", "SUFFIXES", "Loader", "LoadError", "Parsed", "loader_for"]
