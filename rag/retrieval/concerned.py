"""Which documents, and which of their sentences, a question concerns."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from rag.retrieval.question_form import QuestionForm

# A summary or comparison quotes at most this many documents, the ones the
# question matches best; "each document" / "all of them" at most MAX_EACH.
MAX_DOCUMENTS = 4
MAX_EACH = 12


def concerned_documents(form: QuestionForm, layer, values: np.ndarray) -> list[str]:
    """The documents a broad or every-document question is about: those it
    names, else all of them, or, when there are more than it may quote, those
    whose best sentence by ``values`` is best; in corpus order."""
    order = list(layer.by_doc)
    if form.documents:
        return [d for d in order if d in form.documents]
    most = MAX_EACH if form.each else MAX_DOCUMENTS
    if len(order) <= most:
        return order
    best = {d: float(np.nan_to_num(values[r.start : r.stop], nan=-np.inf).max()) for d, r in layer.by_doc.items()}
    keep = set(sorted(order, key=lambda d: -best[d])[:most])
    return [d for d in order if d in keep]


def sentences_of(layer, chunk_ids: Iterable[int]) -> list[int]:
    """The sentence ids of the given chunks, in order."""
    return sorted(i for c in set(chunk_ids) for i in layer.by_chunk.get(c, ()))
