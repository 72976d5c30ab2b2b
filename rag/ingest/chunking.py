"""Split documents into overlapping chunks with exact character offsets."""

from __future__ import annotations

from dataclasses import dataclass

from rag.types import Chunk, Document

# Paragraphs first, then lines, then sentence ends (a closing quote or bracket
# may follow the stop), then words. Splitting at sentence ends keeps chunks
# from starting mid-sentence, which matters for both embedding and quoting.
SEPARATORS = (
    r"\n\n",
    r"\n",
    r"(?<=[.!?])\s+",
    r"(?<=[.!?][”’\"')\]])\s+",
    r" ",
    r"",
)


@dataclass(frozen=True)
class ChunkSettings:
    # Chosen on eval/essays_qa.jsonl with the fusion retriever (see the
    # sweep in eval/reports/current/report.md).
    chunk_size: int = 1200
    chunk_overlap: int = 200

    def __post_init__(self) -> None:
        if self.chunk_size < 50:
            raise ValueError(f"chunk size must be at least 50 characters, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk overlap must be between 0 and the chunk size, got {self.chunk_overlap}")

    def as_dict(self) -> dict:
        return {
            "splitter": "langchain_text_splitters.RecursiveCharacterTextSplitter",
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "separators": list(SEPARATORS),
        }


def _splitter(settings: ChunkSettings):
    # Imported here: langchain's import costs ~0.3 s that `rag ask` never needs.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=list(SEPARATORS),
        is_separator_regex=True,
        keep_separator=True,
        strip_whitespace=True,
    )


def locate(text: str, pieces: list[str], overlap: int) -> list[tuple[int, int]]:
    """Offsets of consecutive ``pieces`` of ``text``, in order.

    The splitter's own ``add_start_index`` searches for each chunk from a
    guessed position and has returned the wrong occurrence when a document
    repeats itself. Here each chunk must start after the previous chunk's
    start, and no earlier than the previous end minus the overlap, so a
    repeated sentence further on cannot be mistaken for this one.
    """
    spans: list[tuple[int, int]] = []
    prev_start, prev_end = -1, 0
    for piece in pieces:
        floor = max(prev_start + 1, prev_end - overlap, 0)
        start = text.find(piece, floor)
        if start < 0:
            start = text.find(piece, prev_start + 1)
        if start < 0:
            raise AssertionError(f"chunk not found in its document after offset {prev_start}")
        end = start + len(piece)
        spans.append((start, end))
        prev_start, prev_end = start, end
    return spans


def chunk_document(doc: Document, settings: ChunkSettings, first_id: int = 0) -> list[Chunk]:
    pieces = [p for p in _splitter(settings).split_text(doc.text) if p]
    chunks = []
    for i, (start, end) in enumerate(locate(doc.text, pieces, settings.chunk_overlap)):
        chunk = Chunk(first_id + i, doc.doc_id, start, end, doc.text[start:end])
        if chunk.text != pieces[i]:  # never trust a computed offset
            raise AssertionError(f"chunk offsets do not slice {doc.doc_id} exactly")
        chunks.append(chunk)
    return chunks


def chunk_documents(docs: tuple[Document, ...] | list[Document], settings: ChunkSettings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(chunk_document(doc, settings, first_id=len(chunks)))
    return chunks
