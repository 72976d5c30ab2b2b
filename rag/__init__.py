"""rag: answers made of verbatim, cited quotations from a corpus of essays.

    from rag import Rag
    answer = Rag.open().ask("Who is Michael Kofman?")
"""

from rag.api import DEFAULT_K, DEFAULT_RETRIEVER, Rag, build, default_corpus_dir, default_index_dir
from rag.chunking import ChunkSettings
from rag.errors import RagError
from rag.types import Answer, Chunk, Corpus, Document, Hit, Quote

__all__ = [
    "Answer", "Chunk", "ChunkSettings", "Corpus", "DEFAULT_K", "DEFAULT_RETRIEVER", "Document", "Hit",
    "Quote", "Rag", "RagError", "build", "default_corpus_dir", "default_index_dir",
]
