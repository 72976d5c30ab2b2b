"""The index on disk: build it atomically, load it only if it still matches.

Layout of ``index/<name>``: a symbolic link to a generation folder
``index/.<name>.gen-<time>-<pid>`` that holds the files. A build writes a new
generation beside the current one and swaps the link with one rename, so a
build killed at any moment leaves the previous index in place. A lock file
keeps two builds of the same index apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Iterator

import numpy as np

from rag.chunking import ChunkSettings, chunk_documents
from rag.embed import Embedder
from rag.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing, RagError
from rag.lexical import SETTINGS as BM25_SETTINGS
from rag.lexical import BM25Index
from rag.manifest import (
    FORMAT_VERSION,
    Expected,
    check_manifest,
    fingerprint,
    library_versions,
    read_manifest,
    sha256_bytes,
)
from rag.mentions import full_names, in_full
from rag.sentence_index import (
    SentenceLayer, SentencesByDoc, chunk_vectors_from_sentences, entries_by_span, load_sentence_layer,
    plan_sentences, sentence_layer_files,
)
from rag.types import Chunk, Corpus, Document
from rag.vectors import describe as describe_vectors
from rag.vectors import make_vector_index, read_vector_index, reconstruct_all, write_vector_index

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
BM25_DIR = "bm25"
# How chunk vectors were made (manifest store.chunk_vectors): each chunk
# encoded on its own, or summed from its sentences' token states.
PASSAGE_VECTORS = "passage"
SENTENCE_VECTORS = "sentence_sum"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BuildReport:
    """What a build did: ``embedded`` chunks were new, ``reused`` kept their vectors."""

    up_to_date: bool
    documents: int
    chunks: int
    embedded: int
    reused: int


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
        """Every word of the corpus, lower-cased (for abstention, rag.abstain)."""
        from rag.abstain import vocabulary

        return vocabulary(d.text for d in self.documents.values())


def rebuild_hint(index_dir: Path) -> str:
    return f"run `rag index --index {index_dir}` to rebuild it"


# ---------------------------------------------------------------- writing


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive per index; the kernel drops it if the process dies."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexBusy(f"{index_dir} is being built by {holder}; wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What a build of index NAME leaves beside it: ``.NAME.gen-*`` generations,
# ``.NAME.link-*`` links not yet renamed, ``.NAME.old-*`` a moved plain folder.
_LEFTOVER_KINDS = ("gen-", "link-", "old-")


def _is_ours(index_dir: Path, name: str) -> bool:
    """Whether ``name`` was made by a build of this index, not of a neighbour.

    A bare prefix match would let a build of ``a`` delete the generations of
    an index called ``a.b`` in the same folder.
    """
    prefix = f".{index_dir.name}."
    return name.startswith(prefix) and name[len(prefix):].startswith(_LEFTOVER_KINDS) and "/" not in name


def _clean_stale(index_dir: Path) -> None:
    """Remove generations and temporary links left by killed builds."""
    current = os.readlink(index_dir) if index_dir.is_symlink() else None
    for path in index_dir.parent.glob(f".{index_dir.name}.*"):
        if path.name == current or not _is_ours(index_dir, path.name):
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _publish(staging: Path, index_dir: Path) -> None:
    """Point ``index_dir`` at ``staging`` with one atomic rename."""
    old = os.readlink(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain folder from elsewhere: move it aside once; from now on the
        # path is a link and every later swap is atomic.
        index_dir.rename(index_dir.parent / f".{index_dir.name}.old-{os.getpid()}")
    link = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    os.symlink(staging.name, link)
    os.replace(link, index_dir)
    _fsync_dir(index_dir.parent)
    # Only a generation this code made is removed: a link the user pointed
    # at a folder of their own (absolute or elsewhere) is replaced, not deleted.
    if old and old != staging.name and _is_ours(index_dir, old):
        shutil.rmtree(index_dir.parent / old, ignore_errors=True)


def _refuse_foreign_target(index_dir: Path) -> None:
    """Never replace something that is not an index: ``--index ~/Documents``
    would otherwise be moved aside and deleted by the next build."""
    if index_dir.is_symlink() or not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise RagError(f"{index_dir} is a file, not an index folder; nothing was changed (choose another --index)")
    if any(index_dir.iterdir()) and not (index_dir / MANIFEST).is_file():
        raise RagError(
            f"{index_dir} holds files but is not a rag index (no manifest.json); nothing was changed "
            f"(choose another --index, or move that folder away)"
        )


@dataclass(frozen=True)
class _Reusable:
    """What a rebuild can keep from the current index, keyed by document sha256 (and span)."""

    vectors: dict = field(default_factory=dict)  # chunk vectors by (sha256, start, end)
    sentences: dict = field(default_factory=dict)  # (ids, token vectors, vector) by (sha256, start, end)
    spans: dict = field(default_factory=dict)  # sentence spans by sha256
    faiss: object | None = None  # the old FAISS index, whose trained parts may be reused
    chunk_vectors: str = PASSAGE_VECTORS  # how the old chunk vectors were made


def _reusable(index_dir: Path, model: str, chunking: dict) -> _Reusable:
    """Lets a rebuild embed (and split) only new or changed documents.
    Anything unreadable just means nothing is reused."""
    try:
        old = load_index(index_dir, Expected(model_name=model, chunking=chunking), any_store=True)
    except Exception:  # a damaged or foreign index is rebuilt from scratch
        return _Reusable()
    sha = {doc_id: d.sha256 for doc_id, d in old.documents.items()}
    vectors = reconstruct_all(old.vectors)
    known = {(sha[c.doc_id], c.start, c.end): vectors[i] for i, c in enumerate(old.chunks)}
    sentences, spans = {}, {}
    if old.sentences is not None:
        sentences = entries_by_span(old.sentences, sha)
        for s in old.sentences.sentences:
            spans.setdefault(sha[s.doc_id], []).append((s.start, s.end))
    return _Reusable(known, sentences, spans, old.vectors, old.manifest["store"].get("chunk_vectors", PASSAGE_VECTORS))


def _embed(corpus: Corpus, chunks: list, embedder: Embedder, old: _Reusable, planned: list | None,
           derive: bool, progress: bool) -> tuple[np.ndarray, int, list | None]:
    """Chunk vectors, how many chunks were embedded, and the sentence layer's
    entries for ``planned`` sentences (None without a layer).

    With a mean-pooled model and a sentence layer, one forward pass over the
    sentences gives both: chunk vectors are summed from sentence token states
    (see rag.sentence_index.chunk_vectors_from_sentences)."""
    docs = corpus.by_id()
    keys = [(docs[c.doc_id].sha256, c.start, c.end) for c in chunks]
    todo = [i for i, key in enumerate(keys) if key not in old.vectors]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in old.vectors:
            vectors[i] = old.vectors[key]
    if not derive:
        fresh = embedder.embed_documents([chunks[i].text for i in todo], progress=progress)
        for row, i in enumerate(todo):
            vectors[i] = fresh[row]
    if planned is None:
        return vectors, len(todo), None
    skey = [(docs[s.doc_id].sha256, s.start, s.end) for s in planned]
    needed = set()
    if derive:  # every sentence that touches a chunk to embed needs its token states
        overlapping = SentencesByDoc(planned)
        needed = {s.sentence_id for i in todo for s in overlapping(chunks[i])}
    fresh_ids = [s.sentence_id for s in planned if s.sentence_id in needed or skey[s.sentence_id] not in old.sentences]
    texts = [docs[planned[i].doc_id].text[planned[i].start : planned[i].end] for i in fresh_ids]
    written_out = _names_in_full(docs, [planned[i] for i in fresh_ids], texts)
    fresh = embedder.embed_sentences(texts + [text for _, text in written_out], progress=progress)
    for (row, _), full in zip(written_out, fresh[len(texts):]):
        fresh[row] = replace(fresh[row], ids=full.ids, tokens=full.tokens)
    by_id = dict(zip(fresh_ids, fresh))
    entries = [by_id[s.sentence_id].as_tuple() if s.sentence_id in by_id else old.sentences[skey[s.sentence_id]]
               for s in planned]
    if derive and todo:
        sums = {i: e.state_sum for i, e in by_id.items()}
        vectors[todo] = chunk_vectors_from_sentences([chunks[i] for i in todo], planned, sums, embedder.dim)
        empty = [i for i in todo if not vectors[i].any()]
        if empty:
            vectors[empty] = embedder.embed_documents([chunks[i].text for i in empty])
    return vectors, len(todo), entries


def _names_in_full(docs: dict[str, Document], sentences: list, texts: list[str]) -> list[tuple[int, str]]:
    """(row, text) for each sentence whose text changes with its names written
    in full (rag.mentions). Those word pieces serve term matching (MaxSim),
    where extra words only add chances to match; the sentence's vector and
    its share of its chunk's vector stay those of the words as written,
    which the extra words would dilute. On eval/essays_qa.jsonl: hit@1
    0.890 → 0.902, quote_hit 0.866 → 0.878; every other placement of the
    full names measured at most that, and all of them at 0.890 / 0.854."""
    names: dict[str, dict[str, str]] = {}
    out = []
    for row, (s, text) in enumerate(zip(sentences, texts)):
        if s.doc_id not in names:
            names[s.doc_id] = full_names(docs[s.doc_id].text)
        full = in_full(text, names[s.doc_id])
        if full != text:
            out.append((row, full))
    return out


def _up_to_date(index_dir: Path, corpus: Corpus, embedder: Embedder, settings: ChunkSettings,
                sentences: bool) -> Index | None:
    expected = Expected(
        model_name=embedder.name,
        model_dim=embedder.dim,
        chunking=settings.as_dict(),
        documents={d.doc_id: d.sha256 for d in corpus.documents},
    )
    try:
        index = load_index(index_dir, expected)
    except Exception:  # missing, stale or damaged: build
        return None
    if index.manifest["libraries"] != library_versions():
        return None
    if index.manifest["store"].get("sentences_requested") != sentences:
        return None
    return index


def build_index(
    corpus: Corpus,
    index_dir: str | Path,
    embedder: Embedder,
    settings: ChunkSettings = ChunkSettings(),
    progress: bool = False,
    reuse: bool = True,
    force: bool = False,
    sentences: bool = True,
) -> tuple[Index, BuildReport]:
    """Chunk, embed and write ``corpus`` to ``index_dir``, replacing it atomically.

    An index that already matches the corpus, model, settings and library
    versions is returned as it is, unless ``force``.
    """
    index_dir = Path(index_dir)
    _refuse_foreign_target(index_dir)
    with build_lock(index_dir):
        _clean_stale(index_dir)
        if not force:
            current = _up_to_date(index_dir, corpus, embedder, settings, sentences)
            if current is not None:
                n = len(current.chunks)
                return current, BuildReport(True, len(current.documents), n, 0, n)
        chunks = chunk_documents(corpus.documents, settings)
        old = _reusable(index_dir, embedder.name, settings.as_dict()) if reuse and not force else _Reusable()
        planned = plan_sentences(corpus.documents, chunks, old.spans, progress) \
            if sentences and hasattr(embedder, "embed_sentences") else None
        derive = planned is not None and bool(getattr(embedder, "mean_pooled", False))
        kind = SENTENCE_VECTORS if derive else PASSAGE_VECTORS
        if old.chunk_vectors != kind:  # never mix vectors made two ways in one index
            old = replace(old, vectors={}, faiss=None)
        vectors, embedded, entries = _embed(corpus, chunks, embedder, old, planned, derive, progress)

        staging = Path(
            tempfile.mkdtemp(prefix=f".{index_dir.name}.gen-{time.strftime('%Y%m%dT%H%M%S')}-", dir=index_dir.parent)
        )
        vector_index = make_vector_index(vectors, previous=old.faiss)
        files = {
            DOCUMENTS: _jsonl(
                [
                    {"doc_id": d.doc_id, "title": d.title, "path": d.path, "sha256": d.sha256, "text": d.text}
                    for d in corpus.documents
                ]
            ),
            CHUNKS: _jsonl(
                [{"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text} for c in chunks]
            ),
            VECTORS: write_vector_index(vector_index),
        }
        if planned is not None:
            files.update(sentence_layer_files(planned, entries, embedder.dim))
        for name, data in files.items():
            _write(staging / name, data)
        BM25Index.build([c.text for c in chunks]).save(staging / BM25_DIR)
        written = {
            p.relative_to(staging).as_posix(): p.read_bytes() for p in sorted(staging.rglob("*")) if p.is_file()
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "libraries": library_versions(),
            "model": {"name": embedder.name, "dim": embedder.dim, "normalized": True},
            "chunking": settings.as_dict(),
            "store": {
                "vectors": type(vector_index).__name__,
                "vector_params": describe_vectors(vector_index),
                "metric": "inner_product",
                "bm25": BM25_SETTINGS,
                "sentences": planned is not None,
                "chunk_vectors": kind,
                "sentences_requested": sentences,
            },
            "documents": {
                d.doc_id: {"file": Path(d.path).name, "sha256": d.sha256, "chars": len(d.text)}
                for d in corpus.documents
            },
            "corpus": {"folder": corpus.folder, "skipped": [{"file": s.path, "reason": s.reason} for s in corpus.skipped]},
            "counts": {"documents": len(corpus.documents), "chunks": len(chunks)},
            "files": {name: {"bytes": len(data), "sha256": sha256_bytes(data)} for name, data in written.items()},
        }
        manifest["fingerprint"] = fingerprint(manifest)
        # The manifest goes last: a generation without one is never published.
        _write(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
        _fsync_dir(staging)
        _publish(staging, index_dir)
    report = BuildReport(False, len(corpus.documents), len(chunks), embedded, len(chunks) - embedded)
    return load_index(index_dir), report


# ---------------------------------------------------------------- reading


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


def _generation(index_dir: Path) -> Path:
    """The folder the index path points at right now."""
    return index_dir.resolve() if index_dir.is_symlink() else index_dir


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
        folder = _generation(index_dir)
        try:
            return _load_generation(index_dir, folder, expected, any_store)
        except RagError:
            if attempt == 2 or _generation(index_dir) == folder:
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
        r["doc_id"]: Document(r["doc_id"], r["title"], r["text"], r["path"], r["sha256"])
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
