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
            self.kind, self.level = kind, level
        link = in_link or tag == "a"
        bold = in_bold or tag in ("b", "strong")
        if tag in ("br",) and self.kind != CODE:
            self.add(" ", link, bold)
        self.add(node.text if tag else None, link, bold)
        inner = ITEM if kind == ITEM else (context if kind is None else PARAGRAPH)
        for child in node:
            self.walk(child, link, CODE if kind == CODE else inner, bold)
            self.add(child.tail, link, in_bold if kind is None else False)
            if kind is not None and self.kind != kind:
                self.kind, self.level = kind, level  # back in this element after a nested block
        if kind is not None:
            self.flush()
            self.kind, self.level = context, 0


# A paragraph all in bold and this short titles what follows (an FAQ's questions).
BOLD_TITLE_CHARS = 200


def _dom_pieces(element) -> list[tuple[Piece, bool]]:
    """Typed pieces of an element: a heading that asks is an FAQ question, a
    short paragraph all in bold a heading, and a list item or paragraph that
    is all link text (a page's own table of contents) a contents entry."""
    walk = _Walk()
    walk.walk(element)
    walk.flush()
    out = []
    for piece, only_links, only_bold in walk.pieces:
        kind, level = piece.kind, piece.level
        if kind == PARAGRAPH and only_bold and not only_links and len(clean_inline(piece.text)) <= BOLD_TITLE_CHARS:
            kind, level = HEADING, 6
        if kind == HEADING:
            kind = question_kind(piece.text)
        elif kind in (ITEM, PARAGRAPH) and only_links:
            kind = CONTENTS
        out.append((Piece(kind, piece.text, level), only_links))
    return out


def _dom_blocks(element) -> list[tuple[str, bool]]:
    """Paragraphs of an original-page element: (text, whether all of it is link text)."""
    return [(clean_inline(p.text), links) for p, links in _dom_pieces(element) if clean_inline(p.text)]


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


def _main_pieces(typed: list[tuple[Piece, bool]], main: str) -> list[Piece]:
    """The pieces of the main content: those trafilatura kept, and every piece
    between its first and last one that is not all link text. In precision mode
    trafilatura drops headings, lists and whole sections of a long manual (a
    third of Ninja's HTML manual, a quarter of fetchmail's FAQ), which a reader
    of the page sees as its body; between two kept pieces, what is left out is
    the body's own text, bar link lists (a teaser, "related", share buttons)
    and one- or two-word lines ("Advertisement", "Share this")."""
    kept = [i for i, (p, _) in enumerate(typed) if _flat(p.text) in main]
    if not kept:
        return []
    first, last, inside = kept[0], kept[-1], set(kept)

    def body(piece: Piece, links: bool) -> bool:
        return not links and (piece.kind != PARAGRAPH or len(piece.text.split()) >= MIN_BODY_WORDS)

    return [p for i, (p, links) in enumerate(typed) if i in inside or (first <= i <= last and body(p, links))]


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
    typed = _dom_pieces(body if body is not None else original)
    page = [p for p, _ in typed]
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
