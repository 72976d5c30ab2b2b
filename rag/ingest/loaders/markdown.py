"""Markdown read as text, not markup (markdown-it-py): ``**bold**`` is "bold",
``[a link](url)`` is "a link", an image is its alt text, tags are dropped.
Each heading (with its level), paragraph, list item, table row and code block
(its lines kept) is a block. YAML front matter is metadata: its title names
the document, the rest is not read."""

from __future__ import annotations

import re

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.blocks import Piece, build, heading_text, question_kind
from rag.ingest.loaders.text import decode
from rag.types import CODE, ITEM, PARAGRAPH, TABLE

_TAG = re.compile(r"<[^>]*>")
# YAML front matter (Jekyll, Hugo, MkDocs): metadata before the text, between two
# lines of three dashes; CommonMark alone reads it as a rule and a setext heading,
# so "title: … layout: default" became the document's title.
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n((?:[^\n]*\n)*?)(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")
_FIELD = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_TITLE_FIELD = re.compile(r"^title\s*:\s*(.+?)\s*$", re.MULTILINE)


def front_matter(source: str) -> tuple[str, str]:
    """``source`` without its YAML front matter, and the title that names, if any."""
    match = _FRONT_MATTER.match(source)
    if not match or not _FIELD.match(match.group(1).lstrip()):
        return source, ""
    title = _TITLE_FIELD.search(match.group(1))
    return source[match.end() :], (title.group(1).strip("\"'") if title else "")


def _inline(token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline(child))
    return "".join(parts)


def parse_markdown(data: bytes) -> Parsed:
    from markdown_it import MarkdownIt

    source, title = front_matter(decode(data))
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(source)
    pieces: list[Piece] = []
    row: list[str] | None = None
    heading, items = 0, 0  # heading: the open heading's level; items: open list items
    for token in tokens:
        if token.type == "heading_open":
            heading = int(token.tag[1:])
        elif token.type == "heading_close":
            heading = 0
        elif token.type == "list_item_open":
            items += 1
        elif token.type == "list_item_close":
            items -= 1
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            pieces.append(Piece(TABLE, " ".join(row or ())))
            row = None
        elif token.type == "inline":
            text = _inline(token)
            if row is not None:
                row.append(text)
            elif heading:
                pieces.append(Piece(question_kind(text), text, heading))
                if not title:
                    title = heading_text(text)
            else:
                pieces.append(Piece(ITEM if items else PARAGRAPH, text))
        elif token.type in ("fence", "code_block"):
            pieces.append(Piece(CODE, token.content))
        elif token.type == "html_block":
            pieces.append(Piece(PARAGRAPH, _TAG.sub(" ", token.content)))
    text, blocks = build(pieces)
    if not text:
        raise LoadError("has no readable text")
    return Parsed(text=text, title=title, blocks=blocks)


class MarkdownLoader:
    kind = "Markdown"
    suffixes = (".md", ".markdown")

    def load(self, data: bytes) -> Parsed:
        return parse_markdown(data)
