"""Plain text: the file's characters exactly as stored, title from its first headline."""

from __future__ import annotations

from rag.ingest.loaders.base import LoadError, Parsed
from rag.types import HEADING


def decode(data: bytes) -> str:
    """UTF-8 text, or a LoadError naming what is wrong with the bytes."""
    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data:
        raise LoadError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LoadError(f"not UTF-8 text (bad byte at offset {err.start})") from None


class TextLoader:
    kind = "text"
    suffixes = (".txt",)

    def load(self, data: bytes) -> Parsed:
        # Bytes decoded as they are, never via text mode: that would rewrite
        # "\r\n" and every offset after it would point at the wrong character.
        # A hard-wrapped file's paragraphs are joined (rag.ingest.loaders.plain).
        from rag.ingest.loaders.plain import read_plain

        text, blocks = read_plain(decode(data))
        if not text.strip():
            raise LoadError("has no readable text")
        first = blocks[0] if blocks else None
        title = text[first.start:first.end] if first is not None and first.kind == HEADING and text is not None \
            and blocks[0].level == 1 and first.end - first.start <= 120 else ""
        return Parsed(text=text, title=title, blocks=blocks)
