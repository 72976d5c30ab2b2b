"""An index narrowed to some of its documents, in memory: for "search only these".

Everything a question touches is narrowed — chunks, vectors, BM25, the
sentence layer — so an answer from the subset is the answer an index of
only those documents would give, whatever form the question takes (a
lookup, a summary, "both documents"). Vectors are reused, never
re-embedded; BM25 is recounted over the kept chunks, which takes
milliseconds at the size of a personal library. Nothing is written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import numpy as np

from rag.errors import RagError
from rag.index.lexical import BM25Index, content_stems
from rag.index.load import Index
from rag.index.sentence_layer import Sentence, SentenceLayer
from rag.index.vectors import make_vector_index, reconstruct_all
from rag.words import vocabulary


def subset_index(index: Index, doc_ids: Iterable[str]) -> Index:
    """``index`` holding only ``doc_ids`` (in the index's own order); the same
    ``path`` and ``manifest``, so it is never mistaken for a built index."""
    keep = set(doc_ids)
    unknown = keep - set(index.documents)
    if unknown:
        raise RagError(f"no document {', '.join(sorted(map(repr, unknown)))} in {index.path}")
    if not keep:
        raise RagError("choose at least one document to search")
    documents = {d: doc for d, doc in index.documents.items() if d in keep}
    old_ids = [c.chunk_id for c in index.chunks if c.doc_id in keep]
    new_id = {old: new for new, old in enumerate(old_ids)}
    chunks = [replace(index.chunks[old], chunk_id=new) for new, old in enumerate(old_ids)]
    vectors = make_vector_index(reconstruct_all(index.vectors)[old_ids])
    bm25 = BM25Index.build([c.text for c in chunks])
    layer = _subset_layer(index.sentences, keep, new_id, documents) if index.sentences is not None else None
    return Index(index.path, index.manifest, documents, chunks, vectors, bm25, layer)


def _subset_layer(layer: SentenceLayer, keep: set[str], chunk_id: dict[int, int], documents: dict) -> SentenceLayer:
    """The layer of the kept documents, its word counts those of the kept documents alone."""
    rows = [i for i, s in enumerate(layer.sentences) if s.doc_id in keep]
    new_id = {old: new for new, old in enumerate(rows)}
    sentences = [
        Sentence(new, s.doc_id, s.start, s.end, chunk_id[s.chunk_id], s.kind, new_id.get(s.heading, -1))
        for new, s in enumerate(layer.sentences[i] for i in rows)
    ]
    counts, spans = [0], []
    for i in rows:
        a, b = int(layer.token_offsets[i]), int(layer.token_offsets[i + 1])
        spans.append(slice(a, b))
        counts.append(counts[-1] + b - a)
    pick = np.concatenate([np.arange(s.start, s.stop) for s in spans]) if spans else np.zeros(0, dtype=np.int64)
    token_ids = layer.token_ids[pick]
    offsets = np.asarray(counts, dtype=layer.token_offsets.dtype)
    df = np.zeros_like(layer.df)
    for a, b in zip(offsets[:-1], offsets[1:]):
        df[np.unique(token_ids[a:b])] += 1
    texts = [documents[s.doc_id].text[s.start : s.end] for s in sentences]
    stems = frozenset().union(*(content_stems(t) for t in texts)) if texts else frozenset()
    return SentenceLayer(
        sentences,
        layer.vectors[rows],
        layer.tokens.take(pick),
        token_ids,
        offsets,
        df,
        vocabulary(d.text for d in documents.values()),
        stems,
    )
