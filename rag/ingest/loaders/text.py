"""Plain text: the file's characters exactly as stored, title from its first headline."""

from __future__ import annotations

import codecs

from rag.ingest.loaders.base import LoadError, Parsed
from rag.types import HEADING

# Longest first: a UTF-32LE mark starts with UTF-16LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def decode(data: bytes) -> str:
    """UTF-8 text, UTF-16 or UTF-32 text that starts with its byte-order mark
    (as Windows tools save it), or a LoadError naming what is wrong with the bytes."""
    for bom, codec, name in BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)  # the mark says the byte order, and is dropped
            except UnicodeDecodeError as err:
                raise LoadError(f"not {name} text (bad bytes at offset {err.start})") from None
            if not text.strip():
                raise LoadError("empty file")
            if "\x00" in text:
                raise LoadError("binary file (contains NUL characters)")
            return text
    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data:
        raise LoadError("binary file (contains NUL bytes)" + _unmarked_wide_text(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LoadError(f"not UTF-8 text (bad byte at offset {err.start})") from None


def _unmarked_wide_text(data: bytes) -> str:
    """What to say when NUL bytes fall where UTF-16 or UTF-32 text without a
    byte-order mark puts them (every other byte, or three in four)."""
    sample = data[:4096]
    zeros = [sample[i::4].count(0) / max(len(sample[i::4]), 1) for i in range(4)]
    guess = None
    if min(zeros[1:]) > 0.9 and zeros[0] < 0.5:
        guess = "UTF-32LE"
    elif min(zeros[:3]) > 0.9 and zeros[3] < 0.5:
        guess = "UTF-32BE"
    elif min(zeros[1], zeros[3]) > 0.6 and max(zeros[0], zeros[2]) < 0.2:
        guess = "UTF-16LE"
    elif min(zeros[0], zeros[2]) > 0.6 and max(zeros[1], zeros[3]) < 0.2:
        guess = "UTF-16BE"
    return (
        f"; it looks like {guess} text without a byte-order mark: save it as UTF-8, or with its mark" if guess else ""
    )


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
        title = (
            text[first.start : first.end]
            if first is not None
            and first.kind == HEADING
            and text is not None
            and blocks[0].level == 1
            and first.end - first.start <= 120
            else ""
        )
        return Parsed(text=text, title=title, blocks=blocks)
