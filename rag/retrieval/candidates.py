"""The sentences a question scores in full: a few hundred, whatever the corpus's size.

Three searches, each cheap at any size: the sentences whose own vectors are
nearest the question's, and every sentence of the passages nearest it by
meaning and by BM25. Everything the fitted evidence needs beyond them (their
neighbours, their headings) is computed with them (rag.retrieval.scoring).
TOP_SENTENCES and TOP_PASSAGES were chosen on 100 of SciFact's train claims
over 300 abstracts (benchmarks/candidates.py --docs 300): with 100 sentences
and 20 passages (by meaning and by BM25, so up to 40) the first passage, the
first five and the first quotation were those of scoring every sentence for
100 of 100 claims (50/10: 99 first passages of 100), and a question then
multiplies ~11,000 word pieces against ~16,000 with 200/20 (the word-piece
products are most of a warm question's cost past the essays).

Where the searches run is a store, registered by name: ``local`` searches
the index's own arrays (exact, in this process); another store (an engine
that scales out) answers the same three searches from its own copy of the
vectors and words, and the index's files stay the source of truth.
"""

from __future__ import annotations

import weakref

import numpy as np

from rag.retrieval.store_registry import STORES, CandidateStore, Query, register

TOP_SENTENCES = 100
TOP_PASSAGES = 20


def _top(values: np.ndarray, k: int) -> np.ndarray:
    if len(values) <= k:
        return np.arange(len(values))
    return np.argpartition(-values, k - 1)[:k]


@register("local", "the index's own vectors and BM25, searched exactly in this process (the default)")
class LocalStore:
    name = "local"

    def __init__(self, index=None):
        self.index = index

    def sentences(self, query: Query, k: int) -> np.ndarray:
        return _top(_local(query.dense), k)

    def passages(self, query: Query, k: int) -> np.ndarray:
        return np.union1d(_top(_local(query.chunk_dense), k), _top(_local(query.chunk_bm25), k))


def _local(scores: np.ndarray | None) -> np.ndarray:
    if scores is None:
        raise ValueError("the local store searches the scores the scorer computed; this query has none")
    return scores


def gather(
    store: CandidateStore, query: Query, layer, top_sentences: int | None = None, top_passages: int | None = None
) -> np.ndarray:
    """Sentence ids to score: the nearest by vector, and those of the nearest passages
    (TOP_SENTENCES and TOP_PASSAGES read at call time, so a benchmark can vary them)."""
    top_sentences = TOP_SENTENCES if top_sentences is None else top_sentences
    top_passages = TOP_PASSAGES if top_passages is None else top_passages
    chunks = store.passages(query, top_passages)
    of_chunks = [i for c in np.asarray(chunks).tolist() for i in layer.by_chunk.get(int(c), ())]
    found = np.union1d(
        np.asarray(store.sentences(query, top_sentences), dtype=np.int64), np.asarray(of_chunks, dtype=np.int64)
    )
    return found[(found >= 0) & (found < layer.n)].astype(np.int64)


_opened: dict[int, tuple[weakref.ref, CandidateStore]] = {}


def store_name(index) -> str:
    """The candidate store an index was built for (manifest store.candidates), "local" by default."""
    name = str((index.manifest.get("store") or {}).get("candidates") or "local")
    if name not in STORES:
        from rag.errors import IndexMismatch

        raise IndexMismatch(
            f"{index.path} searches candidates in the {name!r} store, which this rag does not "
            f"have (it has {', '.join(STORES)})"
        )
    return name


def open_store(index) -> CandidateStore:
    """The store an index names (manifest store.candidates), opened and checked
    once per loaded index (Rag.open opens it, so a store that disagrees with
    the index is refused before any question; the scorer then reuses it)."""
    held = _opened.get(id(index))
    if held is not None and held[0]() is index:
        return held[1]
    store = STORES[store_name(index)][1](index)
    key = id(index)

    # The dict is bound here: at interpreter exit module globals may already be None.
    def forget(_, key: int = key, opened: dict = _opened) -> None:
        opened.pop(key, None)

    _opened[key] = (weakref.ref(index, forget), store)
    return store


# Stores in modules of their own register themselves when imported; each
# imports its engine's client only when an index names it.
from rag.retrieval import milvus_store  # noqa: E402,F401
