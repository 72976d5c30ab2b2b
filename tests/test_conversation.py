"""Follow-up questions become standalone queries: the rules, then the real index."""

from __future__ import annotations

import pytest

from rag.answer import continuation
from rag.answer.followup import (
    NEXT,
    NO_TOPIC,
    OTHER,
    PRONOUN,
    REPLY,
    followup_reasons,
    names,
    normalise_content,
    resolve_turns,
    rewrite,
    standalone_query,
    turn_from_answer,
)
from rag.types import Document, Position, Turn

OFFRAMP = "putin-needs-an-off-ramp"
ZELENSKY = "to-support-zelensky-the-us-needs-to-negotiate-with-putin"
DOCS = (OFFRAMP, ZELENSKY)


@pytest.mark.unit
def test_a_standalone_question_is_searched_as_asked():
    assert standalone_query("Who is Michael Kofman?", ["What is the off-ramp?"]) == "Who is Michael Kofman?"
    assert rewrite("Who is Michael Kofman?", []).followup is False
    # No history: even a follow-up-looking question has nothing to lean on.
    assert standalone_query("Why?", []) == "Why?"


@pytest.mark.unit
def test_a_full_question_that_opens_like_a_reply_is_not_rewritten():
    """The issue's misfire: "Why does the author ..." after an unrelated turn got its words appended."""
    after = ["How many tanks did Russia lose in 2023?"]
    for question in (
        "Why does the author think the West needs to offer Putin an off-ramp?",
        "And why does the author say Putin might escalate the war?",
        "In what way is Moscow being squeezed economically?",
        "What might come next if Putin's regime falls?",
        "How serious is the danger that the war turns nuclear?",
        "What is the second essay's main argument?",
    ):
        assert followup_reasons(question) == (), question
        assert standalone_query(question, after) == question


@pytest.mark.unit
def test_followups_are_detected_for_the_documented_reasons():
    assert PRONOUN in followup_reasons("What did he say?")
    assert NO_TOPIC in followup_reasons("Why?")
    assert OTHER in followup_reasons("And the other essay?")
    assert NEXT in followup_reasons("What did he say next?")
    assert NEXT in followup_reasons("Go on")
    assert REPLY in followup_reasons("What about sanctions?")
    assert REPLY in followup_reasons("And Zelensky?")
    assert PRONOUN in followup_reasons("Is that true?")
    # A name anchors the pronoun; a full question is not short.
    assert followup_reasons("What did Kofman say about it?") == ()
    assert followup_reasons("Which Cold War confrontation is the yardstick for nuclear danger?") == ()


@pytest.mark.unit
def test_names_are_runs_of_capitalised_topic_words():
    assert names("Who is Michael Kofman?") == ["Michael Kofman"]
    assert names("Why does the West need to offer Putin's regime an off-ramp?") == ["West", "Putin"]
    assert names("what did he say?") == []


@pytest.mark.unit
def test_followup_borrows_the_previous_topic():
    assert standalone_query("What did he say?", ["Who is Michael Kofman?"]) == "What did he say? Michael Kofman"
    assert (
        standalone_query("Why?", ["Does the West need to offer Putin an off-ramp?"])
        == "Why? West need offer Putin off-ramp"
    )
    assert rewrite("What did he say?", ["Who is Michael Kofman?"]).speaker == "Michael Kofman"


@pytest.mark.unit
def test_a_chain_of_followups_keeps_the_topic_without_growing():
    history = ["Who is Michael Kofman?", "What did he say?", "Why?"]
    turns = resolve_turns(history)
    assert [t.query for t in turns] == [
        "Who is Michael Kofman?",
        "What did he say? Michael Kofman",
        "Why? Michael Kofman",
    ]
    assert standalone_query("And then?", history) == "then? Michael Kofman"


@pytest.mark.unit
def test_the_other_essay_scopes_the_search_to_the_uncited_document():
    last = Turn("What does the author say about sanctions relief?", doc_ids=(ZELENSKY,))
    rw = rewrite("And the other essay?", [last], DOCS)
    assert rw.followup and rw.doc_ids == (OFFRAMP,)
    assert rw.query == "sanctions relief"
    # Its own topic is not mixed with the previous one.
    rw = rewrite("What does the other essay say about NATO?", [last], DOCS)
    assert rw.doc_ids == (OFFRAMP,) and "sanctions" not in rw.query and "NATO" in rw.query
    # Without knowing what was cited there is nothing to tell apart: no scope.
    assert rewrite("And the other essay?", ["What about sanctions relief?"], DOCS).doc_ids == ()


@pytest.mark.unit
def test_the_other_essay_knows_when_it_never_mentions_the_topic():
    docs = {
        "a": Document("a", "A", "Kofman said so.", "a.txt", "0" * 64),
        "b": Document("b", "B", "Nothing about him here.", "b.txt", "1" * 64),
    }
    last = Turn("Who is Michael Kofman?", "Who is Michael Kofman?", doc_ids=("a",))
    assert rewrite("And the other essay?", [last], docs).unmentioned == ("Michael Kofman",)
    docs["b"] = Document("b", "B", "And KOFMAN’s view, too.", "b.txt", "1" * 64)
    assert rewrite("And the other essay?", [last], docs).unmentioned == ()
    # With ids only, nothing can be checked and nothing is claimed.
    assert rewrite("And the other essay?", [last], ("a", "b")).unmentioned == ()


@pytest.mark.unit
def test_what_next_reads_on_after_the_first_quotation():
    shown = ((OFFRAMP, 6139, 6329), (OFFRAMP, 6381, 6460))
    last = Turn("Who is Michael Kofman?", doc_ids=(OFFRAMP,), end=Position(OFFRAMP, 6329), shown=shown)
    rw = rewrite("What did he say next?", [last], DOCS)
    assert rw.after == Position(OFFRAMP, 6329) and rw.doc_ids == () and rw.skip == shown
    assert rw.speaker == "Michael Kofman"
    assert rewrite("What happens next?", [last], DOCS).speaker == ""
    assert rewrite("What did Kofman say next?", [Turn("Who is the CNA?", end=Position(OFFRAMP, 1))]).speaker == "Kofman"


@pytest.mark.unit
def test_history_content_from_browser_and_from_gradio_client_reads_the_same():
    browser = [
        {"role": "user", "content": [{"type": "text", "text": "Who is Michael Kofman?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "“...” [1]"}]},
    ]
    client = [{"role": "user", "content": "Who is Michael Kofman?"}, {"role": "assistant", "content": "“...” [1]"}]
    assert (
        standalone_query("What did he say?", browser)
        == standalone_query("What did he say?", client)
        == "What did he say? Michael Kofman"
    )
    assert normalise_content([{"type": "text", "text": "a"}, {"type": "file", "file": {}}, "b"]) == "a\nb"
    assert normalise_content(None) == ""


@pytest.mark.unit
def test_rewriting_is_deterministic():
    history = ["Who is Michael Kofman?", "And the other essay?"]
    assert len({rewrite("Why?", history, DOCS) for _ in range(5)}) == 1


# ------------------------------------------------------------ attribution

SPEECH = Document(
    "s",
    "Speech",
    (
        "Jane Roe studies ports. “Ships are late,” Roe said. “Costs will rise.”\n\n"
        "The author disagrees. “Nonsense,” he said. Roe warned that prices would fall.\n\n"
        "“Not so,” said Bill Poe. “Wrong again,” he said.\n\n"
        "“A fresh quotation from nobody.”"
    ),
    "s.txt",
    "2" * 64,
)


def _sentences(doc):
    from rag.ingest.sentences import split_sentences

    return split_sentences(doc.text)


@pytest.mark.unit
def test_attribution_follows_the_speaker_through_quotations_and_pronouns():
    sentences = _sentences(SPEECH)
    said = [
        SPEECH.text[s:e] for (s, e), ok in zip(sentences, continuation.attributed(SPEECH, sentences, "Jane Roe")) if ok
    ]
    # Named with a verb of saying, a quotation carrying on hers in the same
    # paragraph, and named as the subject; never another speaker's words, nor
    # "he said" after the author, nor a quotation in a later paragraph.
    assert said == [
        "Jane Roe studies ports.",
        "“Ships are late,” Roe said.",
        "“Costs will rise.”",
        "Roe warned that prices would fall.",
    ]


@pytest.mark.unit
def test_read_on_is_in_document_order_and_passes_over_what_was_shown():
    sentences = _sentences(SPEECH)
    shown = SPEECH.text.index("“Costs")
    spans = continuation.read_on(SPEECH, sentences, 0, "Roe", skip=(("s", shown, shown + 18),))
    assert [SPEECH.text[s:e] for s, e in spans] == [
        "Jane Roe studies ports.",
        "“Ships are late,” Roe said.",
        "Roe warned that prices would fall.",
    ]
    after_all = SPEECH.text.index("Roe warned") + 5
    assert continuation.read_on(SPEECH, sentences, after_all, "Roe") == []
    assert [SPEECH.text[s:e] for s, e in continuation.read_on(SPEECH, sentences, after_all, "", limit=2)] == [
        "“Not so,” said Bill Poe.",
        "“Wrong again,” he said.",
    ]


# ------------------------------------------------------------- real index


def test_followup_finds_the_passage_through_the_api(essays_rag):
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    follow = essays_rag.ask_in_conversation("What did he say?", [turn_from_answer(first)])
    assert follow.question == "What did he say?"
    assert "Kofman" in follow.query
    assert "Kofman" in follow.passages[0].chunk.text


def test_the_other_essay_that_never_mentions_him_says_so(essays_rag):
    """The issue's misfire: page furniture was quoted as the answer about Kofman from the other essay."""
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    assert first.quotes[0].doc_id == OFFRAMP
    other = essays_rag.ask_in_conversation("And the other essay?", [turn_from_answer(first)])
    title = essays_rag.index.title(ZELENSKY)
    assert other.abstained and other.quotes == ()
    assert other.text == f"“{title}” does not mention Michael Kofman."
    # The nearest passages come along as related reading, from that essay only.
    assert other.passages and {h.chunk.doc_id for h in other.passages} == {ZELENSKY}
    assert [h.rank for h in other.passages] == list(range(1, len(other.passages) + 1))


def test_the_other_essay_is_searched_alone_when_it_has_the_topic(essays_rag):
    # Both essays weigh concessions: "the other essay" has the topic.
    first = essays_rag.ask_in_conversation("What concessions might Ukraine have to make?")
    cited = first.quotes[0].doc_id
    other = essays_rag.ask_in_conversation("And the other essay?", [turn_from_answer(first)])
    assert not other.abstained and other.quotes
    texts = essays_rag.index.documents
    for q in other.quotes:
        assert q.doc_id != cited and texts[q.doc_id].text[q.start : q.end] == q.text
    assert cited not in {h.chunk.doc_id for h in other.passages}


def test_what_did_he_say_next_gives_his_next_words_in_order(essays_rag):
    """The issue's misfire: the author's own sentences, out of order, from the last paragraph."""
    first = essays_rag.ask_in_conversation("Who is Michael Kofman?")
    history = [turn_from_answer(first)]
    nxt = essays_rag.ask_in_conversation("What did he say next?", history)
    doc = essays_rag.index.documents[OFFRAMP]
    assert nxt.quotes and not nxt.abstained
    starts = [q.start for q in nxt.quotes]
    assert starts == sorted(starts) and starts[0] > first.quotes[0].start
    shown = {(q.start, q.end) for q in first.quotes}
    assert not shown & {(q.start, q.end) for q in nxt.quotes}  # nothing shown twice
    # His next words not yet shown: how far the first answer's quotations ran decides which.
    said = (
        "“I’m not saying it’s going to be replaced by something better,” he said",
        "“If you don’t like the authoritarian system now",
    )
    unshown = [doc.text.index(s) for s in said if not any(a <= doc.text.index(s) < b for a, b in shown)]
    assert unshown and nxt.quotes[0].start == unshown[0]
    assert all(doc.text[q.start : q.end] == q.text for q in nxt.quotes)
    # Reading on again and again ends by saying there is nothing more.
    for _ in range(4):
        history.append(turn_from_answer(nxt))
        nxt = essays_rag.ask_in_conversation("What did he say next?", history)
        if nxt.abstained:
            break
        assert all("Kofman" in q.text or q.text.startswith("“") for q in nxt.quotes)
    assert nxt.abstained and nxt.text == f"“{doc.title}” has nothing more from Michael Kofman after that."
