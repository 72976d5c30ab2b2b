"""Plain values passed between the pipeline's stages.

load → chunk → embed → store → retrieve → quote → answer → render: each stage
takes and returns these frozen dataclasses, never a library's own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    path: str
    sha256: str


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = ()
    folder: str = ""

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


@dataclass(frozen=True)
class Chunk:
    """A span of one document: ``document.text[start:end] == text``."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its score and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int
    retriever: str
    title: str = ""


@dataclass(frozen=True)
class Quote:
    """A verbatim quotation: ``document.text[start:end] == text``."""

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    quotes: tuple[Quote, ...]
    passages: tuple[Hit, ...]
    query: str = ""
    retriever: str = ""
    notes: tuple[str, ...] = field(default=())
