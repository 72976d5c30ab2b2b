"""Chunks ranked by their best sentence's combined evidence (rag.retrieval.scoring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rag.embed.base import Embedder
from rag.index.load import Index
from rag.retrieval.base import hits_from, register
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.parts import ranked_parts
from rag.retrieval.question_form import QuestionForm
from rag.types import Hit

if TYPE_CHECKING:
    from rag.retrieval.scoring import SentenceScorer


@register("fusion", "by meaning and words, sentence by sentence (the default)", scored=True)
class FusionRetriever:
    """Chunks ranked by their best sentence's evidence, read with the
    question's form: a question for a part of a document's header (its
    headline, photo credit, dateline) gets the passages holding that part
    first, as its answer quotes them. On an index without a sentence layer
    (a large corpus) this is the hybrid ranking. ``scorer``: the pipeline's
    sentence scorer (rag.pipeline.Rag.scorer), else one of its own.
    """

    name = "fusion"

    def __init__(self, index: Index, embedder: Embedder, scorer: SentenceScorer | None = None):
        self.index = index
        self.fallback = HybridRetriever(index, embedder)
        self.scorer = scorer
        if scorer is None and index.sentences is not None:
            from rag.retrieval.scoring import SentenceScorer

            self.scorer = SentenceScorer(index, embedder)

    def search(self, query: str, k: int, form: QuestionForm | None = None) -> list[Hit]:
        if self.scorer is None:
            return [Hit(h.chunk, h.score, h.rank, self.name, h.title) for h in self.fallback.search(query, k)]
        scores = self.scorer.scores(query, form)
        chunk_scores = scores.chunk
        finite = np.flatnonzero(np.isfinite(chunk_scores))  # passages of no candidate score -inf
        order = finite[np.argsort(-chunk_scores[finite], kind="stable")].tolist()
        if form is not None and form.part:
            layer = self.index.layer
            first: list[int] = []
            for ids in ranked_parts(form.part, layer, self.index.documents, scores.score, form.each, form.documents):
                first.extend(c for c in dict.fromkeys(layer.sentences[i].chunk_id for i in ids) if c not in first)
            order = first + [c for c in order if c not in first]
        order = order[:k]
        return hits_from(self.index, np.array(order, dtype=np.int64), chunk_scores[order], self.name)
