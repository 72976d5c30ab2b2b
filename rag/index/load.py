"""Load an index only if it still matches: every file checksummed, every
record checked against its document, the manifest against the caller's model."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing, RagError
from rag.index.generations import MANIFEST, contained, describe_os_error, generation, read_regular
from rag.index.lexical import SETTINGS as BM25_SETTINGS
from rag.index.lexical import BM25Index
from rag.index.manifest import Expected, check_manifest, read_manifest, sha256_bytes
from rag.index.sentence_layer import SentenceLayer, load_sentence_layer
from rag.index.vectors import read_vector_index
from rag.types import Block, Chunk, Document
from rag.words import vocabulary

# Vectors are stored unit-length (inner product = cosine); a norm further from
# 1 than this means the file was altered, or NaN made its way in.
UNIT_TOLERANCE = 1e-3
# float16 token vectors round more coarsely.
TOKEN_TOLERANCE = 2e-2
# The files bm25s reads from bm25/ for rag's settings (method "lucene",
# load_corpus=False): each must be listed in the manifest and checked first,
# or bm25s would read a file no checksum covers.
BM25_FILES = (
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
)
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
    vectors: Any  # a faiss index (faiss's own stubs do not describe its Python API)
    bm25: BM25Index
    sentences: SentenceLayer | None = None

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    def title(self, doc_id: str) -> str:
        return self.documents[doc_id].title

    @property
    def layer(self) -> SentenceLayer:
        """The sentence layer, for the stages that score and quote sentences
        (they run only on an index that has one)."""
        if self.sentences is None:
            raise ValueError(f"{self.path} has no sentence layer")
        return self.sentences

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word of the corpus, lower-cased (for abstention, rag.answer.abstain):
        counted at build time where the index has a sentence layer."""
        if self.sentences is not None:
            return self.sentences.words
        return vocabulary(d.text for d in self.documents.values())


def rebuild_hint(index_dir: Path) -> str:
    return f"run `rag index --index {index_dir}` to rebuild it"


def _read_checked(index_dir: Path, manifest: dict, name: str, folder: Path | None = None) -> bytes:
    """A listed file's bytes, only from a regular file inside the generation
    whose size and sha256 match the manifest."""
    hint = rebuild_hint(index_dir)
    expected = manifest["files"].get(name)
    if expected is None:
        raise IndexCorrupt(f"{index_dir}/manifest.json does not list {name}; {hint}")
    try:
        path = contained(folder or index_dir, name)
    except ValueError as err:
        raise IndexCorrupt(f"{index_dir}/manifest.json: {err}; {hint}") from None
    try:
        data = read_regular(path)
    except OSError as err:
        raise IndexCorrupt(f"{index_dir}/{name} is missing or unreadable ({describe_os_error(err)}); {hint}") from err
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
        if os.path.lexists(folder / MANIFEST):
            raise IndexCorrupt(f"{index_dir}/{MANIFEST} is not a regular file; {hint}")
        if folder.is_dir() and any(folder.iterdir()):
            # `rag index` refuses to build over such a folder, so rebuilding is no advice.
            raise IndexCorrupt(
                f"{index_dir} is not a rag index (it holds files but no manifest.json); point --index "
                f"at an index, or build one in a new folder with `rag index --index NEW_FOLDER`"
            )
        raise IndexMissing(f"no index at {index_dir}; run `rag index --index {index_dir}` to build it")
    try:
        manifest = read_manifest(folder)
    except FileNotFoundError as err:  # the generation was removed after the check above
        raise IndexCorrupt(f"{index_dir}/manifest.json vanished while loading; {hint}") from err
    try:
        return _load_checked(index_dir, folder, manifest, expected, any_store, hint)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
        # A manifest or record of the right format version but the wrong
        # shape: a damaged index, not a bug to show as a traceback.
        raise IndexCorrupt(
            f"{index_dir} has a malformed manifest or record ({type(err).__name__}: {err}); {hint}"
        ) from err


def _load_checked(
    index_dir: Path, folder: Path, manifest: dict, expected: Expected, any_store: bool, hint: str
) -> Index:
    check_manifest(manifest, index_dir, expected, hint)
    if not any_store:
        _check_store(index_dir, manifest, hint)
    if not isinstance(manifest["files"], dict):
        raise IndexCorrupt(f"{index_dir} has a malformed manifest (its files entry is not a table); {hint}")
    for name in manifest["files"]:
        try:
            contained(folder, name)
        except ValueError as err:
            raise IndexCorrupt(f"{index_dir}/manifest.json: {err}; {hint}") from None
    for name in BM25_FILES:
        if f"{BM25_DIR}/{name}" not in manifest["files"]:
            raise IndexCorrupt(f"{index_dir}/manifest.json does not list {BM25_DIR}/{name}; {hint}")
    for name in manifest["files"]:
        if name.startswith(BM25_DIR + "/"):
            _read_checked(index_dir, manifest, name, folder)
    documents = {
        r["doc_id"]: Document(
            r["doc_id"],
            r["title"],
            r["text"],
            r["path"],
            r["sha256"],
            tuple(r.get("pages", ())),
            tuple(Block.from_row(b) for b in r.get("blocks", ())),
            tuple(r.get("labels", ())),
        )
        for r in _rows(index_dir, DOCUMENTS, _read_checked(index_dir, manifest, DOCUMENTS, folder))
    }
    for doc in documents.values():
        if any(not 0 <= b.start <= b.end <= len(doc.text) for b in doc.blocks):
            raise IndexCorrupt(f"{index_dir}/{DOCUMENTS}: a block of {doc.doc_id} lies outside its text; {hint}")
    listed = {doc_id: info["sha256"] for doc_id, info in manifest["documents"].items()}
    if listed != {doc_id: d.sha256 for doc_id, d in documents.items()}:
        raise IndexCorrupt(f"{index_dir}/{DOCUMENTS} does not hold the documents its manifest lists; {hint}")
    chunks = [
        Chunk(r["chunk_id"], r["doc_id"], r["start"], r["end"], r["text"])
        for r in _rows(index_dir, CHUNKS, _read_checked(index_dir, manifest, CHUNKS, folder))
    ]
    for i, chunk in enumerate(chunks):
        owner = documents.get(chunk.doc_id)
        if chunk.chunk_id != i or owner is None or owner.text[chunk.start : chunk.end] != chunk.text:
            raise IndexCorrupt(f"{index_dir}/{CHUNKS} record {i} does not match its document; {hint}")
    vectors = read_vector_index(_read_checked(index_dir, manifest, VECTORS, folder), index_dir, hint)
    if vectors.ntotal != len(chunks):
        raise IndexMismatch(f"{index_dir} holds {vectors.ntotal} vectors for {len(chunks)} chunks; {hint}")
    if vectors.d != manifest["model"]["dim"]:
        raise IndexMismatch(
            f"{index_dir} vectors have {vectors.d} dimensions, manifest says {manifest['model']['dim']}; {hint}"
        )
    check_unit_rows(_stored_rows(vectors), vectors.d, f"{index_dir}/{VECTORS}", hint)
    try:
        bm25 = BM25Index.load(folder / BM25_DIR)
    except Exception as err:  # bm25s raises many kinds; any of them means a bad folder
        raise IndexCorrupt(f"{index_dir}/{BM25_DIR} cannot be read ({type(err).__name__}); {hint}") from err
    if bm25.size != len(chunks):
        raise IndexMismatch(f"{index_dir} BM25 holds {bm25.size} rows for {len(chunks)} chunks; {hint}")
    layer = None
    if manifest["store"].get("sentences"):
        try:
            layer = load_sentence_layer(
                lambda name: _read_checked(index_dir, manifest, name, folder),
                lambda name: name in manifest["files"],
                documents,
                len(chunks),
            )
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise IndexCorrupt(f"{index_dir} sentence layer is inconsistent ({err}); {hint}") from err
        _check_layer(layer, vectors.d, index_dir, hint)
    return Index(index_dir, manifest, documents, chunks, vectors, bm25, layer)


def check_unit_rows(rows, dim: int, where: str, hint: str, tolerance: float = UNIT_TOLERANCE) -> None:
    """Every row finite and of unit length, in batches of ``rows`` (an
    iterable of 2-D arrays), so a million vectors are never copied at once."""
    for batch in rows:
        if batch.ndim != 2 or batch.shape[1] != dim:
            raise IndexCorrupt(f"{where} holds vectors of shape {batch.shape}, not (n, {dim}); {hint}")
        values = batch.astype(np.float32, copy=False)
        if not np.isfinite(values).all():
            raise IndexCorrupt(f"{where} holds vectors that are not finite (NaN or infinity); {hint}")
        norms = np.sqrt(np.einsum("ij,ij->i", values, values))
        if norms.size and float(np.abs(norms - 1.0).max()) > tolerance:
            raise IndexCorrupt(f"{where} holds vectors that are not unit length; {hint}")


def _stored_rows(index, batch: int = 65_536):
    """The FAISS index's vectors in batches: a view of a flat index's own
    storage, or reconstructed (an IVF index keeps a direct map for that)."""
    import faiss

    n, d = index.ntotal, index.d
    if n == 0:
        return
    if isinstance(index, faiss.IndexFlat):
        stored = faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)
        for start in range(0, n, batch):
            yield stored[start : start + batch]
        return
    for start in range(0, n, batch):
        try:
            yield index.reconstruct_n(start, min(batch, n - start))
        except RuntimeError as err:
            raise ValueError(f"vectors cannot be read back ({err})") from None


def _check_layer(layer: SentenceLayer, dim: int, index_dir: Path, hint: str) -> None:
    n, where = len(layer.sentences), f"{index_dir} sentence layer"
    offsets, ids = layer.token_offsets, layer.token_ids
    if layer.vectors.shape != (n, dim) or ids.ndim != 1:
        raise IndexCorrupt(f"{where} has arrays of the wrong shape; {hint}")
    if (
        not (np.issubdtype(offsets.dtype, np.integer) and np.issubdtype(ids.dtype, np.integer))
        or offsets[0] != 0
        or (np.diff(offsets) < 0).any()
    ):
        raise IndexCorrupt(f"{where} has malformed token offsets or ids; {hint}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= len(layer.df)):
        raise IndexCorrupt(f"{where} has word-piece ids outside its counts; {hint}")
    check_unit_rows([layer.vectors], dim, f"{where} (sentence vectors)", hint, TOKEN_TOLERANCE)
    tokens = layer.tokens
    if tokens.codebook is None:
        data = tokens.data
        if data.ndim != 2 or data.shape[1] != dim:
            raise IndexCorrupt(f"{where} has arrays of the wrong shape; {hint}")
        check_unit_rows(
            (data[i : i + 65_536] for i in range(0, len(data), 65_536)),
            dim,
            f"{where} (token vectors)",
            hint,
            TOKEN_TOLERANCE,
        )
    elif tokens.codebook.dim != dim or tokens.data.ndim != 2 or tokens.data.shape[1] != tokens.codebook.pq.code_size:
        raise IndexCorrupt(f"{where} has word-piece codes that do not fit its codebook; {hint}")
