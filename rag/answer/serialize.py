"""The stable JSON shape of an answer, shared by the CLI and other tools."""

from __future__ import annotations

from typing import Any, Mapping

from rag.answer.question import clean_question
from rag.errors import QuestionError
from rag.ingest.layout import location
from rag.types import Answer, Document


def _asked(question: str) -> str:
    """The question as it was searched: cleaned and cut (the notes say how), never
    the raw text, which may hold escape sequences and run to megabytes."""
    try:
        return clean_question(question)[0]
    except QuestionError:
        return ""


def answer_to_dict(answer: Answer, documents: Mapping[str, Document] | None = None) -> dict:
    """The answer as `rag ask --json` prints it. With ``documents`` (the
    index's), each citation also says where it is, for people: its
    ``paragraph`` (from 1), ``page`` (the printed page label where it starts;
    PDF only, else None), ``page_end`` (where it ends, when on another page,
    else None) and ``headings`` (the headings above it, outermost first)."""
    data: dict[str, Any] = {
        "question": _asked(answer.question),
        "answer": answer.text,
        "abstained": answer.abstained,
        "form": answer.form,
        "caution": answer.caution,
        "citations": [
            {"n": q.n, "doc_id": q.doc_id, "title": q.title, "start": q.start, "end": q.end, "quote": q.text}
            for q in answer.quotes
        ],
        "passages": [
            {
                "doc_id": h.chunk.doc_id,
                "title": h.title,
                "start": h.chunk.start,
                "end": h.chunk.end,
                "score": round(h.score, 6),
                "text": h.chunk.text,
            }
            for h in answer.passages
        ],
    }
    if documents is not None:
        for citation, q in zip(data["citations"], answer.quotes):
            place = location(documents[q.doc_id], q.start, end=q.end)
            citation.update(
                paragraph=place.paragraph, page=place.page, page_end=place.last_page, headings=list(place.headings)
            )
    return data
