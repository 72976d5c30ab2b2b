"""The sentences a question scores in full: a few hundred, whatever the corpus's size.

Three searches, each cheap at any size: the sentences whose own vectors are
nearest the question's, and every sentence of the passages nearest it by
meaning and by BM25. Everything the fitted evidence needs beyond them (their
neighbours, their headings) is computed with them (rag.retrieval.scoring).
TOP_SENTENCES and TOP_PASSAGES were chosen on SciFact's train claims over
1,200 abstracts, by how often the passages and sentences that the scoring of
every sentence puts first are among the candidates (benchmarks/corpus_scale.py).
"""

from __future__ import annotations

import numpy as np

TOP_SENTENCES = 200
TOP_PASSAGES = 20


def _top(values: np.ndarray, k: int) -> np.ndarray:
    if len(values) <= k:
        return np.arange(len(values))
    return np.argpartition(-values, k - 1)[:k]


def gather(dense: np.ndarray, chunk_dense: np.ndarray, chunk_bm25: np.ndarray, layer,
           top_sentences: int = TOP_SENTENCES, top_passages: int = TOP_PASSAGES) -> np.ndarray:
    """Sentence ids to score: the nearest by vector, and those of the nearest passages."""
    chunks = np.union1d(_top(chunk_dense, top_passages), _top(chunk_bm25, top_passages))
    of_chunks = [i for c in chunks.tolist() for i in layer.by_chunk.get(c, ())]
    return np.union1d(_top(dense, top_sentences), np.asarray(of_chunks, dtype=np.int64)).astype(np.int64)
