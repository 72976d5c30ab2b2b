"""Turn chosen spans into an answer made only of verbatim quotations."""

from __future__ import annotations

from rag.index.load import Index
from rag.types import Answer, Hit, Quote

MAX_QUOTES = 3  # quotations in a lookup answer; hand-set, not measured (quote_hit counts these 3)


def corpus_name(index: Index) -> str:
    """What was searched, as answers call it: "the selected document(s)" when
    the search was narrowed to some of the index's documents; else the name
    the corpus was indexed under (`rag index --name`; "the essays" for the
    bundled corpus, unless documents were added to it); else "the documents"."""
    listed = index.manifest.get("documents") or {}
    if 0 < len(index.documents) < len(listed):
        return "the selected document" if len(index.documents) == 1 else "the selected documents"
    corpus = index.manifest.get("corpus") or {}
    name = str(corpus.get("name") or "").strip()
    if name == "the essays" and corpus.get("added"):
        return "the documents"
    return name or "the documents"


def abstain_text(index: Index) -> str:
    name = corpus_name(index)
    verb = "doesn't" if name.endswith("document") else "don't"
    return f"{name[:1].upper()}{name[1:]} {verb} address this."


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


def render_answer_text(quotes: tuple[Quote, ...], grouped: bool = False) -> str:
    """Each quotation in double quotes, then its number; grouped answers under each document's title."""
    if not grouped:
        return "\n\n".join(f"“{q.text}” [{q.n}] ({q.title})" for q in quotes)
    blocks: list[str] = []
    for q in quotes:
        if not blocks or quotes[q.n - 2].doc_id != q.doc_id:
            blocks.append(f"{q.title}:")
        blocks.append(f"“{q.text}” [{q.n}]")
    return "\n\n".join(blocks)


def compose(
    index: Index,
    question: str,
    spans,
    hits: list[Hit],
    abstain_reason: str | None = None,
    grouped: bool = False,
    **extra,
) -> Answer:
    """An answer from (doc_id, start, end) spans, each verified against the source."""
    quotes = tuple(
        verify_quote(index, Quote(n, doc_id, index.title(doc_id), start, end, index.documents[doc_id].text[start:end]))
        for n, (doc_id, start, end) in enumerate(spans, start=1)
    )
    if not quotes:
        extra.pop("caution", None)  # nothing is answered, so there is nothing to be unsure of
        notes = tuple(extra.pop("notes", ())) + ((abstain_reason,) if abstain_reason else ())
        return Answer(question, abstain_text(index), True, (), tuple(hits), notes=notes, **extra)
    form = "broad" if grouped else "lookup"
    return Answer(question, render_answer_text(quotes, grouped), False, quotes, tuple(hits), form=form, **extra)


def answer_from_passages(index: Index, question: str, hits: list[Hit], max_quotes: int = MAX_QUOTES, **extra) -> Answer:
    """For indexes without a sentence layer: the best passages, quoted whole."""
    spans = [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits[:max_quotes]]
    return compose(index, question, spans, hits, **extra)


def with_quoted(index: Index, hits: list[Hit], spans, scores) -> list[Hit]:
    """The passages, plus any passage a quotation comes from that was not retrieved."""
    hits = list(hits)
    have = {h.chunk.chunk_id for h in hits}
    layer = index.sentences
    for doc_id, start, end in spans:
        near = (
            [
                layer.sentences[i].chunk_id
                for i in layer.by_doc.get(doc_id, ())
                if layer.sentences[i].start <= start < layer.sentences[i].end
            ]
            if layer is not None
            else []
        )
        around = (
            range(max(0, min(near, default=0) - 2), min(len(index.chunks), max(near, default=-1) + 3))
            if near
            else range(len(index.chunks))
        )
        for chunk in (index.chunks[c] for c in around):
            if chunk.doc_id == doc_id and chunk.start <= start and end <= chunk.end and chunk.chunk_id not in have:
                hits.append(
                    Hit(
                        chunk,
                        float(scores.chunk[chunk.chunk_id]),
                        len(hits) + 1,
                        hits[0].retriever if hits else "fusion",
                        index.title(doc_id),
                    )
                )
                have.add(chunk.chunk_id)
                break
    return hits
