"""rag: answers made of verbatim, cited quotations from a corpus of documents.

    from rag import Rag
    answer = Rag.open().ask("Who is Michael Kofman?")

Names are imported on first use, so ``import rag`` loads no model library.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Rag": "rag.pipeline",
    "build": "rag.pipeline",
    "DEFAULT_K": "rag.pipeline",
    "DEFAULT_RETRIEVER": "rag.pipeline",
    "default_corpus_dir": "rag.pipeline",
    "default_index_dir": "rag.pipeline",
    "ChunkSettings": "rag.ingest.chunking",
    "RagError": "rag.errors",
    "Answer": "rag.types",
    "Chunk": "rag.types",
    "Corpus": "rag.types",
    "Document": "rag.types",
    "Hit": "rag.types",
    "Quote": "rag.types",
}
__all__ = sorted(_EXPORTS)  # noqa: PLE0605 (one list of the lazy names; a literal copy could drift)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
