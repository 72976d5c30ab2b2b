"""Follow-up questions become standalone queries: the rules, then the real index."""

from __future__ import annotations

from rag.types import Position, Turn
from rag.answer.followup import (
    followup_reasons, normalise_content, resolve_turns, rewrite, standalone_query, turn_from_answer,
)

OFFRAMP = "putin-needs-an-off-ramp"
ZELENSKY = "to-support-zelensky-the-us-needs-to-negotiate-with-putin"
DOCS = (OFFRAMP, ZELENSKY)


def test_a_standalone_question_is_searched_as_asked():
    assert standalone_query("Who is Michael Kofman?", ["What is the off-ramp?"]) == "Who is Michael Kofman?"
    assert rewrite("Who is Michael Kofman?", []).followup is False
    # No history: even a follow-up-looking question has nothing to lean on.
    assert standalone_query("Why?", []) == "Why?"


def test_followups_are_detected_for_the_documented_reasons():
    assert "a pronoun with no name to refer to" in followup_reasons("What did he say?")
    assert "a very short question" in followup_reasons("Why?")
    assert "asks about the other essay" in followup_reasons("And the other essay?")
    assert "asks what comes next" in followup_reasons("What did he say next?")
    assert "opens as a reply" in followup_reasons("What about sanctions?")
    # A name anchors the pronoun; a full question is not short.
    assert followup_reasons("What did Kofman say about it?") == ()
    assert followup_reasons("Which Cold War confrontation is the yardstick for nuclear danger?") == ()


def test_followup_borrows_the_previous_topic():
    assert standalone_query("What did he say?", ["Who is Michael Kofman?"]) == "What did he say? Michael Kofman"
    assert standalone_query("Why?", ["Does the West need to offer Putin an off-ramp?"]) == \
        "Why? West need offer Putin off-ramp"


def test_a_chain_of_followups_keeps_the_topic_without_growing():
    history = ["Who is Michael Kofman?", "What did he say?", "Why?"]
    turns = resolve_turns(history)
    assert [t.query for t in turns] == [
        "Who is Michael Kofman?", "What did he say? Michael Kofman", "Why? Michael Kofman",
    ]
    assert standalone_query("And then?", history) == "then? Michael Kofman"


def test_the_other_essay_scopes_the_search_to_the_uncited_document():
    last = Turn("What does the author say about sanctions relief?", doc_ids=(ZELENSKY,))
    rw = rewrite("And the other essay?", [last], DOCS)
    assert rw.followup and rw.doc_ids == (OFFRAMP,)
    assert rw.query == "sanctions relief"
    # Without knowing what was cited there is nothing to tell apart: no scope.
    assert rewrite("And the other essay?", ["What about sanctions relief?"], DOCS).doc_ids == ()


def test_what_next_reads_on_after_the_last_quotation():
    last = Turn("Who is Michael Kofman?", doc_ids=(OFFRAMP,), end=Position(OFFRAMP, 6643))
    rw = rewrite("What did he say next?", [last], DOCS)
    assert rw.after == Position(OFFRAMP, 6643) and rw.doc_ids == ()


def test_history_content_from_browser_and_from_gradio_client_reads_the_same():
    browser = [{"role": "user", "content": [{"type": "text", "text": "Who is Michael Kofman?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "“...” [1]"}]}]
    client = [{"role": "user", "content": "Who is Michael Kofman?"}, {"role": "assistant", "content": "“...” [1]"}]
    assert standalone_query("What did he say?", browser) == standalone_query("What did he say?", client) == \
        "What did he say? Michael Kofman"
    assert normalise_content([{"type": "text", "text": "a"}, {"type": "file", "file": {}}, "b"]) == "a\nb"
    assert normalise_content(None) == ""


def test_rewriting_is_deterministic():
    history = ["Who is Michael Kofman?", "And the other essay?"]
    assert len({rewrite("Why?", history, DOCS) for _ in range(5)}) == 1


# ------------------------------------------------------------- real index


def test_followup_finds_the_passage_through_the_api(essays_rag):
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    follow = essays_rag.ask_in_conversation("What did he say?", [turn_from_answer(first)])
    assert follow.question == "What did he say?"
    assert "Kofman" in follow.query
    assert "Kofman" in follow.passages[0].chunk.text


def test_the_other_essay_only_searches_the_other_document(essays_rag):
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    assert first.quotes[0].doc_id == OFFRAMP
    other = essays_rag.ask_in_conversation("And the other essay?", [turn_from_answer(first)])
    assert other.passages and {h.chunk.doc_id for h in other.passages} == {ZELENSKY}
    assert [h.rank for h in other.passages] == list(range(1, len(other.passages) + 1))
    texts = essays_rag.index.documents
    for q in other.quotes:
        assert q.doc_id == ZELENSKY and texts[q.doc_id].text[q.start : q.end] == q.text


def test_what_next_continues_in_reading_order(essays_rag):
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    memory = turn_from_answer(first)
    nxt = essays_rag.ask_in_conversation("What did he say next?", [memory])
    starts = [h.chunk.start for h in nxt.passages]
    assert starts == sorted(starts) and all(h.chunk.doc_id == memory.end.doc_id for h in nxt.passages)
    assert all(h.chunk.end > memory.end.offset for h in nxt.passages)
