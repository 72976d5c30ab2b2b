"""Escaping: corpus and user text must reach the page as text, never as markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rag.chat.render import escape_markdown, essay_html, essays_html, highlighted, sources_html
from rag.types import Answer, Chunk, Document, Hit, Quote

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> **bold** [link](http://example.com)"


class _Text(HTMLParser):
    """Visible text and the tags a renderer produced."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def rendered(markdown: str) -> _Text:
    # CommonMark plus the GFM pieces Gradio's renderer also has.
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser = _Text()
    parser.feed(md.render(markdown))
    return parser


def squash(text: str) -> str:
    return " ".join(text.split())


def test_hostile_text_renders_as_itself():
    out = rendered(escape_markdown(HOSTILE))
    assert squash("".join(out.text)) == squash(HOSTILE)
    assert set(out.tags) <= {"p"}


# Characters that mean something to Markdown or HTML, with words around them.
_TRICKY = st.lists(
    st.sampled_from(list("ab 1.\n\r\t#*_`[]()<>&!|~-+=:/\\@{}$^\"'") + ["http://", "www.", "&amp;", "    "]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TRICKY)
def test_any_text_renders_as_itself(text):
    out = rendered(escape_markdown(text))
    assert squash("".join(out.text)) == squash(text)
    assert set(out.tags) <= {"p", "br"}, out.tags


def test_escaping_keeps_ordinary_prose_readable():
    prose = "Putin’s regime, as Kofman said, “might collapse”—or not. (See 1962.)"
    assert escape_markdown(prose) == prose


DOC = Document("d", "Title <b>x</b>", "Intro. " + HOSTILE + " Outro.", "d.txt", "0" * 64)


def test_html_panels_escape_corpus_text():
    start = DOC.text.index("<script>")
    end = start + len(HOSTILE)
    quote = Quote(1, "d", DOC.title, start, end, DOC.text[start:end])
    hit = Hit(Chunk(0, "d", 0, len(DOC.text), DOC.text), 0.5, 1, "hybrid", DOC.title)
    answer = Answer("q", "“...” [1]", False, (quote,), (hit,))
    for page in (sources_html(answer, 1, {"d": DOC}), essay_html(DOC, start, end, "[1]"),
                 essays_html({"d": DOC}, {"d": 1}), highlighted(DOC, start, end)):
        assert "<script" not in page and "<img" not in page and "<b>x" not in page
        parser = _Text()
        parser.feed(page)
        assert set(parser.tags) <= {"div", "b", "span", "mark", "ul", "li"}
    assert f"<mark>{'&lt;script&gt;'}" in essay_html(DOC, start, end)


def test_the_highlight_is_exactly_the_quoted_span():
    start, end = 7, 7 + len("<script>")
    page = highlighted(DOC, start, end)
    marked = re.search(r"<mark>(.*?)</mark>", page).group(1)
    assert marked == "&lt;script&gt;"


def test_an_abstention_reads_as_not_in_the_essays_with_related_passages():
    from rag.chat.render import answer_markdown

    hit = Hit(Chunk(0, "d", 0, len(DOC.text), DOC.text), 0.5, 1, "hybrid", DOC.title)
    answer = Answer("q", "The essays don't address this.", True, (), (hit,))
    md = answer_markdown(answer, 4)
    assert md.startswith("**Not in the essays.** ")
    assert "(#cite-4-p-1)" in md and escape_markdown(DOC.title) in md
    assert "<script" not in md and "<img" not in md
    panel = sources_html(answer, 4, {"d": DOC})
    assert "Not in the essays" in panel and 'data-cite="4-p-1"' in panel and "<mark>" not in panel
