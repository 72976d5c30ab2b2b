"""The page's HTML: corpus and user text shown as text, quotations exact, sources grouped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chat import panels
from rag.chat.render import (
    answer_html,
    copy_text,
    escape,
    explain,
    pending_html,
    place,
    turn_html,
)
from rag.types import Answer, Chunk, Document, Hit, Position, Quote, Rewrite
from tests.html_tree import parse, tags

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> **bold** [link](http://example.com) \\[1\\]"
# Allowed tags: the ones the page writes itself.
OURS = {
    "div",
    "p",
    "span",
    "b",
    "blockquote",
    "button",
    "section",
    "h4",
    "ul",
    "li",
    "mark",
    "sup",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "colgroup",
    "col",
    "q",
}


def doc_of(doc_id: str, title: str, text: str, pages=()) -> Document:
    return Document(doc_id, title, text, f"{doc_id}.txt", "0" * 64, tuple(pages))


SPEECH = (
    "Title line\n\nA first paragraph.\n\n"
    "“For the first time, I’m really questioning [it],” Kofman said. He was worried. "
    "“I think he’s going to follow through,” Kofman said.\n\nA last paragraph with *stars*."
)
DOC = doc_of("d", "Essay <b>one</b>", SPEECH)
OTHER = doc_of("e", "Essay two", "Intro.\n\nOther essay text that is quoted here.\n")
DOCS = {"d": DOC, "e": OTHER}


def quote(n: int, doc: Document, needle: str) -> Quote:
    start = doc.text.index(needle)
    return Quote(n, doc.doc_id, doc.title, start, start + len(needle), needle)


def chunk_hit(rank: int, doc: Document, lo: int, hi: int) -> Hit:
    return Hit(Chunk(rank, doc.doc_id, lo, hi, doc.text[lo:hi]), 0.5, rank, "fusion", doc.title)


Q1 = quote(1, DOC, "“For the first time, I’m really questioning [it],” Kofman said.")
Q2 = quote(2, DOC, "He was worried.")
Q3 = quote(3, DOC, "“I think he’s going to follow through,” Kofman said.")
PASSAGE = chunk_hit(1, DOC, DOC.text.index("“For"), DOC.text.index("\n\nA last"))
ANSWER = Answer("Who?", "…", False, (Q1, Q2, Q3), (PASSAGE,))


# ------------------------------------------------------------------ escaping


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("ab 1.\n\r\t#*_`[]()<>&!|~-+=:/\\@{}$^\"'“”‘’") + ["http://", "&amp;", "<script>", "&#0;", "-->"]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_text_shows_as_itself_in_content_and_attributes(text):
    tree = parse(f'<div data-copy="{escape(text)}">{escape(text)}</div>')
    div = tree.find(tag="div")
    assert div.text() == text and div.attrs["data-copy"] == text
    assert tags(f"<div>{escape(text)}</div>") == {"div"}


def test_hostile_text_in_every_panel_is_text():
    bad = doc_of("h", HOSTILE, "Intro. " + HOSTILE + " Outro.")
    q = quote(1, bad, HOSTILE)
    hit = chunk_hit(1, bad, 0, len(bad.text))
    answer = Answer(HOSTILE, "…", False, (q,), (hit,))
    rewrite = Rewrite(HOSTILE, HOSTILE + " x", True, ("no topic of its own",), context=("x",))
    pages = [
        turn_html(1, HOSTILE, answer_html(answer, 1, {"h": bad}, rewrite)),
        panels.sources_panel(answer, 1, HOSTILE, {"h": bad}),
        panels.document_panel(bad, answer, 1, quote_n=1),
        panels.documents_html({"h": bad}, {"h": 1}),
        panels.inspector_html({"fusion": [hit]}, answer, "fusion"),
        pending_html(2, HOSTILE, HOSTILE),
    ]
    for page in pages:
        assert tags(page) <= OURS, tags(page) - OURS
        assert "<script" not in page and "<img" not in page
        assert HOSTILE in " ".join(parse(page).text().split()) or HOSTILE in parse(page).text()


# ----------------------------------------------------------------- quotations


def test_a_quotation_shows_exactly_its_text_between_one_pair_of_outer_marks():
    tree = parse(answer_html(ANSWER, 4, DOCS))
    quotes = tree.find_all("rag-quote")
    assert len(quotes) == 3
    for block, q in zip(quotes, ANSWER.quotes):
        marks = block.find_all("rag-qm")
        assert [m.text() for m in marks] == ["“", "”"]
        assert block.find("rag-qt").text() == DOC.text[q.start : q.end] == q.text
        assert block.find("rag-cite").attrs["data-cite"] == f"4-q-{q.n}"
    # The essay's own opening mark stays; the page adds one outer pair, drawn apart.
    assert quotes[0].find("rag-qt").text().startswith("“For the first time")


def test_copy_puts_plain_quotations_with_title_and_paragraph():
    tree = parse(answer_html(ANSWER, 4, DOCS))
    copied = tree.find("rag-copy").attrs["data-copy"]
    assert copied == copy_text(ANSWER, DOCS)
    assert copied == (
        f"{Q1.text}\n— Essay <b>one</b>, ¶ 3\n\n{Q2.text}\n— Essay <b>one</b>, ¶ 3\n\n"
        f"{Q3.text}\n— Essay <b>one</b>, ¶ 3"
    )
    assert "\\[" not in copied and "#cite" not in copied and "&" not in copied


def test_sources_line_names_title_and_paragraph_not_characters():
    line = parse(answer_html(ANSWER, 4, DOCS)).find("rag-srcline")
    assert line.text() == "Sources: Essay <b>one</b>: [1]\xa0¶ 3, [2]\xa0¶ 3, [3]\xa0¶ 3"
    assert [b.attrs["data-cite"] for b in line.find_all("rag-src")] == ["4-q-1", "4-q-2", "4-q-3"]


def test_places_are_paragraphs_and_pages():
    assert place(DOC, Q1.start) == "¶ 3"
    assert place(DOC, 0, len(DOC.text)) == "¶ 1–4"
    paged = doc_of("p", "P", "One.\n\nTwo.\n\nThree.", pages=(0, 6))
    assert place(paged, paged.text.index("Three")) == "p. 2, ¶ 3"
    assert place(paged, 0, len(paged.text)) == "pp. 1–2, ¶ 1–3"  # a span over a page break


def test_a_broad_answer_groups_quotations_under_each_document_in_corpus_order():
    q_other = quote(1, OTHER, "Other essay text that is quoted here.")
    q_doc = quote(2, DOC, "He was worried.")
    broad = Answer("Summarise both", "…", False, (q_other, q_doc), (), form="broad")
    tree = parse(answer_html(broad, 2, DOCS))
    groups = tree.find_all("rag-group")
    assert [g.find("rag-group-title").text() for g in groups] == [DOC.title, OTHER.title]
    assert [g.find("rag-qt").text() for g in groups] == [q_doc.text, q_other.text]
    assert copy_text(broad, DOCS).startswith(q_doc.text)


def test_an_abstention_is_one_line_and_related_reading():
    answer = Answer("q", "The documents don't address this.", True, (), (PASSAGE,))
    tree = parse(answer_html(answer, 4, DOCS))
    assert tree.find("rag-abstain").text() == "The documents don't address this."
    related = tree.find("rag-related")
    assert "not an answer" in related.text() and related.find("rag-src").attrs["data-cite"] == "4-p-1"
    assert not tree.find_all("rag-copy") and not tree.find_all("rag-quote")


def test_a_placeholder_has_no_copy_button_and_no_citations():
    tree = parse(pending_html(3, "Who?"))
    assert "Searching" in tree.text() and not tree.find_all("rag-copy") and not tree.find_all("rag-cite")


def test_a_rewrite_is_explained_in_plain_words():
    titles = {d: doc.title for d, doc in DOCS.items()}
    assert explain(Rewrite("Who is Kofman?", "Who is Kofman?"), titles) == ""
    he = Rewrite(
        "What did he say?",
        "What did he say? Michael Kofman",
        True,
        ("a pronoun with no name to refer to",),
        context=("Michael", "Kofman"),
        speaker="Michael Kofman",
    )
    assert explain(he, titles).startswith("“he” read as Michael Kofman, from your previous question.")
    other = Rewrite("And the other essay?", "Kofman", True, ("asks about the other document",), ("e",))
    assert "only “Essay two” was searched" in explain(other, titles)
    nxt = Rewrite(
        "What did he say next?", "q", True, ("asks what comes next",), (), Position("d", 5), speaker="Michael Kofman"
    )
    assert explain(nxt, titles) == (
        "Reading on in “Essay <b>one</b>” after quotation [1] of the previous answer, "
        "for the next words of Michael Kofman (“he”)."
    )
    why = Rewrite("Why?", "Why? Kofman", True, ("no topic of its own",), context=("Kofman",))
    assert explain(why, titles) == (
        "Your question leans on the previous one, so that one’s topic was added. Searched for “Why? Kofman”."
    )


# ---------------------------------------------------------------- the panels


def test_one_source_card_per_passage_with_every_quoted_span_numbered():
    tree = parse(panels.sources_panel(ANSWER, 4, "Who?", DOCS))
    cards = tree.find_all("rag-card")
    assert len(cards) == 1  # three quotations from one passage: one card, not three copies
    marks = cards[0].find_all(tag="mark")
    assert [m.text() for m in marks] == [Q1.text, Q2.text, Q3.text]
    assert [m.attrs["data-cite"] for m in marks] == ["4-q-1", "4-q-2", "4-q-3"]
    assert [s.text() for s in cards[0].find_all(tag="sup")] == ["[1]", "[2]", "[3]"]
    assert cards[0].find("rag-loc").text() == "¶ 3"
    # Quotations from two places make two cards.
    far = quote(4, OTHER, "Other essay text that is quoted here.")
    two = parse(panels.sources_panel(Answer("q", "…", False, (Q1, far), (PASSAGE,)), 5, "q", DOCS))
    assert len(two.find_all("rag-card")) == 2


def test_the_viewer_marks_all_of_its_answers_quotations_and_the_clicked_one():
    tree = parse(panels.document_panel(DOC, ANSWER, 4, quote_n=2))
    panel = tree.find("rag-panel")
    assert panel.attrs["data-key"] == "4-q-2" and panel.attrs["data-turn"] == "4"
    assert tree.find("rag-doc").text().replace("[1]", "").replace("[2]", "").replace("[3]", "") == DOC.text
    assert [m.text() for m in tree.find_all("rag-m")] == [Q1.text, Q2.text, Q3.text]
    assert tree.find("rag-current").text() == Q2.text
    assert tree.find("rag-allsrc").attrs["data-cite"] == "4-s-0"
    assert tree.find("rag-back").attrs.get("data-close") == ""
    whole = parse(panels.document_panel(OTHER))
    assert whole.find("rag-doc").text() == OTHER.text and not whole.find_all(tag="mark")


def test_the_inspector_keeps_character_offsets():
    page = panels.inspector_html({"fusion": [PASSAGE], "bm25": [PASSAGE]}, ANSWER, "fusion", {"bm25": "by words"})
    tree = parse(page)
    assert [th.text() for th in tree.find_all(tag="th")][:3] == ["rank", "fusion (used)", "bm25by words"]
    assert f"{PASSAGE.chunk.start}–{PASSAGE.chunk.end}" in tree.text()
