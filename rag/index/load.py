"""Load an index only if it still matches: every file checksummed, every
record checked against its document, the manifest against the caller's model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing, RagError
from rag.index.generations import MANIFEST, generation
from rag.index.lexical import SETTINGS as BM25_SETTINGS
from rag.index.lexical import BM25Index
from rag.index.manifest import Expected, check_manifest, read_manifest, sha256_bytes
from rag.index.sentence_layer import SentenceLayer, load_sentence_layer
from rag.index.vectors import read_vector_index
from rag.types import Chunk, Document
from rag.words import vocabulary

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
BM25_DIR = "bm25"
# How chunk vectors were made (manifest store.chunk_vectors): each chunk
# encoded on its own, or summed from its sentences' token states.
PASSAGE_VECTORS = "passage"
SENTENCE_VECTORS = "sentence_sum"


@dataclass
class Index:
    """A loaded, checked index. Holds library objects, so it is not a stage value."""

    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: object  # faiss.Index
    bm25: BM25Index
    sentences: SentenceLayer | None = None

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    def title(self, doc_id: str) -> str:
        return self.documents[doc_id].title

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word of the corpus, lower-cased (for abstention, rag.answer.abstain)."""
        return vocabulary(d.text for d in self.documents.values())


def rebuild_hint(index_dir: Path) -> str:
    return f"run `rag index --index {index_dir}` to rebuild it"


def _read_checked(index_dir: Path, manifest: dict, name: str, folder: Path | None = None) -> bytes:
    hint = rebuild_hint(index_dir)
    expected = manifest["files"].get(name)
    if expected is None:
        raise IndexCorrupt(f"{index_dir}/manifest.json does not list {name}; {hint}")
    try:
        data = ((folder or index_dir) / name).read_bytes()
    except OSError as err:
        raise IndexCorrupt(f"{index_dir}/{name} is missing or unreadable ({err.strerror}); {hint}") from err
    if len(data) != expected["bytes"]:
        raise IndexCorrupt(
            f"{index_dir}/{name} is truncated or altered ({len(data)} bytes, expected {expected['bytes']}); {hint}"
        )
    if sha256_bytes(data) != expected["sha256"]:
        raise IndexCorrupt(f"{index_dir}/{name} is corrupted (checksum mismatch); {hint}")
    return data


def _rows(index_dir: Path, name: str, data: bytes) -> list[dict]:
    try:
        return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    except ValueError as err:
        raise IndexCorrupt(f"{index_dir}/{name} is not valid JSON lines; {rebuild_hint(index_dir)}") from err


def load_index(index_dir: str | Path, expected: Expected = Expected(), any_store: bool = False) -> Index:
    """Load and check an index; raises a RagError naming any mismatch.

    Every file is read from the one generation the link points at when
    loading starts: reading each through the link could mix two generations
    if a build swaps it meanwhile. If that generation is removed under us
    (a build finished), the new one is read instead. ``any_store`` skips the
    BM25 settings check (a rebuild reusing vectors does not care).
    """
    index_dir = Path(index_dir)
    for attempt in range(3):
        folder = generation(index_dir)
        try:
            return _load_generation(index_dir, folder, expected, any_store)
        except RagError:
            if attempt == 2 or generation(index_dir) == folder:
                raise
    raise AssertionError("unreachable")


def _check_store(index_dir: Path, manifest: dict, hint: str) -> None:
    """BM25 parameters are baked into the stored scores: other ones need a rebuild."""
    built = manifest["store"].get("bm25") or {}
    for key, value in BM25_SETTINGS.items():
        if built.get(key) != value:
            raise IndexMismatch(
                f"{index_dir} was built with BM25 {key}={built.get(key)!r}, this rag uses {value!r}; {hint}"
            )


def _load_generation(index_dir: Path, folder: Path, expected: Expected, any_store: bool) -> Index:
    hint = rebuild_hint(index_dir)
    if not (folder / MANIFEST).is_file():
        if folder.is_dir() and any(folder.iterdir()):
            raise IndexCorrupt(f"{index_dir} has no manifest.json; {hint}")
        raise IndexMissing(f"no index at {index_dir}; run `rag index --index {index_dir}` to build it")
    try:
        manifest = read_manifest(folder)
    except FileNotFoundError as err:  # the generation was removed after the check above
        raise IndexCorrupt(f"{index_dir}/manifest.json vanished while loading; {hint}") from err
    try:
        return _load_checked(index_dir, folder, manifest, expected, any_store, hint)
    except (KeyError, TypeError, AttributeError) as err:
        # A manifest or record of the right format version but the wrong
        # shape: a damaged index, not a bug to show as a traceback.
        raise IndexCorrupt(f"{index_dir} has a malformed manifest or record ({type(err).__name__}: {err}); {hint}") from err


def _load_checked(index_dir: Path, folder: Path, manifest: dict, expected: Expected, any_store: bool,
                  hint: str) -> Index:
    check_manifest(manifest, index_dir, expected, hint)
    if not any_store:
        _check_store(index_dir, manifest, hint)
    for name in manifest["files"]:
        if name.startswith(BM25_DIR + "/"):
            _read_checked(index_dir, manifest, name, folder)
    documents = {
        r["doc_id"]: Document(r["doc_id"], r["title"], r["text"], r["path"], r["sha256"], tuple(r.get("pages", ())))
        for r in _rows(index_dir, DOCUMENTS, _read_checked(index_dir, manifest, DOCUMENTS, folder))
    }
    chunks = [
        Chunk(r["chunk_id"], r["doc_id"], r["start"], r["end"], r["text"])
        for r in _rows(index_dir, CHUNKS, _read_checked(index_dir, manifest, CHUNKS, folder))
    ]
    for i, chunk in enumerate(chunks):
        doc = documents.get(chunk.doc_id)
        if chunk.chunk_id != i or doc is None or doc.text[chunk.start : chunk.end] != chunk.text:
            raise IndexCorrupt(f"{index_dir}/{CHUNKS} record {i} does not match its document; {hint}")
    vectors = read_vector_index(_read_checked(index_dir, manifest, VECTORS, folder), index_dir, hint)
    if vectors.ntotal != len(chunks):
        raise IndexMismatch(
            f"{index_dir} holds {vectors.ntotal} vectors for {len(chunks)} chunks; {hint}"
        )
    if vectors.d != manifest["model"]["dim"]:
        raise IndexMismatch(f"{index_dir} vectors have {vectors.d} dimensions, manifest says {manifest['model']['dim']}; {hint}")
    try:
        bm25 = BM25Index.load(folder / BM25_DIR)
    except Exception as err:  # bm25s raises many kinds; any of them means a bad folder
        raise IndexCorrupt(f"{index_dir}/{BM25_DIR} cannot be read ({type(err).__name__}); {hint}") from err
    if bm25.size != len(chunks):
        raise IndexMismatch(f"{index_dir} BM25 holds {bm25.size} rows for {len(chunks)} chunks; {hint}")
    layer = None
    if manifest["store"].get("sentences"):
        try:
            layer = load_sentence_layer(lambda name: _read_checked(index_dir, manifest, name, folder), documents, len(chunks))
        except (ValueError, KeyError, TypeError) as err:
            raise IndexCorrupt(f"{index_dir} sentence layer is inconsistent ({err}); {hint}") from err
    return Index(index_dir, manifest, documents, chunks, vectors, bm25, layer)
