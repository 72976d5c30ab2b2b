"""HTML: the article, not the page around it (trafilatura), plus the article's own header.

trafilatura finds the main content and drops navigation, teasers, cookie
notices, footers and their photo credits. It also drops the article's own
photo caption, credit and dateline, which readers ask about ("Who took the
photo?", "When was it published?"), so those are read back from the article
element itself: the lines between its start and its first paragraph of
prose. Nothing outside that element is ever read. Why trafilatura and not
selectolax: README, "Choice of libraries".
"""

from __future__ import annotations

import copy

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.reflow import clean_inline, paragraphs_text

# Never reading text, wherever they stand.
_SKIP = {"script", "style", "noscript", "template", "svg", "math", "nav", "aside", "footer", "form", "button",
         "select", "option", "iframe", "object", "embed", "canvas", "dialog", "head", "title", "meta", "link"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "figure",
          "figcaption", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th",
          "address", "hr", "br", "time", "picture", "details", "summary"}
_CONTAINERS = ("article", "main")
# The first paragraph of prose ends the article's header.
PROSE_CHARS = 150
MAX_TREE_NODES = 200_000


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


def _extracted_blocks(body) -> list[str]:
    """trafilatura's main content as paragraphs: one per paragraph, heading, list item or table row."""
    out = []
    for child in body:
        if child.tag == "list":
            out += [_text(item) for item in child.iter("item")]
        elif child.tag == "table":
            out += [" ".join(_text(cell) for cell in row.iter("cell")) for row in child.iter("row")]
        elif child.tag != "graphic":
            out.append(_text(child))
    return [b for b in out if b]


def _dom_blocks(element) -> list[tuple[str, bool]]:
    """Paragraphs of an original-page element: (text, whether all of it is link text)."""
    blocks: list[tuple[list[str], list[bool]]] = [([], [])]

    def walk(node, in_link: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP:
            return
        if tag in _BLOCK:
            blocks.append(([], []))
        link = in_link or tag == "a"
        if node.text and tag:
            blocks[-1][0].append(node.text)
            blocks[-1][1].append(link)
        for child in node:
            walk(child, link)
            if child.tail:
                blocks[-1][0].append(child.tail)
                blocks[-1][1].append(link)
        if tag in _BLOCK:
            blocks.append(([], []))

    walk(element, False)
    out = []
    for texts, links in blocks:
        text = clean_inline("".join(texts))
        if text:
            out.append((text, all(link or not t.strip() for t, link in zip(texts, links))))
    return out


def _article_header(tree, first_prose: str) -> list[str]:
    """The lines of the article element that precede its first paragraph of prose."""
    for node in tree.iter("p", "div", "section", "span"):
        if clean_inline(node.text_content()) != first_prose:
            continue
        container = next((a for a in node.iterancestors() if a.tag in _CONTAINERS
                          or a.get("role") in ("main", "article")), None)
        if container is None:
            return []
        header = []
        for text, only_links in _dom_blocks(container):
            if text == first_prose:
                return header
            if not only_links:  # share buttons, tag lists, "read more" links
                header.append(text)
        return []
    return []


def parse_html(data: bytes) -> Parsed:
    import trafilatura

    tree = trafilatura.load_html(data)
    if tree is None:
        raise LoadError("cannot be read as HTML")
    if sum(1 for _ in tree.iter()) > MAX_TREE_NODES:
        raise LoadError(f"has more than {MAX_TREE_NODES:,} HTML elements")
    original = copy.deepcopy(tree)
    result = trafilatura.bare_extraction(tree, include_comments=False, include_tables=True, include_images=False,
                                         with_metadata=True, favor_precision=True)
    title = clean_inline(getattr(result, "title", None) or "") if result is not None else ""
    blocks = _extracted_blocks(result.body) if result is not None and result.body is not None else []
    if not blocks:  # a page too small for trafilatura's heuristics: it has no boilerplate either
        body = original.find("body")
        blocks = [text for text, _ in _dom_blocks(body if body is not None else original)]
    prose = next((i for i, b in enumerate(blocks) if len(b) >= PROSE_CHARS), None)
    if prose is not None:
        later = set(blocks[prose:])
        header = [h for h in _article_header(original, blocks[prose]) if h not in later and any(c.isalpha() for c in h)]
        if header:
            blocks = header + blocks[prose:]
    if title and title not in blocks[:3]:
        blocks.insert(0, title)
    text = paragraphs_text(blocks)
    if not text:
        raise LoadError("has no readable text")
    return Parsed(text=text, title=title)


class HtmlLoader:
    kind = "HTML"
    suffixes = (".html", ".htm")

    def load(self, data: bytes) -> Parsed:
        return parse_html(data)
