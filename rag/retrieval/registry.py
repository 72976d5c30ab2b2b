"""The retrievers rag knows, by name: the built-in modules register themselves
on import (rag.retrieval.base.register)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.embed.base import Embedder
from rag.index.load import Index

# Imported for their registration, in the order `rag info` and the page list them.
from rag.retrieval import dense, bm25, hybrid, fusion  # noqa: F401  # isort: skip
from rag.retrieval.base import REGISTERED, Retriever, RetrieverSpec

if TYPE_CHECKING:
    from rag.retrieval.scoring import SentenceScorer

RETRIEVERS: tuple[str, ...] = tuple(REGISTERED)


def spec(name: str) -> RetrieverSpec:
    if name not in REGISTERED:
        raise ValueError(f"unknown retriever {name!r}; choose one of {', '.join(REGISTERED)}")
    return REGISTERED[name]


def make_retriever(name: str, index: Index, embedder: Embedder, scorer: SentenceScorer | None = None) -> Retriever:
    chosen = spec(name)
    return chosen.make(index, embedder, scorer) if chosen.scored else chosen.make(index, embedder)
