"""HTML: the article, not the page around it (trafilatura), read with its structure.

trafilatura finds the main content and drops navigation, teasers, cookie
notices, footers and their photo credits; its own output flattens what
documentation needs (a ``pre`` inside a ``blockquote`` becomes a run of
words). So the page's own elements are walked, typed (h1–h6 headings, ``p``,
``li`` items, ``pre`` code with its lines, table rows, captions), and only
those whose text trafilatura kept as main content are read. It also drops
the article's own photo caption, credit and dateline, which readers ask
about ("Who took the photo?", "When was it published?"), so those are read
back from the article element itself: the lines between its start and its
first paragraph of prose. Nothing outside that element is ever read. Why
trafilatura and not selectolax: docs/documents.md, "Choice of libraries".
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.blocks import Piece, build, heading_text, question_kind
from rag.ingest.loaders.reflow import clean_inline
from rag.types import CAPTION, CODE, CONTENTS, HEADING, ITEM, PARAGRAPH, TABLE

# Never reading text, wherever they stand.
_SKIP = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "nav",
    "aside",
    "footer",
    "form",
    "button",
    "select",
    "option",
    "iframe",
    "object",
    "embed",
    "canvas",
    "dialog",
    "head",
    "title",
    "meta",
    "link",
}
_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "td",
    "th",
    "address",
    "hr",
    "br",
    "time",
    "picture",
    "details",
    "summary",
}
_CONTAINERS = ("article", "main")
# The first paragraph of prose ends the article's header.
PROSE_CHARS = 150
MAX_TREE_NODES = 200_000
# A paragraph trafilatura left out between two it kept is the body's own when
# it has at least this many words (not "Advertisement", "Share this").
MIN_BODY_WORDS = 3
# The article's body is the innermost element that holds this share of the
# text trafilatura kept (_container).
MAIN_SHARE = 0.8


_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_ITEMS = {"li", "dd"}
_CAPTIONS = {"figcaption", "caption"}


def _text(element) -> str:
    """An element's text with line breaks as spaces (trafilatura writes <lb/>)."""
    parts = []
    for node in element.iter():
        if node is not element and node.tag in ("lb", "br"):
            parts.append(" ")
        if node.text and (node is element or node.tag not in ("lb", "br")):
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return clean_inline("".join(parts))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _main_text(result) -> str:
    """trafilatura's main content as one line, for telling which page elements it kept."""
    if result is None or result.body is None:
        return ""
    return _flat(" ".join(result.body.itertext()))


class _Walk:
    """The typed blocks of an element tree, in document order; each remembers
    whether all of its text is link text (share buttons, tag lists)."""

    def __init__(self) -> None:
        self.pieces: list[tuple[Piece, bool, bool]] = []
        self.nodes: list = []  # the element each piece's block is
        self.node = None
        self.texts: list[str] = []
        self.links: list[bool] = []
        self.bold: list[bool] = []
        self.kind, self.level = PARAGRAPH, 0

    def flush(self) -> None:
        text = "".join(self.texts)
        if self.kind == CODE:
            text = text.strip("\n")
        if text.strip():
            only_links = all(link or not t.strip() for t, link in zip(self.texts, self.links))
            only_bold = all(b or not t.strip() for t, b in zip(self.texts, self.bold))
            self.pieces.append((Piece(self.kind, text, self.level), only_links, only_bold))
            self.nodes.append(self.node)
        self.texts, self.links, self.bold = [], [], []

    def add(self, text: str | None, link: bool, bold: bool = False) -> None:
        if text:
            self.texts.append(text)
            self.links.append(link)
            self.bold.append(bold)

    def walk(self, node, in_link: bool = False, context: str = PARAGRAPH, in_bold: bool = False) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP:
            return
        kind, level = None, 0
        if tag in _HEADINGS:
            kind, level = HEADING, _HEADINGS[tag]
        elif tag == "pre":
            kind = CODE
        elif tag in _ITEMS or (tag == "p" and context == ITEM):
            kind = ITEM
        elif tag == "tr":
            kind = TABLE
        elif tag in _CAPTIONS:
            kind = CAPTION
        elif tag in _BLOCK:
            kind = context
        if kind is not None:
            self.flush()
            self.kind, self.level, self.node = kind, level, node
        link = in_link or tag == "a"
        bold = in_bold or tag in ("b", "strong")
        if tag in ("br",) and self.kind != CODE:
            self.add(" ", link, bold)
        self.add(node.text if tag else None, link, bold)
        inner = ITEM if kind == ITEM else (context if kind is None else PARAGRAPH)
        for child in node:
            self.walk(child, link, CODE if kind == CODE else inner, bold)
            self.add(child.tail, link, in_bold if kind is None else False)
            if kind is not None:  # back in this element after a nested block
                self.kind, self.level, self.node = kind, level, node
        if kind is not None:
            self.flush()
            self.kind, self.level, self.node = context, 0, node.getparent()


# A paragraph all in bold and this short titles what follows (an FAQ's questions).
BOLD_TITLE_CHARS = 200


def _typed(element) -> list[tuple[Piece, bool, Any]]:
    """Typed pieces of an element, each with whether it is all link text and
    the element it was read from: a heading that asks is an FAQ question, a
    short paragraph all in bold a heading, and a list item or paragraph that
    is all link text (a page's own table of contents) a contents entry."""
    walk = _Walk()
    walk.walk(element)
    walk.flush()
    out = []
    for (piece, only_links, only_bold), node in zip(walk.pieces, walk.nodes):
        kind, level = piece.kind, piece.level
        if kind == PARAGRAPH and only_bold and not only_links and len(clean_inline(piece.text)) <= BOLD_TITLE_CHARS:
            kind, level = HEADING, 6
        if kind == HEADING:
            kind = question_kind(piece.text)
        elif kind in (ITEM, PARAGRAPH) and only_links:
            kind = CONTENTS
        out.append((Piece(kind, piece.text, level), only_links, node))
    return out


def _dom_blocks(element) -> list[tuple[str, bool]]:
    """Paragraphs of an original-page element: (text, whether all of it is link text)."""
    return [(clean_inline(p.text), links) for p, links, _ in _typed(element) if clean_inline(p.text)]


def _article_header(tree, first_prose: str) -> list[str]:
    """The lines of the article element that precede its first paragraph of prose."""
    for node in tree.iter("p", "div", "section", "span"):
        if clean_inline(node.text_content()) != first_prose:
            continue
        container = next(
            (a for a in node.iterancestors() if a.tag in _CONTAINERS or a.get("role") in ("main", "article")), None
        )
        if container is None:
            return []
        header: list[str] = []
        for text, only_links in _dom_blocks(container):
            if text == first_prose:
                return header
            if not only_links:  # share buttons, tag lists, "read more" links
                header.append(text)
        return []
    return []


def _container(typed: list[tuple[Piece, bool, Any]], kept: list[int]):
    """The innermost element that holds MAIN_SHARE of the kept text: the article's
    body, without the sidebar or the footer line trafilatura may also keep."""
    weight: dict = {}
    depth: dict = {}
    total = 0
    for i in kept:
        piece, _, node = typed[i]
        size = len(piece.text)
        total += size
        chain = [node, *node.iterancestors()] if node is not None else []
        for d, element in enumerate(reversed(chain)):
            weight[element] = weight.get(element, 0) + size
            depth[element] = d
    held = [e for e, w in weight.items() if w >= MAIN_SHARE * total]
    return max(held, key=lambda e: depth[e]) if held else None


def _main_pieces(typed: list[tuple[Piece, bool, Any]], main: str) -> list[Piece]:
    """The pieces of the main content: those trafilatura kept, and the pieces
    between them in the element that holds the body (_container) that are not
    all link text nor a line of one or two words ("Advertisement", "Share this").
    In precision mode trafilatura drops headings, lists and whole sections of a
    long manual (a third of Ninja's HTML manual, a quarter of fetchmail's FAQ),
    which a reader of the page sees as its body. Not photo captions (the
    article's own are read back as its header) nor text the page repeats."""
    kept = [i for i, (p, _, _) in enumerate(typed) if _flat(p.text) in main]
    if not kept:
        return []
    box = _container(typed, kept)
    inside = set(kept)
    seen = Counter(_flat(p.text) for p, links, _ in typed if not links)

    def body(i: int) -> bool:
        piece, links, node = typed[i]
        words = sum(1 for w in piece.text.split() if any(c.isalpha() for c in w))
        if links or piece.kind == CAPTION or seen[_flat(piece.text)] > 1:
            return False  # link lists, photo captions, what the page repeats (teasers, galleries)
        if piece.kind == PARAGRAPH and words < MIN_BODY_WORDS:
            return False
        return _within(node, box)

    spans = [i for i in kept if box is None or _within(typed[i][2], box)]
    first, last = (spans[0], spans[-1]) if spans else (kept[0], kept[-1])
    return [p for i, (p, _, _) in enumerate(typed) if i in inside or (first <= i <= last and body(i))]


def _within(node, box) -> bool:
    return node is not None and (node is box or box in node.iterancestors())


def parse_html(data: bytes) -> Parsed:
    import trafilatura

    tree = trafilatura.load_html(data)
    if tree is None:
        raise LoadError("cannot be read as HTML")
    if sum(1 for _ in tree.iter()) > MAX_TREE_NODES:
        raise LoadError(f"has more than {MAX_TREE_NODES:,} HTML elements")
    original = copy.deepcopy(tree)
    result = trafilatura.bare_extraction(
        tree,
        include_comments=False,
        include_tables=True,
        include_images=False,
        with_metadata=True,
        favor_precision=True,
    )
    title = clean_inline(getattr(result, "title", None) or "") if result is not None else ""
    body = original.find("body")
    typed = _typed(body if body is not None else original)
    page = [p for p, _, _ in typed]
    main = _main_text(result)
    # A page too small for trafilatura's heuristics has no boilerplate either.
    pieces = _main_pieces(typed, main) if main else page
    if not pieces:
        pieces = page
    prose = next(
        (i for i, p in enumerate(pieces) if p.kind == PARAGRAPH and len(clean_inline(p.text)) >= PROSE_CHARS), None
    )
    if prose is not None:
        first = clean_inline(pieces[prose].text)
        later = {clean_inline(p.text) for p in pieces[prose:]}
        kept = {clean_inline(p.text) for p in pieces[:prose]}
        header = [
            h
            for h in _article_header(original, first)
            if h not in later and h not in kept and any(c.isalpha() for c in h)
        ]
        if header:
            pieces = (
                [Piece(PARAGRAPH, h) for h in header] + pieces[prose:]
                if not pieces[:prose]
                else pieces[:prose] + [Piece(PARAGRAPH, h) for h in header] + pieces[prose:]
            )
    if title and title not in [heading_text(p.text) for p in pieces[:3]]:
        pieces.insert(0, Piece(HEADING, title, 1))
    text, blocks = build(pieces)
    if not text:
        raise LoadError("has no readable text")
    return Parsed(text=text, title=title, blocks=blocks)


class HtmlLoader:
    kind = "HTML"
    suffixes = (".html", ".htm")

    def load(self, data: bytes) -> Parsed:
        return parse_html(data)
