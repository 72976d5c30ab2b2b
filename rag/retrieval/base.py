"""What a retriever is, and the registry that names them.

A retriever ranks an index's chunks for a query. Each lives in a module of
its own that registers itself here with ``register``; ``rag.retrieval.registry``
imports the built-in ones, so adding a retriever means adding a module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from rag.index.load import Index
from rag.types import Hit


class Retriever(Protocol):
    """``form`` is the question's form (rag.retrieval.question_form), read once
    by the pipeline; a retriever that has no use for it ignores it."""

    name: str

    def search(self, query: str, k: int, form=None) -> list[Hit]: ...


@dataclass(frozen=True)
class RetrieverSpec:
    name: str
    description: str  # one line, for `rag ask --help` and the page's inspector
    make: Callable[..., Retriever]  # (index, embedder), plus the pipeline's sentence scorer when ``scored``
    scored: bool = False


REGISTERED: dict[str, RetrieverSpec] = {}


def register(name: str, description: str, scored: bool = False):
    """Class decorator: ``cls(index, embedder)`` becomes retriever ``name``;
    ``scored``: ``cls(index, embedder, scorer)``, given the sentence scorer
    that the pipeline quotes with (rag.retrieval.scoring; None without a
    sentence layer), so that both see the same scores and compute them once."""

    def add(cls):
        REGISTERED[name] = RetrieverSpec(name, description, cls, scored)
        return cls

    return add


def hits_from(index: Index, ids, scores, name: str) -> list[Hit]:
    return [
        Hit(index.chunks[int(i)], float(s), rank, name, index.title(index.chunks[int(i)].doc_id))
        for rank, (i, s) in enumerate(zip(ids, scores), start=1)
    ]
