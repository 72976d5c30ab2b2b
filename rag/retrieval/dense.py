"""Dense retrieval: the query's vector against every chunk's, in FAISS."""

from __future__ import annotations

from rag.embed.base import Embedder
from rag.index import vectors
from rag.index.load import Index
from rag.retrieval.base import hits_from, register
from rag.types import Hit


@register("dense", "by meaning: the question's vector against each passage's")
class DenseRetriever:
    name = "dense"

    def __init__(self, index: Index, embedder: Embedder):
        self.index, self.embedder = index, embedder

    def search(self, query: str, k: int, form=None) -> list[Hit]:
        ids, scores = vectors.search(self.index.vectors, self.embedder.embed_query(query), k)
        return hits_from(self.index, ids, scores, self.name)
