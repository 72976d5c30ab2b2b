"""The units a document is searched and quoted by, from its sentences and blocks.

Prose blocks give their sentences (rag.ingest.sentences); a heading, an FAQ
question, a code block or a table row is one unit whatever its stops (a
command is never cut at the dot of ``~/.bashrc``); contents lines, running
headers and reference entries give none.

A sentence the splitter ended where the sentence goes on (the next one
starts in lower case: "e.g." / "the …", "suffix ." / "xz.") is joined to
the next, so a quotation never ends mid-sentence.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from rag.types import PARAGRAPH, PROSE, TITLES, UNREAD, WHOLE, Block, Document

# A unit longer than this is cut (at lines for code, by the splitter's own
# limit for prose): a quotation is a readable piece.
MAX_UNIT_CHARS = 1_000


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    kind: str
    level: int = 0  # a heading's level


def _code_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A long code block in runs of whole lines of at most MAX_UNIT_CHARS."""
    if end - start <= MAX_UNIT_CHARS:
        return [(start, end)]
    pieces, at = [], start
    while at < end:
        stop = min(end, at + MAX_UNIT_CHARS)
        if stop < end:
            cut = text.rfind("\n", at + 1, stop)
            stop = cut if cut > at else stop
        pieces.append((at, stop))
        at = stop + 1 if stop < end and text[stop] == "\n" else stop
    return [(a, b) for a, b in pieces if text[a:b].strip()]


def _mid_sentence(text: str, left: tuple[int, int], right: tuple[int, int]) -> bool:
    """Whether the splitter cut a sentence: the next piece opens in lower case
    (no sentence does, in prose: "suffix ." / "xz.", "e.g." / "widget …"), unless
    the first ends as a question or exclamation ("Why? because …" is rare enough
    to lose, a quotation cut at ".xz" is not)."""
    head = text[left[0] : left[1]].rstrip()
    tail = text[right[0] : right[1]].lstrip()
    return tail[:1].islower() and not head.endswith(("?", "!")) and right[1] - left[0] <= MAX_UNIT_CHARS


def units_of(doc: Document, spans: list[tuple[int, int]]) -> list[Unit]:
    """``doc``'s units from its sentence ``spans`` (split_sentences of its text)."""
    blocks = doc.blocks or (Block(0, len(doc.text), PARAGRAPH),)
    starts = [b.start for b in blocks]
    out: list[Unit] = []
    whole_done: set[int] = set()
    for start, end in spans:
        k = bisect.bisect_right(starts, start) - 1
        block = blocks[k] if k >= 0 and start < blocks[k].end else None
        if block is None:
            out.append(Unit(start, end, PARAGRAPH))
            continue
        if block.kind in UNREAD:
            continue
        if block.kind not in PROSE:
            if k not in whole_done:  # headings, questions, code and tables: the block is the unit
                whole_done.add(k)
                pieces = (
                    _code_pieces(doc.text, block.start, block.end)
                    if block.kind in WHOLE
                    else [(block.start, block.end)]
                )
                out.extend(Unit(a, b, block.kind, block.level) for a, b in pieces)
            continue
        end = min(end, block.end)
        last = out[-1] if out else None
        if (
            last is not None
            and last.kind == block.kind
            and last.start >= block.start
            and _mid_sentence(doc.text, (last.start, last.end), (start, end))
        ):
            out[-1] = Unit(last.start, end, last.kind)
        else:
            out.append(Unit(start, end, block.kind))
    return out


def headings_of(doc: Document, units: list[Unit]) -> list[int]:
    """For each unit, the index of the heading it stands under (-1 for none):
    the nearest heading above it (above a heading, the nearest of a higher
    level). The document's own title (its first block when that is a
    heading, or any heading that reads as its title) heads everything and so
    tells nothing apart: it is left out."""
    title = doc.blocks[0].start if doc.blocks and doc.blocks[0].kind in TITLES else None
    out: list[int] = []
    stack: list[tuple[int, int]] = []  # (level, unit index) of the open headings
    for i, unit in enumerate(units):
        if unit.kind in TITLES:
            level = unit.level or 1
            stack = [(lv, j) for lv, j in stack if lv < level]
            out.append(stack[-1][1] if stack else -1)
            # The title heads everything, wherever it stands (an essay's headline
            # under a photo credit): it tells no two parts apart.
            if unit.start != title and doc.text[unit.start : unit.end].strip() != doc.title.strip():
                stack.append((level, i))
        else:
            out.append(stack[-1][1] if stack else -1)
    return out
