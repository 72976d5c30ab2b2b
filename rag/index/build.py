"""Build an index: chunk, embed and write a corpus as a new generation,
reusing what an earlier build of the same documents already computed."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rag.embed.base import Embedder, TokenEmbedder
from rag.failpoints import failpoint
from rag.index.freshness import source_stats
from rag.index.generations import (
    MANIFEST,
    build_lock,
    clean_stale,
    fsync_dir,
    jsonl,
    publish,
    refuse_foreign_target,
    write_file,
)
from rag.index.lexical import SETTINGS as BM25_SETTINGS
from rag.index.lexical import BM25Index
from rag.index.library_record import library_record
from rag.index.load import (
    BM25_DIR,
    CHUNKS,
    DOCUMENTS,
    PASSAGE_VECTORS,
    SENTENCE_VECTORS,
    VECTORS,
    Index,
    load_index,
)
from rag.index.manifest import FORMAT_VERSION, Expected, library_versions, seal_manifest, sha256_bytes
from rag.index.sentence_layer import (
    SentencesByDoc,
    chunk_vectors_from_sentences,
    entries_by_span,
    plan_sentences,
    sentence_layer_files,
)
from rag.index.stores import NAME_KEY, RECORD_KEY, spec_of
from rag.index.token_store import Codebook
from rag.index.vectors import describe as describe_vectors
from rag.index.vectors import make_vector_index, reconstruct_all, write_vector_index
from rag.ingest.chunking import ChunkSettings, chunk_documents
from rag.ingest.corpus import check_storable
from rag.ingest.names import full_names, in_full
from rag.settings import StoreSpec
from rag.types import TITLES, Corpus, Document


def document_row(d: Document) -> dict:
    """A document as documents.jsonl stores it."""
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "path": d.path,
        "sha256": d.sha256,
        "text": d.text,
        **({"pages": list(d.pages), "labels": list(d.labels)} if d.pages else {}),
        "blocks": [b.row() for b in d.blocks],
    }


@dataclass(frozen=True)
class BuildReport:
    """What a build did: ``embedded`` chunks were new, ``reused`` kept their vectors."""

    up_to_date: bool
    documents: int
    chunks: int
    embedded: int
    reused: int
    # What the store outside the index was sent, per collection (rag.index.stores.milvus); empty for local.
    synced: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Reusable:
    """What a rebuild can keep from the current index, keyed by document sha256 (and span)."""

    vectors: dict = field(default_factory=dict)  # chunk vectors by (sha256, start, end)
    sentences: dict = field(default_factory=dict)  # (ids, token vectors, vector) by (sha256, start, end)
    spans: dict = field(default_factory=dict)  # sentence spans by sha256
    chunk_vectors: str = PASSAGE_VECTORS  # how the old chunk vectors were made
    codebook: Codebook | None = None  # the old word-piece codebook (rag.index.token_store), kept by a rebuild


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
    sentences: dict = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    codebook = None
    if old.sentences is not None:
        sentences = entries_by_span(old.sentences, sha)
        codebook = old.sentences.tokens.codebook
        # A document's units, read again as its sentence spans, give the same units (rag.ingest.units).
        for s in old.sentences.sentences:
            spans.setdefault(sha[s.doc_id], []).append((s.start, s.end))
    return _Reusable(known, sentences, spans, old.manifest["store"].get("chunk_vectors", PASSAGE_VECTORS), codebook)


def _embed(
    corpus: Corpus,
    chunks: list,
    embedder: TokenEmbedder,
    old: _Reusable,
    planned: list | None,
    derive: bool,
    progress: bool,
) -> tuple[np.ndarray, int, list | None]:
    """Chunk vectors, how many chunks were embedded, and the sentence layer's
    entries for ``planned`` sentences (None without a layer).

    With a mean-pooled model and a sentence layer, one forward pass over the
    sentences gives both: chunk vectors are summed from sentence token states
    (see rag.index.sentence_layer.chunk_vectors_from_sentences)."""
    docs = corpus.by_id()
    keys = [(docs[c.doc_id].sha256, c.start, c.end) for c in chunks]
    todo = [i for i, key in enumerate(keys) if key not in old.vectors]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in old.vectors:
            vectors[i] = old.vectors[key]
    if not derive:
        embedded = embedder.embed_documents([chunks[i].text for i in todo], progress=progress)
        for row, i in enumerate(todo):
            vectors[i] = embedded[row]
    if planned is None:
        return vectors, len(todo), None
    skey = [(docs[s.doc_id].sha256, s.start, s.end) for s in planned]
    needed = set()
    if derive:  # every sentence that touches a chunk to embed needs its token states
        overlapping = SentencesByDoc(planned)
        needed = {s.sentence_id for i in todo for s in overlapping(chunks[i])}
    fresh_ids = [s.sentence_id for s in planned if s.sentence_id in needed or skey[s.sentence_id] not in old.sentences]
    texts = [_in_context(docs, planned, planned[i]) for i in fresh_ids]
    written_out = _names_in_full(docs, [planned[i] for i in fresh_ids], texts)
    fresh = embedder.embed_sentences(texts + [text for _, text in written_out], progress=progress)
    for (row, _), full in zip(written_out, fresh[len(texts) :]):
        fresh[row] = replace(fresh[row], ids=full.ids, tokens=full.tokens)
    by_id = dict(zip(fresh_ids, fresh))
    entries = [
        by_id[s.sentence_id].as_tuple() if s.sentence_id in by_id else old.sentences[skey[s.sentence_id]]
        for s in planned
    ]
    if derive and todo:
        sums = {i: e.state_sum for i, e in by_id.items()}
        vectors[todo] = chunk_vectors_from_sentences([chunks[i] for i in todo], planned, sums, embedder.dim)
        empty = [i for i in todo if not vectors[i].any()]
        if empty:
            vectors[empty] = embedder.embed_documents([chunks[i].text for i in empty])
    return vectors, len(todo), entries


def _in_context(docs: dict[str, Document], planned: list, s) -> str:
    """What the model reads for a unit: its text, after the heading it stands
    under (not for headings themselves), as a reader meets it: "On macOS" /
    "brew install pipx" is about macOS though its words never say so. The
    unit's vector and word pieces then carry the heading; its quotation is
    still its own text alone."""
    text = docs[s.doc_id].text[s.start : s.end]
    if s.heading < 0 or s.kind in TITLES:
        return text
    h = planned[s.heading]
    return f"{docs[h.doc_id].text[h.start : h.end]}\n{text}"


def _names_in_full(docs: dict[str, Document], sentences: list, texts: list[str]) -> list[tuple[int, str]]:
    """(row, text) for each sentence whose text changes with its names written
    in full (rag.ingest.names). Those word pieces serve term matching (MaxSim),
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


def _up_to_date(
    index_dir: Path, corpus: Corpus, embedder: Embedder, settings: ChunkSettings, sentences: bool
) -> Index | None:
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
    if (index.manifest.get("corpus") or {}).get("name", "") != corpus.name:
        return None
    # The same texts, but files touched since: rebuilt (nothing is embedded again)
    # so that opening the index, which compares sizes and times only, finds it current.
    recorded = {d: info.get("source") for d, info in index.manifest["documents"].items()}
    if any(recorded.get(d) != stat for d, stat in source_stats(corpus).items()):
        return None
    return index


def build_index(
    corpus: Corpus,
    index_dir: str | Path,
    embedder: TokenEmbedder,
    settings: ChunkSettings = ChunkSettings(),
    progress: bool = False,
    reuse: bool = True,
    force: bool = False,
    sentences: bool = True,
    store: StoreSpec | None = None,
) -> tuple[Index, BuildReport]:
    """Chunk, embed and write ``corpus`` to ``index_dir``, replacing it atomically.

    An index that already matches the corpus, model, settings and library
    versions is returned as it is, unless ``force``. ``sentences``: build the
    sentence layer, which needs a TokenEmbedder; without it a plain Embedder will do.
    ``store``: where candidates are searched (rag.index.stores); None keeps the
    index's current one (local for a new index); an index returned as it is
    still has its store brought in line with it.
    """
    index_dir = Path(index_dir)
    refuse_foreign_target(index_dir)
    check_storable(corpus)  # before any embedding: a name no encoder writes costs a line, not a build
    with build_lock(index_dir):
        failpoint("index.build.locked")
        clean_stale(index_dir)
        previous = _manifest_or_none(index_dir)
        spec = store if store is not None else spec_of(previous)
        if spec.name != "local":
            from rag.index.stores.milvus import connect

            connect(spec)  # unreachable, or held by another process: say so before any work
        if not force:
            current = _up_to_date(index_dir, corpus, embedder, settings, sentences)
            if current is not None and spec_of(current.manifest) == spec:
                n = len(current.chunks)
                return current, BuildReport(True, len(current.documents), n, 0, n, _sync(current))
        chunks = chunk_documents(corpus.documents, settings)
        old = _reusable(index_dir, embedder.name, settings.as_dict()) if reuse and not force else _Reusable()
        planned = plan_sentences(corpus.documents, chunks, old.spans, progress) if sentences else None
        derive = planned is not None and embedder.mean_pooled
        kind = SENTENCE_VECTORS if derive else PASSAGE_VECTORS
        if old.chunk_vectors != kind:  # never mix vectors made two ways in one index
            old = replace(old, vectors={})
        vectors, embedded, entries = _embed(corpus, chunks, embedder, old, planned, derive, progress)

        staging = Path(
            tempfile.mkdtemp(prefix=f".{index_dir.name}.gen-{time.strftime('%Y%m%dT%H%M%S')}-", dir=index_dir.parent)
        )
        vector_index = make_vector_index(vectors)
        files = {
            DOCUMENTS: jsonl([document_row(d) for d in corpus.documents]),
            CHUNKS: jsonl(
                [
                    {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text}
                    for c in chunks
                ]
            ),
            VECTORS: write_vector_index(vector_index),
        }
        if planned is not None and entries is not None:  # entries are None exactly when planned is
            files.update(sentence_layer_files(planned, entries, embedder.dim, corpus.by_id(), old.codebook))
        for name, data in files.items():
            write_file(staging / name, data)
        BM25Index.build([c.text for c in chunks]).save(staging / BM25_DIR)
        failpoint("index.build.files_written")
        written = {p.relative_to(staging).as_posix(): p.read_bytes() for p in sorted(staging.rglob("*")) if p.is_file()}
        stats = source_stats(corpus)
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
                **_store_record(spec, index_dir, corpus, chunks, planned, entries, vectors, embedder, previous),
            },
            "documents": {
                d.doc_id: {
                    "file": Path(d.path).name,
                    "sha256": d.sha256,
                    "chars": len(d.text),
                    **({"source": stats[d.doc_id]} if d.doc_id in stats else {}),
                }
                for d in corpus.documents
            },
            "corpus": {
                "folder": corpus.folder,
                "name": corpus.name,
                "skipped": [{"file": s.path, "reason": s.reason} for s in corpus.skipped],
                **library_record(corpus),
            },
            "counts": {"documents": len(corpus.documents), "chunks": len(chunks)},
            "files": {name: {"bytes": len(data), "sha256": sha256_bytes(data)} for name, data in written.items()},
        }
        manifest = seal_manifest(manifest)  # its fingerprint, and its seal under this user's key (rag.index.seal)
        # The manifest goes last: a generation without one is never published.
        write_file(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
        fsync_dir(staging)
        failpoint("index.build.manifest_written")
        publish(staging, index_dir)
        index = load_index(index_dir)
        synced = _sync(index)
    report = BuildReport(False, len(corpus.documents), len(chunks), embedded, len(chunks) - embedded, synced)
    return index, report


def _manifest_or_none(index_dir: Path) -> dict | None:
    from rag.index.generations import generation
    from rag.index.manifest import read_manifest

    try:
        return read_manifest(generation(index_dir))
    except Exception:  # none yet, or damaged: a build replaces it
        return None


def _store_record(
    spec: StoreSpec,
    index_dir: Path,
    corpus: Corpus,
    chunks: list,
    planned: list | None,
    entries: list | None,
    vectors: np.ndarray,
    embedder: Embedder,
    previous: dict | None,
) -> dict:
    """The manifest's store entries: nothing for the local store (its manifests
    stay as they were), else the store's name and what it must hold."""
    if spec.name == "local":
        return {}
    from rag.index.stores.milvus import record, unit_keys

    keys = {
        "chunks": unit_keys([c.doc_id for c in chunks], [c.start for c in chunks], [c.end for c in chunks], vectors),
        "sentences": [],
    }
    if planned and entries:
        # The sentence layer stores float16: the key hashes the vector as the index loads it.
        loaded = np.stack([e[2] for e in entries]).astype(np.float16).astype(np.float32)
        keys["sentences"] = unit_keys(
            [s.doc_id for s in planned], [s.start for s in planned], [s.end for s in planned], loaded
        )
    before = ((previous or {}).get("store") or {}).get(RECORD_KEY)
    return {
        NAME_KEY: spec.name,
        RECORD_KEY: record(spec, index_dir, keys, {"name": embedder.name, "dim": embedder.dim}, before),
    }


def _sync(index: Index) -> dict:
    """Bring the index's outside store (if any) in line with its files."""
    if spec_of(index.manifest).name == "local":
        return {}
    from rag.index.stores.milvus import sync_store

    return sync_store(index)
