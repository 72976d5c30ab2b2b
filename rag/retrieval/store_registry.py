"""What a candidate store is: the searches it answers, and the registry of stores by name
(rag.retrieval.candidates describes the searches and holds the ``local`` store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class Query:
    """What the searches get: the question as typed and as a unit vector, and
    the local scores scoring computes anyway (None where a store has its own)."""

    text: str
    vector: np.ndarray
    dense: np.ndarray | None = None  # cosine of every sentence
    chunk_dense: np.ndarray | None = None  # cosine of every passage
    chunk_bm25: np.ndarray | None = None  # BM25 of every passage


class CandidateStore(Protocol):
    name: str

    def sentences(self, query: Query, k: int) -> np.ndarray:
        """Ids of the ``k`` sentences nearest the question's vector."""
        ...

    def passages(self, query: Query, k: int) -> np.ndarray:
        """Ids of the ``k`` passages nearest by meaning and the ``k`` best by BM25 (together)."""
        ...


STORES: dict[str, tuple[str, Callable]] = {}


def register(name: str, description: str):
    def wrap(cls):
        STORES[name] = (description, cls)
        return cls

    return wrap
