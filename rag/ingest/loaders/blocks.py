"""Typed blocks into reading text: what every loader hands back.

A loader reads its format's own structure (Markdown's ``#`` and fences,
HTML's h1–h6 and ``pre``, Word's heading styles, a PDF's type sizes, a text
file's underlines and indentation) into ``Piece``s; ``Builder`` joins them
into the reading text, one block per paragraph, separated by a blank line,
and records each block's span and kind (rag.types.Block).

Prose is cleaned to one line (rag.ingest.loaders.reflow.clean_inline): a
sentence never crosses a line break. A code block keeps its lines, so a
command can be copied as printed.

Two passes look at the pieces together, whatever the format:
- contents lines (a title, leader dots or a tab, a page number) and every
  block under a "Contents" heading are contents, never searched;
- every block under a "References" / "Bibliography" heading is a reference
  entry, never quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.ingest.loaders.reflow import clean_inline
from rag.types import CODE, CONTENTS, HEADING, QUESTION, REFERENCE, TITLES, Block

# A contents line: leader dots (". . . ." or "....") or a tab, then a page number or label.
_LEADER = re.compile(r"(?:\.\s?){4,}\s*[\divxlcdm]{1,6}\s*$|\u2026\s*\d{1,4}\s*$", re.I)
_CONTENTS_TITLE = re.compile(r"^\s*(table of contents|contents|inhalt|sommaire|(.*\s)?index)\s*$", re.I)
_REFERENCES_TITLE = re.compile(
    r"^\s*([\dIVX]+\.?\s+|appendix\s+\w+\.?\s+)?"
    r"(references|bibliography|works cited|literature cited|literature|citations|further reading)\s*$",
    re.I,
)
# A numbered section title as contents lists them: "5.6 Why do I get …  18".
_NUMBERED_ENTRY = re.compile(r"^\s*([A-Z]|\d+)(\.\d+)*\.?\s+\S.*\s(\d{1,4}|[ivxlcdm]{1,6})\s*$")
# Permalink glyphs documentation generators put after headings (Sphinx's ¶, #, §).
_PERMALINK = re.compile(r"\s*[¶§#🔗]\s*$")


@dataclass(frozen=True)
class Piece:
    """One block before it is placed: its kind, text and heading level.
    ``continues``: it carries on the previous piece (a paragraph split by a
    page break), joined to it with ``join``."""

    kind: str
    text: str
    level: int = 0
    continues: bool = False


def clean_code(text: str) -> str:
    """A code block's lines as printed: tabs and trailing blanks settled,
    the common indentation removed, blank lines at either end dropped."""
    lines = [ln.expandtabs(4).rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return ""
    indent = min(len(ln) - len(ln.lstrip()) for ln in lines if ln.strip())
    # Blank lines inside a block would read as a paragraph break: keep them as one space.
    return "\n".join(ln[indent:] if ln.strip() else " " for ln in lines)


def heading_text(text: str) -> str:
    return _PERMALINK.sub("", clean_inline(text))


class Builder:
    """Reading text and its blocks, a piece at a time."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.length = 0

    def add(self, piece: Piece, join=None) -> None:
        text = (
            clean_code(piece.text)
            if piece.kind == CODE
            else (heading_text(piece.text) if piece.kind in TITLES else clean_inline(piece.text))
        )
        if not text:
            return
        if piece.continues and self.blocks and self.blocks[-1].kind == piece.kind:
            # The last part is the last block's text: joined in place, in linear time.
            last, left = self.blocks[-1], self.parts[-1]
            merged = join(left, text) if join else f"{left} {text}"
            self.parts[-1] = merged
            self.length += len(merged) - len(left)
            self.blocks[-1] = replace(last, end=self.length)
            return
        if self.length:
            self.parts.append("\n\n")
            self.length += 2
        self.blocks.append(Block(self.length, self.length + len(text), piece.kind, piece.level))
        self.parts.append(text)
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def build(pieces: list[Piece], join=None) -> tuple[str, tuple[Block, ...]]:
    text, blocks, _ = assemble_pages([pieces], join)
    return text, blocks


def assemble_pages(pages: list[list[Piece]], join=None) -> tuple[str, tuple[Block, ...], tuple[int, ...]]:
    """Reading text, blocks and page starts from each page's pieces.

    A page that starts inside a paragraph (its first piece ``continues``)
    starts at that piece's first character after the join; a page with no
    text starts where the next text does."""
    flat = mark_sections([piece for page in pages for piece in page])
    builder, at = Builder(), 0
    starts: list[int | None] = []
    for page in pages:
        pieces, at = flat[at : at + len(page)], at + len(page)
        before = builder.length
        starts.append(None)
        for _k, piece in enumerate(pieces):
            count = len(builder.blocks)
            builder.add(piece, join)
            if starts[-1] is None and builder.length != before:
                if len(builder.blocks) == count and count:  # carried on the previous page's paragraph
                    starts[-1] = builder.length - len(clean_inline(piece.text))
                else:
                    starts[-1] = builder.blocks[-1].start
    text = builder.text()
    resolved, following = [], len(text)
    for start in reversed(starts):
        following = start if start is not None else following
        resolved.append(min(following, len(text)))
    return text, tuple(builder.blocks), tuple(reversed(resolved))


def is_contents_line(text: str) -> bool:
    return bool(_LEADER.search(text)) or ("\t" in text.strip() and bool(re.search(r"\t\s*\d{1,4}\s*$", text)))


def mark_sections(pieces: list[Piece]) -> list[Piece]:
    """Contents lines, and the blocks under a Contents or References heading, marked as such."""
    out: list[Piece] = []
    section: tuple[str, int] | None = None  # (kind, level of the heading that opened it)
    for piece in pieces:
        if piece.kind in TITLES:
            level = piece.level or 1
            if section is not None and level <= section[1]:
                section = None
            title = heading_text(piece.text)
            if _CONTENTS_TITLE.match(title):
                section = (CONTENTS, level)
            elif _REFERENCES_TITLE.match(title):
                section = (REFERENCE, level)
            elif section is not None and section[0] == CONTENTS:
                piece = replace(piece, kind=CONTENTS)  # a contents entry typeset as a heading
            out.append(piece)
            continue
        if piece.kind != CODE and is_contents_line(piece.text):
            out.append(replace(piece, kind=CONTENTS))
        elif section is not None:
            kind = section[0]
            if kind == CONTENTS and not (
                is_contents_line(piece.text) or _NUMBERED_ENTRY.match(piece.text) or len(piece.text) < 80
            ):
                out.append(piece)  # prose under a heading called "Index" is not an index
            else:
                out.append(replace(piece, kind=kind))
        else:
            out.append(piece)
    return out


def question_kind(text: str) -> str:
    """A heading that asks something ("How do I …?") titles an FAQ answer."""
    return QUESTION if heading_text(text).rstrip().endswith("?") else HEADING
