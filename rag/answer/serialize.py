"""The stable JSON shape of an answer, shared by the CLI and other tools."""

from __future__ import annotations

from rag.answer.question import clean_question
from rag.errors import QuestionError
from rag.types import Answer


def _asked(question: str) -> str:
    """The question as it was searched: cleaned and cut (the notes say how), never
    the raw text, which may hold escape sequences and run to megabytes."""
    try:
        return clean_question(question)[0]
    except QuestionError:
        return ""


def answer_to_dict(answer: Answer) -> dict:
    return {
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
