"""Rank chunks for a query: dense (FAISS), lexical (BM25), or both fused."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from rag import vectors
from rag.embed import Embedder
from rag.furniture import asks_for, asks_for_every, ranked_parts
from rag.store import Index
from rag.types import Hit

RETRIEVERS = ("dense", "bm25", "hybrid", "fusion")


class Retriever(Protocol):
    name: str

    def search(self, query: str, k: int) -> list[Hit]: ...


def _hits(index: Index, ids, scores, name: str) -> list[Hit]:
    return [
        Hit(index.chunks[int(i)], float(s), rank, name, index.title(index.chunks[int(i)].doc_id))
        for rank, (i, s) in enumerate(zip(ids, scores), start=1)
    ]


class DenseRetriever:
    name = "dense"

    def __init__(self, index: Index, embedder: Embedder):
        self.index, self.embedder = index, embedder

    def search(self, query: str, k: int) -> list[Hit]:
        ids, scores = vectors.search(self.index.vectors, self.embedder.embed_query(query), k)
        return _hits(self.index, ids, scores, self.name)


class BM25Retriever:
    name = "bm25"

    def __init__(self, index: Index):
        self.index = index

    def search(self, query: str, k: int) -> list[Hit]:
        ids, scores = self.index.bm25.search(query, k)
        return _hits(self.index, ids, scores, self.name)


class HybridRetriever:
    """Reciprocal rank fusion of dense and BM25 rankings.

    RRF needs no score calibration between the two, which differ in scale
    per query. The weights and ``rrf_k`` were chosen on SciFact's train split
    with eval/tune_hybrid.py (nDCG@10 0.7129 at the textbook 1/1/60, 0.7173
    here); the test split was run once with them.
    """

    name = "hybrid"

    def __init__(self, index: Index, embedder: Embedder, dense_weight: float = 1.0, bm25_weight: float = 1.2,
                 rrf_k: int = 10, depth: int = 50):
        self.dense = DenseRetriever(index, embedder)
        self.bm25 = BM25Retriever(index)
        self.index = index
        self.weights = (dense_weight, bm25_weight)
        self.rrf_k, self.depth = rrf_k, depth

    def search(self, query: str, k: int) -> list[Hit]:
        depth = max(k, self.depth)
        fused: dict[int, float] = {}
        for weight, hits in zip(self.weights, (self.dense.search(query, depth), self.bm25.search(query, depth))):
            for hit in hits:
                fused[hit.chunk.chunk_id] = fused.get(hit.chunk.chunk_id, 0.0) + weight / (self.rrf_k + hit.rank)
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        return _hits(self.index, np.array(order), [fused[c] for c in order], self.name)


class FusionRetriever:
    """Chunks ranked by their best sentence's evidence (see rag.scoring).

    A question about an essay's headline, subtitle, photo credit or dateline
    (rag.furniture) gets the passages holding that part first, as its
    answer quotes them. On an index without a sentence layer (a large
    corpus) this is the hybrid ranking.
    """

    name = "fusion"

    def __init__(self, index: Index, embedder: Embedder):
        self.index = index
        self.fallback = HybridRetriever(index, embedder)
        self.scorer = None
        if index.sentences is not None:
            from rag.scoring import SentenceScorer

            self.scorer = SentenceScorer(index, embedder)

    def search(self, query: str, k: int) -> list[Hit]:
        if self.scorer is None:
            return [Hit(h.chunk, h.score, h.rank, self.name, h.title) for h in self.fallback.search(query, k)]
        scores = self.scorer.scores(query)
        chunk_scores = scores.chunk
        order = [int(i) for i in np.argsort(-chunk_scores, kind="stable") if np.isfinite(chunk_scores[i])]
        part = asks_for(query)
        if part:
            layer = self.index.sentences
            first = []
            for ids in ranked_parts(part, layer, self.index.documents, scores.score, asks_for_every(query)):
                first.extend(c for c in dict.fromkeys(layer.sentences[i].chunk_id for i in ids) if c not in first)
            order = first + [c for c in order if c not in first]
        order = order[:k]
        return _hits(self.index, np.array(order, dtype=np.int64), chunk_scores[order], self.name)


def make_retriever(name: str, index: Index, embedder: Embedder) -> Retriever:
    if name == "dense":
        return DenseRetriever(index, embedder)
    if name == "bm25":
        return BM25Retriever(index)
    if name == "hybrid":
        return HybridRetriever(index, embedder)
    if name == "fusion":
        return FusionRetriever(index, embedder)
    raise ValueError(f"unknown retriever {name!r}; choose one of {', '.join(RETRIEVERS)}")
