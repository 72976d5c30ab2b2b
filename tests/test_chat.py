"""The page's behaviour without the page: streamed views, citations, turns, settings, restoring."""

from __future__ import annotations

import copy
import json

import pytest

from rag.chat.restore import CHANGED, UNSIGNED, new_key, restore, saved_state, signature
from rag.chat.session import finished_view, open_citation, reask, respond
from tests.html_tree import parse

KEY = new_key()


@pytest.fixture(scope="module")
def kofman(essays_rag):
    return list(respond(essays_rag, "Who is Michael Kofman?"))


def test_the_question_shows_at_once_and_the_answer_comes_whole(kofman):
    # Two views: the server no longer paces pieces (a pause held a worker); the page reveals it.
    views = kofman
    assert len(views) == 2 and not views[0].done and views[-1].done
    final = views[-1]
    assert final.record["citations"] and final.turns[-1].id == 1 and final.asking == ""
    assert views[0].asking == "Who is Michael Kofman?"
    # While it is looked for: the question and a placeholder, no copy button, no number to click yet.
    first = parse(views[0].conversation)
    assert first.find("rag-pending").find("rag-q").text().endswith("Who is Michael Kofman?")
    assert not first.find_all("rag-copy") and not first.find_all("rag-cite")
    done = parse(final.conversation)
    assert not done.find_all("rag-pending") and len(done.find_all("rag-copy")) == 1
    # Only a just-answered turn is marked for the page to reveal.
    assert [t.attrs["class"] for t in done.find_all("rag-turn")] == ["rag-turn rag-fresh"]


def test_a_question_in_another_language_gets_a_note(essays_rag):
    french = list(respond(essays_rag, "Pourquoi les États-Unis devraient-ils négocier avec Poutine ?"))[-1]
    assert "looks French, and the documents are in English" in french.conversation
    assert any("French" in n for n in french.record["notes"])
    english = list(respond(essays_rag, "Why should the United States negotiate with Putin?"))[-1]
    assert "documents are in English" not in english.conversation


def test_the_sources_panel_belongs_to_the_newest_answer(essays_rag, kofman):
    first = kofman[-1]
    assert parse(first.panel).find("rag-panel").attrs["data-turn"] == "1"
    second = list(respond(essays_rag, "Why should the United States negotiate with Putin?", first.turns))
    # While the new answer is looked for, the old answer's sources are gone.
    assert parse(second[0].panel).find("rag-panel").attrs["data-turn"] == ""
    assert parse(second[-1].panel).find("rag-panel").attrs["data-turn"] == "2"


def test_citation_keys_open_the_right_span(essays_rag, kofman):
    final = kofman[-1]
    docs = essays_rag.index.documents
    for q in final.turns[-1].answer.quotes:
        panel = parse(open_citation(essays_rag, f"1-q-{q.n}", final.turns))
        assert panel.find("rag-current").text() == docs[q.doc_id].text[q.start : q.end]
        assert panel.find("rag-panel").attrs["data-key"] == f"1-q-{q.n}"
    assert parse(open_citation(essays_rag, "1-s-0", final.turns)).find_all("rag-card")
    for bad in ("9-q-1", "nonsense", "1-q-x", "1-z-1", "", "doc-nope", "1-q-" + "9" * 5000):
        assert parse(open_citation(essays_rag, bad, final.turns)).find("rag-panel").attrs["data-mode"] == "empty"
    assert "Putin Needs an Off-Ramp" in open_citation(essays_rag, "doc-putin-needs-an-off-ramp", ())


def test_turns_accumulate_and_followups_use_them(essays_rag, kofman):
    second = list(respond(essays_rag, "What did he say?", kofman[-1].turns))[-1]
    assert [t.id for t in second.turns] == [1, 2]
    assert second.record["followup"] and "Kofman" in second.record["searched_query"]
    tree = parse(second.conversation)
    assert len(tree.find_all("rag-turn")) == 2
    assert tree.find_all("rag-searched")[-1].text().startswith("“he” read as Michael Kofman")


def test_an_empty_question_changes_nothing_but_the_status(essays_rag, kofman):
    for empty in ("", "  \n ", None):
        views = list(respond(essays_rag, empty, kofman[-1].turns))
        assert len(views) == 1 and views[0].turns == kofman[-1].turns
        # The same turns; only the mark of a just-arrived answer is gone (nothing to reveal again).
        assert views[0].conversation == kofman[-1].conversation.replace(" rag-fresh", "")
        assert views[0].status.startswith("Nothing to ask: the question is empty.")


def test_a_new_setting_asks_the_last_question_again(essays_rag, kofman):
    views = list(reask(essays_rag, kofman[-1].turns, k=3, retriever="bm25"))
    final = views[-1]
    assert len(final.turns) == 1 and final.turns[0].retriever == "bm25" and final.turns[0].k == 3
    assert final.turns[0].id == 2  # a fresh id: the replaced answer's citations open nothing
    assert final.record["retriever"] == "bm25" and len(final.record["passages"]) >= 3
    assert parse(final.conversation).find("rag-q").text().endswith("Who is Michael Kofman?")
    assert list(reask(essays_rag, ()))[-1].turns == ()


# ---------------------------------------------------------------- restoring


def test_the_conversation_is_rebuilt_from_what_the_browser_keeps(essays_rag, kofman):
    turns = list(respond(essays_rag, "What did he say next?", kofman[-1].turns))[-1].turns
    saved = json.loads(json.dumps(saved_state(turns, KEY)))  # what survives the browser: JSON
    back, problem = restore(essays_rag, saved, KEY)
    assert problem == "" and [t.id for t in back] == [1, 2]
    for old, new in zip(turns, back):
        assert new.answer.quotes == old.answer.quotes and new.rewrite == old.rewrite
        assert [h.chunk for h in new.answer.passages] == [h.chunk for h in old.answer.passages]
    assert finished_view(essays_rag, back).conversation == finished_view(essays_rag, turns).conversation
    assert back[-1].rankings  # the inspector's rankings are searched again
    assert restore(essays_rag, None, KEY) == ((), "") and restore(essays_rag, {}, KEY) == ((), "")


def _resigned(saved: dict) -> dict:
    for item in saved["turns"]:
        item["sig"] = signature(item, KEY)
    return saved


def test_an_edited_store_is_refused(essays_rag, kofman):
    """Anyone can edit their browser's storage: an edit breaks the signature, and a
    signed record that no longer matches the documents fails the checks."""
    good = saved_state(kofman[-1].turns, KEY)
    doc = essays_rag.index.documents[good["turns"][0]["quotes"][0][0]]
    moved = copy.deepcopy(good)
    moved["turns"][0]["quotes"][0][1] += 1
    assert restore(essays_rag, moved, KEY) == ((), UNSIGNED)
    assert restore(essays_rag, good, new_key()) == ((), UNSIGNED)  # another run of the server
    edits = {
        "offsets past the end": lambda t: t["quotes"][0].__setitem__(2, len(doc.text) + 5),
        "a span that cuts a word": lambda t: t["quotes"][0].__setitem__(2, t["quotes"][0][2] - 2),
        "an unknown document": lambda t: t["quotes"][0].__setitem__(0, "../../etc/passwd"),
        "a chunk that does not exist": lambda t: t["passages"][0].__setitem__(0, 10**6),
        "a string for a number": lambda t: t["quotes"][0].__setitem__(1, "12"),
        "a huge question": lambda t: t.__setitem__("q", "x" * 10**6),
        "a boolean id": lambda t: t.__setitem__("id", True),
        "an unknown retriever's passage": lambda t: t["passages"][0].__setitem__(2, "evil"),
    }
    for name, edit in edits.items():
        bad = copy.deepcopy(good)
        edit(bad["turns"][0])
        assert restore(essays_rag, _resigned(bad), KEY) == ((), CHANGED), name
    for junk in ("x", 5, [1, 2], {"v": 99, "turns": []}, {"v": 1, "turns": "no"}, {"v": 1, "turns": [None]}):
        assert restore(essays_rag, junk, KEY)[0] == (), junk
    # Markup in a stored question is shown as text.
    marked = copy.deepcopy(good)
    marked["turns"][0]["q"] = "<img src=x onerror=alert(1)> Who is Michael Kofman?"
    turns, problem = restore(essays_rag, _resigned(marked), KEY)
    assert problem == "" and "<img" not in finished_view(essays_rag, turns).conversation


def test_a_broken_turn_keeps_the_ones_before_it(essays_rag, kofman):
    turns = list(respond(essays_rag, "What did he say?", kofman[-1].turns))[-1].turns
    saved = saved_state(turns, KEY)
    saved["turns"][1]["quotes"] = [["putin-needs-an-off-ramp", 0, 10**7]]
    back, problem = restore(essays_rag, _resigned(saved), KEY)
    assert [t.id for t in back] == [1] and problem == CHANGED
