"""Split documents into overlapping chunks with exact character offsets."""

from __future__ import annotations

import re
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


# The search above recurses once per chunk; longer documents (beyond ~800 KB in
# chunks of 1,000) take the greedy placement, which is exact but may miss a cover.
RECURSION_SAFE = 800
_TEXT = re.compile(r"\S")


def locate(text: str, pieces: list[str], overlap: int) -> list[tuple[int, int]]:
    """Offsets of consecutive ``pieces`` of ``text``, in order.

    The splitter's own ``add_start_index`` searches for each chunk from a
    guessed position and has returned the wrong occurrence when a document
    repeats itself. Here each chunk starts after the previous chunk's start,
    no earlier than its end minus the overlap and no later than the next text
    after it, and reaches past it: the chunks cover the text as the splitter
    cut it. Where a document repeats itself several places may fit one chunk
    ("A. A. A. A." in chunks of two); the first that lets every later chunk fit
    too is taken (a search with memory, each chunk trying only the few places
    its window holds). Greedy "first place that fits" left the last "A. A."
    in no chunk (Hypothesis found it).
    """

    def ahead(i: int) -> int:
        """The first position at or after ``i`` that is not white space (len(text) if none)."""
        found = _TEXT.search(text, i)
        return found.start() if found else len(text)

    failed: set[tuple[int, int]] = set()

    def places(k: int, prev_start: int, prev_end: int) -> list[int]:
        piece, low = pieces[k], max(prev_start + 1, prev_end - overlap, 0)
        high = ahead(prev_end) if k else ahead(0)
        out, at = [], text.find(piece, low)
        while 0 <= at <= high:
            if at + len(piece) > prev_end or k == 0:
                out.append(at)
            at = text.find(piece, at + 1)
        return out

    def fit(k: int, prev_start: int, prev_end: int) -> list[int] | None:
        if k == len(pieces):
            return [] if ahead(prev_end) == len(text) else None
        for at in places(k, prev_start, prev_end):
            if (k, at) in failed:
                continue
            rest = fit(k + 1, at, at + len(pieces[k]))
            if rest is not None:
                return [at, *rest]
            failed.add((k, at))
        return None

    starts = fit(0, -1, 0) if len(pieces) < RECURSION_SAFE else None
    if starts is None:
        starts = _greedy(text, pieces, overlap)
    return [(at, at + len(piece)) for at, piece in zip(starts, pieces)]


def _greedy(text: str, pieces: list[str], overlap: int) -> list[int]:
    """Each chunk at the first place after the previous one that fits (when no cover is found)."""
    starts: list[int] = []
    prev_start, prev_end = -1, 0
    for piece in pieces:
        start = text.find(piece, max(prev_start + 1, prev_end - overlap, 0))
        if start < 0:
            start = text.find(piece, prev_start + 1)
        if start < 0:
            raise AssertionError(f"chunk not found in its document after offset {prev_start}")
        starts.append(start)
        prev_start, prev_end = start, start + len(piece)
    return starts


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
