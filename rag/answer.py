"""Turn retrieved passages into an answer made only of verbatim quotations."""

from __future__ import annotations

from rag.store import Index
from rag.types import Answer, Hit, Quote

ABSTAIN_TEXT = "The essays don't address this."
MAX_QUOTES = 3


def verify_quote(index: Index, quote: Quote) -> Quote:
    """Refuse to hand out a quotation that is not the source text at its offsets."""
    doc = index.documents.get(quote.doc_id)
    if doc is None or doc.text[quote.start : quote.end] != quote.text or not quote.text:
        raise AssertionError(f"quotation [{quote.n}] does not match {quote.doc_id}[{quote.start}:{quote.end}]")
    return quote


def render_answer_text(quotes: tuple[Quote, ...]) -> str:
    """Each quotation in double quotes, then its number and essay."""
    return "\n\n".join(f"“{q.text}” [{q.n}] ({q.title})" for q in quotes)


def answer_from_passages(
    index: Index, question: str, hits: list[Hit], max_quotes: int = MAX_QUOTES, **extra
) -> Answer:
    """The simplest honest answer: the best passages, quoted whole."""
    quotes = tuple(
        verify_quote(index, Quote(n, h.chunk.doc_id, index.title(h.chunk.doc_id), h.chunk.start, h.chunk.end, h.chunk.text))
        for n, h in enumerate(hits[:max_quotes], start=1)
    )
    if not quotes:
        return Answer(question, ABSTAIN_TEXT, True, (), tuple(hits), **extra)
    return Answer(question, render_answer_text(quotes), False, quotes, tuple(hits), **extra)
