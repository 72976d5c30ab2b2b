"""Lexical retrieval: BM25 over chunks (rag.index.lexical)."""

from __future__ import annotations

from rag.embed.base import Embedder
from rag.index.load import Index
from rag.retrieval.base import hits_from, register
from rag.types import Hit


@register("bm25", "by exact words: BM25 over stemmed words")
class BM25Retriever:
    name = "bm25"

    def __init__(self, index: Index, embedder: Embedder | None = None):
        self.index = index

    def search(self, query: str, k: int, form=None) -> list[Hit]:
        ids, scores = self.index.bm25.search(query, k)
        return hits_from(self.index, ids, scores, self.name)
