"""The corpus is only the corpus, and an index only its own files.

Symbolic links that leave the corpus folder are skipped and listed; the walk
is bounded; index files are read only from regular files inside their
generation; the fingerprint covers the whole manifest; vectors are checked
finite, unit-length and of the right shape when an index loads.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rag.ingest.corpus as corpus_module
from rag.errors import CorpusError, IndexCorrupt, IndexMissing, RagError
from rag.index.load import check_unit_rows, load_index
from rag.index.manifest import seal_manifest, sha256_bytes
from rag.ingest.corpus import load_corpus
from tests.conftest import ROOT, write_corpus

ESSAY = "Garden Notes Today\n\nTomatoes need full sun and steady water every single day."
SECRET = "root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n"


# ---------------------------------------------------------------- corpus folder


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "shadow").write_text(SECRET)
    (folder / "notes.md").write_text("Outside Notes\n\nThis text lives outside the corpus folder.")
    return folder


@pytest.mark.unit
def test_links_that_leave_the_corpus_are_skipped_and_listed(tmp_path, outside):
    corpus = write_corpus(tmp_path / "c", {"a.txt": ESSAY})
    (corpus / "sub").mkdir()
    os.symlink(outside / "shadow", corpus / "shadow.md")
    os.symlink("../../outside/notes.md", corpus / "sub" / "relative.md")
    os.symlink(outside, corpus / "elsewhere")
    os.symlink(tmp_path / "nothing", corpus / "broken.txt")
    os.symlink("../a.txt", corpus / "sub" / "inside.txt")  # stays inside: read
    loaded = load_corpus(corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["a", "sub/inside"]
    assert {s.path: s.reason for s in loaded.skipped} == {
        "shadow.md": "symbolic link to a file outside the corpus folder",
        "sub/relative.md": "symbolic link to a file outside the corpus folder",
        "elsewhere": "symbolic link to a folder, not followed",
        "broken.txt": "broken symbolic link",
    }
    assert not any("root:" in d.text or "Outside Notes" in d.text for d in loaded.documents)


@pytest.mark.unit
def test_a_corpus_folder_that_is_itself_a_link_is_read(tmp_path):
    real = write_corpus(tmp_path / "real", {"a.txt": ESSAY})
    os.symlink(real, tmp_path / "link")
    assert [d.doc_id for d in load_corpus(tmp_path / "link").documents] == ["a"]


@pytest.mark.unit
def test_fifos_are_listed_never_opened(tmp_path):
    corpus = write_corpus(tmp_path / "c", {"a.txt": ESSAY})
    os.mkfifo(corpus / "pipe.txt")
    code = (
        f"from rag.ingest.corpus import load_corpus; c = load_corpus({str(corpus)!r}); "
        "print([(s.path, s.reason) for s in c.skipped])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "('pipe.txt', 'not a regular file (a FIFO, socket or device)')" in result.stdout


@pytest.mark.unit
def test_the_walk_is_bounded(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "c", {f"f{i}.txt": ESSAY for i in range(30)})
    monkeypatch.setattr(corpus_module, "MAX_WALK_ENTRIES", 20)
    with pytest.raises(CorpusError, match="holds more than 20 files and folders; a corpus is a folder of documents"):
        load_corpus(corpus)
    monkeypatch.setattr(corpus_module, "MAX_WALK_ENTRIES", 30)
    assert len(load_corpus(corpus).documents) == 30


@pytest.mark.unit
def test_the_walk_is_bounded_in_depth(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_DEPTH", 3)
    deep = tmp_path / "c" / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text(ESSAY)
    (tmp_path / "c" / "top.txt").write_text(ESSAY)
    loaded = load_corpus(tmp_path / "c")
    assert [d.doc_id for d in loaded.documents] == ["top"]
    assert [(s.path, s.reason) for s in loaded.skipped] == [("a/b/c", "folder more than 3 levels deep")]


def test_a_name_that_is_not_utf8_is_indexed_under_a_replaced_name(tmp_path, embedder):
    from rag.index.build import build_index

    corpus = tmp_path / "c"
    corpus.mkdir()
    (Path(os.fsdecode(bytes(corpus) + b"/caf\xe9.txt"))).write_text(ESSAY)
    (Path(os.fsdecode(bytes(corpus) + b"/caf\xe8.txt"))).write_text(ESSAY + " Again.")
    loaded = load_corpus(corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["caf\ufffd", "caf\ufffd.txt"]
    assert all("\ufffd" in d.path for d in loaded.documents)
    assert len(loaded.notes) == 2 and "is not UTF-8; it is indexed as caf\ufffd" in loaded.notes[0]
    index, _ = build_index(loaded, tmp_path / "index", embedder)  # JSON takes every name now
    assert sorted(index.documents) == ["caf\ufffd", "caf\ufffd.txt"]


# ---------------------------------------------------------------- index files


@pytest.fixture
def copy(tmp_path, essays_index) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(essays_index.path, target)
    return target


def _manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / "manifest.json").read_text())


def _save(index_dir: Path, manifest: dict, refingerprint: bool = True) -> None:
    if refingerprint:
        manifest.update(seal_manifest(manifest))  # re-sealed with the key
    (index_dir / "manifest.json").write_text(json.dumps(manifest))


def _plant(index_dir: Path, name: str, data: bytes) -> None:
    """Replace a file and make the manifest agree, checksum and fingerprint both:
    what someone who edits the index on purpose would do."""
    (index_dir / name).write_bytes(data)
    m = _manifest(index_dir)
    m["files"][name] = {"bytes": len(data), "sha256": sha256_bytes(data)}
    _save(index_dir, m)


@pytest.mark.parametrize(
    "name",
    ["bm25/../../../../../../etc/passwd", "/etc/passwd", "../copy/chunks.jsonl", "bm25/../../../../../../dev/zero"],
)
def test_names_in_the_manifest_stay_inside_the_generation(copy, name):
    m = _manifest(copy)
    m["files"][name] = {"bytes": 10, "sha256": "0" * 64}
    _save(copy, m)
    with pytest.raises(IndexCorrupt, match="leaves the index folder"):
        load_index(copy)


def test_a_listed_file_that_is_a_link_outside_is_refused(copy, tmp_path):
    data = (copy / "chunks.jsonl").read_bytes()
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_bytes(data)  # same bytes: only the link itself is wrong
    (copy / "chunks.jsonl").unlink()
    os.symlink(elsewhere, copy / "chunks.jsonl")
    with pytest.raises(IndexCorrupt, match="resolves outside the index folder"):
        load_index(copy)


def test_a_listed_file_that_is_a_link_to_dev_zero_is_refused(copy):
    (copy / "documents.jsonl").unlink()
    os.symlink("/dev/zero", copy / "documents.jsonl")
    with pytest.raises(IndexCorrupt, match="documents.jsonl"):
        load_index(copy)


@pytest.mark.parametrize("name", ["documents.jsonl", "bm25/vocab.index.json", "manifest.json"])
def test_a_fifo_in_the_index_fails_at_once(copy, name):
    (copy / name).unlink()
    os.mkfifo(copy / name)
    code = (
        f"from rag.index.load import load_index\ntry: load_index({str(copy)!r})\n"
        "except Exception as e: print(type(e).__name__, e)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.startswith("IndexCorrupt") and "not a regular file" in result.stdout, result


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["files"]["documents.jsonl"].update(bytes=1),
        lambda m: m["corpus"].update(folder="/"),
        lambda m: m["corpus"]["skipped"].append({"file": "x", "reason": "y"}),
        lambda m: m.update(extra="anything"),
        lambda m: m.update(built_at=None, extra="anything"),
    ],
    ids=["files", "corpus-folder", "corpus-skipped", "new-key", "new-key-and-built-at"],
)
def test_the_fingerprint_covers_the_whole_manifest(copy, edit):
    m = _manifest(copy)
    edit(m)
    _save(copy, m, refingerprint=False)
    with pytest.raises(IndexCorrupt, match="was edited"):
        load_index(copy)


def test_the_build_time_alone_is_outside_the_fingerprint(copy):
    # The same content built twice is the same index; the time is read by nothing.
    m = _manifest(copy)
    m["built_at"] = "2000-01-01T00:00:00Z"
    _save(copy, m, refingerprint=False)
    assert load_index(copy).manifest["built_at"] == "2000-01-01T00:00:00Z"


def test_altered_text_with_its_files_entry_edited_to_match_is_refused(copy):
    rows = [json.loads(line) for line in (copy / "documents.jsonl").read_text().splitlines()]
    rows[0]["text"] = rows[0]["text"].replace("Kofman", "Kofmann")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    (copy / "documents.jsonl").write_bytes(data)
    m = _manifest(copy)
    m["files"]["documents.jsonl"] = {"bytes": len(data), "sha256": sha256_bytes(data)}
    _save(copy, m, refingerprint=False)
    with pytest.raises(IndexCorrupt, match="was edited"):
        load_index(copy)


def test_documents_must_be_those_the_manifest_lists(copy):
    rows = [json.loads(line) for line in (copy / "documents.jsonl").read_text().splitlines()]
    rows[0]["sha256"] = "0" * 64
    _plant(copy, "documents.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    with pytest.raises(IndexCorrupt, match="does not hold the documents its manifest lists"):
        load_index(copy)


def test_the_bm25_files_bm25s_reads_must_be_listed(copy):
    m = _manifest(copy)
    del m["files"]["bm25/vocab.index.json"]
    _save(copy, m)
    with pytest.raises(IndexCorrupt, match="does not list bm25/vocab.index.json"):
        load_index(copy)


def _faiss_bytes(vectors: np.ndarray) -> bytes:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return faiss.serialize_index(index).tobytes()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 7, np.nan, v), "not finite"),
        (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 7, np.inf, v), "not finite"),
        (lambda v: np.random.default_rng(0).normal(size=v.shape), "not unit length"),
        (lambda v: v * 2, "not unit length"),
        (lambda v: np.zeros_like(v), "not unit length"),
    ],
    ids=["nan", "inf", "random", "scaled", "zero"],
)
def test_chunk_vectors_are_checked_on_load(copy, essays_index, damage, message):
    from rag.index.vectors import reconstruct_all

    vectors = reconstruct_all(essays_index.vectors)
    _plant(copy, "vectors.faiss", _faiss_bytes(damage(vectors)))
    with pytest.raises(IndexCorrupt, match=message):
        load_index(copy)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, damage, message",
    [
        ("sentence_vectors.npy", lambda a: np.full_like(a, np.nan), "not finite"),
        ("sentence_vectors.npy", lambda a: a * 3, "not unit length"),
        ("sentence_vectors.npy", lambda a: a[:, :-1], "wrong shape"),
        (
            "token_vectors.npy",
            lambda a: np.where(np.arange(a.size).reshape(a.shape) == 3, np.nan, a).astype(a.dtype),
            "not finite",
        ),
        ("token_offsets.npy", lambda a: np.concatenate([a[:1], a[2:3], a[1:2], a[3:]]), "token offsets"),
    ],
    ids=["sentence-nan", "sentence-scaled", "sentence-shape", "token-nan", "offsets"],
)
def test_sentence_layer_arrays_are_checked_on_load(copy, name, damage, message):
    array = np.load(copy / name, allow_pickle=False)
    _plant(copy, name, _npy(damage(array)))
    with pytest.raises(IndexCorrupt, match=message):
        load_index(copy)


@pytest.mark.unit
def test_ivf_vectors_are_checked_too():
    import faiss

    from rag.index.load import _stored_rows

    rng = np.random.default_rng(1)
    good = rng.normal(size=(400, 16)).astype(np.float32)
    good /= np.linalg.norm(good, axis=1, keepdims=True)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 4, faiss.METRIC_INNER_PRODUCT)
    index.train(good)
    index.add(good)
    index.make_direct_map()
    check_unit_rows(_stored_rows(index, batch=64), 16, "ivf", "hint")
    bad = good.copy()
    bad[5] *= 2
    index.reset()
    index.add(bad)
    with pytest.raises(IndexCorrupt, match="not unit length"):
        check_unit_rows(_stored_rows(index, batch=64), 16, "ivf", "hint")


def test_a_string_format_version_is_named_as_such(copy):
    m = _manifest(copy)
    m["format_version"] = "4"
    _save(copy, m)
    with pytest.raises(IndexCorrupt, match='format_version "4", not a whole number'):
        load_index(copy)


@pytest.mark.unit
def test_an_index_link_that_loops_is_a_clear_error(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(IndexMissing, match="loop of symbolic links"):
        load_index(tmp_path / "loop")


@pytest.mark.unit
def test_a_folder_of_other_files_is_not_called_a_damaged_index(tmp_path):
    folder = write_corpus(tmp_path / "docs", {"letter.txt": "Dear friend"})
    with pytest.raises(RagError, match="is not a rag index.*NEW_FOLDER"):
        load_index(folder)
