"""Retrieval narrowed to some essays, or read on from a position.

These wrap the existing retrievers rather than change them: a scoped search
ranks every chunk and keeps those in the allowed essays, which is exact (the
same order the retriever would give inside that essay) and cheap at the size
of a corpus of essays.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from rag.index.load import Index
from rag.retrieval.base import Retriever
from rag.types import Hit, Position


def _renumber(hits: list[Hit]) -> list[Hit]:
    return [replace(h, rank=rank) for rank, h in enumerate(hits, start=1)]


def search_in_documents(retriever: Retriever, index: Index, query: str, k: int, doc_ids: Sequence[str]) -> list[Hit]:
    """The top ``k`` hits whose chunk lies in one of ``doc_ids``, ranked 1..k."""
    allowed = set(doc_ids)
    if not allowed:
        return retriever.search(query, k)
    hits = retriever.search(query, len(index.chunks))
    return _renumber([h for h in hits if h.chunk.doc_id in allowed][:k])


def read_on(retriever: Retriever, index: Index, query: str, k: int, after: Position) -> list[Hit]:
    """The chunks that follow ``after`` in reading order, for "what next?".

    Scores still come from the retriever (so the page can show them), but the
    order is the essay's own: what comes next is a matter of position, not of
    similarity to the earlier question.
    """
    hits = retriever.search(query, len(index.chunks))
    later = [
        h
        for h in hits
        if h.chunk.doc_id == after.doc_id
        and h.chunk.end > after.offset
        and h.chunk.start >= _chunk_start_containing(index, after)
    ]
    later.sort(key=lambda h: h.chunk.start)
    return _renumber(later[:k])


def _chunk_start_containing(index: Index, at: Position) -> int:
    """Start of the chunk the position lies in, so the rest of its sentence is kept."""
    starts = [c.start for c in index.chunks if c.doc_id == at.doc_id and c.start < at.offset <= c.end]
    return max(starts) if starts else at.offset
