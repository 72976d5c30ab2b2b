"""What the page says in words, without a browser: what "Search in" means, the
time left while documents are added, and the note for a question in another
language."""

from __future__ import annotations

import pytest

from rag.chat.documents_panel import Estimate, _ticks, scope_note
from rag.chat.language import language_note, language_of
from rag.index.library import Entry

pytestmark = pytest.mark.unit


def _rows(*ids: str) -> list:
    return [Entry(doc_id=d, title=d.title(), kind="text", pages=None, paragraphs=1, added_at="", file="") for d in ids]


def test_search_in_never_reads_as_search_nothing():
    rows = _rows("one", "two", "three")
    assert "All 3 documents are searched." in scope_note(rows, ["one", "two", "three"])
    assert "None ticked: all 3 documents are searched." in scope_note(rows, [])
    assert "Searching 1 of 3: Two." in scope_note(rows, ["two"])
    # After adding or removing: nothing kept ticked, or everything, ticks every document.
    assert _ticks(rows, []) == ["one", "two", "three"]
    assert _ticks(rows, ["one", "two", "three", "gone"]) == ["one", "two", "three"]
    assert _ticks(rows, ["two"]) == ["two"]


def test_the_time_left_is_said_at_the_pace_so_far():
    assert Estimate.line("Embedding sentences", 0, 20, 3.0) == "Embedding sentences: 0 of 20, estimating the time left…"
    assert Estimate.line("Embedding sentences", 5, 20, 10.0) == "Embedding sentences: 5 of 20, about 30 s left"
    assert Estimate.line("Embedding sentences", 2, 20, 60.0) == "Embedding sentences: 2 of 20, about 9 min left"


@pytest.mark.parametrize(
    "question, language",
    [
        ("Qui est Michael Kofman ?", "French"),
        ("Pourquoi les États-Unis devraient-ils négocier avec Poutine ?", "French"),
        ("Wer ist Michael Kofman und was sagt er?", "German"),
        ("¿Por qué Estados Unidos debería negociar con Putin?", "Spanish"),
    ],
)
def test_a_question_in_another_language_is_named(question, language):
    note = language_note(question, "English")
    assert note.startswith(f"your question looks {language}, and the documents are in English")


@pytest.mark.parametrize(
    "question",
    [
        "Who is Michael Kofman?",
        "What does de Gaulle say in the essay?",
        "Did the author mention la guerre?",
        "Putin",
        "What is the main argument of each essay?",
    ],
)
def test_english_questions_and_borrowed_words_get_no_note(question):
    assert language_note(question, "English") == ""


def test_the_documents_language_is_found_from_their_small_words():
    assert language_of(["The war in Ukraine is not over, and the West has to decide what it wants."]) == "English"
    assert language_of(["La guerre n'est pas finie et l'Occident doit décider de ce qu'il veut."]) == "French"
    assert language_of(["1234 5678"]) is None
