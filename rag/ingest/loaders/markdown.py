"""Markdown read as text, not markup (markdown-it-py): ``**bold**`` is "bold",
``[a link](url)`` is "a link", an image is its alt text, tags are dropped.
Each heading, paragraph, list item, table row and code block is a paragraph."""

from __future__ import annotations

import re

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.reflow import clean_inline, paragraphs_text
from rag.ingest.loaders.text import decode

_TAG = re.compile(r"<[^>]*>")


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

    source = decode(data)
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(source)
    blocks, row, title, in_heading = [], None, "", False
    for token in tokens:
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            blocks.append(" ".join(row or ()))
            row = None
        elif token.type == "inline":
            text = _inline(token)
            if row is not None:
                row.append(text)
            else:
                blocks.append(text)
                if in_heading and not title:
                    title = clean_inline(text)
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content)
        elif token.type == "html_block":
            blocks.append(_TAG.sub(" ", token.content))
    text = paragraphs_text(blocks)
    if not text:
        raise LoadError("has no readable text")
    return Parsed(text=text, title=title)


class MarkdownLoader:
    kind = "Markdown"
    suffixes = (".md", ".markdown")

    def load(self, data: bytes) -> Parsed:
        return parse_markdown(data)
