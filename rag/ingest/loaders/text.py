"""Plain text: the file's characters exactly as stored, title from its first headline."""

from __future__ import annotations

from rag.ingest.loaders.base import LoadError, Parsed


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
        return Parsed(text=decode(data))
