"""Sentence spans of a document: the units that quotations are made of."""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    # clean=False and char_span=True: spans index the original text.
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, whitespace trimmed, never crossing a line break.

    Lines first (a headline, a photo credit and a paragraph are different
    units even without a full stop), then pysbd's rules within each line,
    which know abbreviations such as "U.S." and closing quotation marks.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        for piece in _segmenter().segment(line.group()):
            start, end = base + piece.start, base + piece.end
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start and (not spans or start >= spans[-1][1]):
                spans.append((start, end))
    return spans
