"""Turn retrieved passages into an answer made only of verbatim quotations."""

from __future__ import annotations

from rag.index.load import Index
from rag.types import Answer, Hit, Quote

ABSTAIN_TEXT = "The essays don't address this."
MAX_QUOTES = 3


def verify_quote(index: Index, quote: Quote) -> Quote:
    """Refuse to hand out a quotation that is not the source text at its offsets."""
    doc = index.documents.get(quote.doc_id)
    if doc is None or not quote.text or doc.text[quote.start : quote.end] != quote.text:
        raise AssertionError(f"quotation [{quote.n}] does not match {quote.doc_id}[{quote.start}:{quote.end}]")
    if (quote.start > 0 and doc.text[quote.start - 1].isalnum() and quote.text[0].isalnum()) or (
        quote.end < len(doc.text) and doc.text[quote.end].isalnum() and quote.text[-1].isalnum()
    ):
        raise AssertionError(f"quotation [{quote.n}] cuts a word in {quote.doc_id}")
    return quote


def render_answer_text(quotes: tuple[Quote, ...]) -> str:
    """Each quotation in double quotes, then its number and essay."""
    return "\n\n".join(f"“{q.text}” [{q.n}] ({q.title})" for q in quotes)


def compose(index: Index, question: str, spans, hits: list[Hit], abstain_reason: str | None = None,
            **extra) -> Answer:
    """An answer from (doc_id, start, end) spans, each verified against the source."""
    quotes = tuple(
        verify_quote(index, Quote(n, doc_id, index.title(doc_id), start, end, index.documents[doc_id].text[start:end]))
        for n, (doc_id, start, end) in enumerate(spans, start=1)
    )
    if not quotes:
        notes = tuple(extra.pop("notes", ())) + ((abstain_reason,) if abstain_reason else ())
        return Answer(question, ABSTAIN_TEXT, True, (), tuple(hits), notes=notes, **extra)
    return Answer(question, render_answer_text(quotes), False, quotes, tuple(hits), **extra)


def answer_from_passages(index: Index, question: str, hits: list[Hit], max_quotes: int = MAX_QUOTES,
                         **extra) -> Answer:
    """For indexes without a sentence layer: the best passages, quoted whole."""
    spans = [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits[:max_quotes]]
    return compose(index, question, spans, hits, **extra)
