"""The page's behaviour without the page: streamed views, citations, turns."""

from __future__ import annotations

import re

from rag.chat.session import messages_for, open_citation, respond


def text_of(message) -> str:
    return "".join(part["text"] for part in message["content"])


def test_the_answer_streams_and_ends_complete(essays_rag):
    views = list(respond(essays_rag, "Who is Michael Kofman?"))
    assert len(views) >= 3 and not views[0].done and views[-1].done
    assert [v.done for v in views].count(True) == 1
    bubbles = [text_of(v.messages[-1]) for v in views[1:]]
    assert len(set(bubbles)) == len(bubbles)  # each step shows more
    final = views[-1]
    assert final.messages == messages_for(final.turns)
    assert final.record["citations"] and final.turns[-1].id == 1


def test_citations_resolve_while_the_answer_is_still_streaming(essays_rag):
    """A [n] link is clickable as soon as it is shown, not only once the stream ends."""
    checked = 0
    for view in respond(essays_rag, "Who is Michael Kofman?"):
        for key in re.findall(r"\(#cite-([\w-]+)\)", text_of(view.messages[-1])):
            page = open_citation(essays_rag, key, view.turns)
            assert "<mark>" in page, key
            checked += 1
    assert checked


def test_citation_keys_point_at_the_right_span(essays_rag):
    final = list(respond(essays_rag, "Who is Michael Kofman?"))[-1]
    for q in final.turns[-1].answer.quotes:
        page = open_citation(essays_rag, f"1-q-{q.n}", final.turns)
        assert f"characters {q.start}–{q.end}" in page
    assert "Click a citation" in open_citation(essays_rag, "9-q-1", final.turns)  # no such turn
    assert "Click a citation" in open_citation(essays_rag, "nonsense", final.turns)
    assert "Putin Needs an Off-Ramp" in open_citation(essays_rag, "doc-putin-needs-an-off-ramp", ())


def test_turns_accumulate_and_followups_use_them(essays_rag):
    first = list(respond(essays_rag, "Who is Michael Kofman?"))[-1]
    second = list(respond(essays_rag, "What did he say?", first.turns))[-1]
    assert [t.id for t in second.turns] == [1, 2]
    assert second.record["followup"] and "Kofman" in second.record["searched_query"]
    assert len(second.messages) == 4


def test_an_empty_question_is_answered_with_a_message(essays_rag):
    views = list(respond(essays_rag, "  \n "))
    assert len(views) == 1 and views[0].turns == () and "empty" in text_of(views[0].messages[-1])
