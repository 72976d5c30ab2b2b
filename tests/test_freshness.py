"""Opening an index judges its corpus folder by file sizes and times, reading no document
(rag.index.freshness); `rag check` reads and hashes them all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.errors import IndexMismatch
from rag.index.build import build_index
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag
from tests.conftest import write_corpus

ALPHA = "Alpha Report\n\nThe alpha plant opened in 1998 and makes glass bottles for three dairies in the valley.\n"
BETA = "Beta Notes\n\nThe beta line closed last spring, after its kiln cracked twice in one winter.\n"


@pytest.fixture()
def built(tmp_path, embedder):
    corpus = write_corpus(tmp_path / "corpus", {"alpha.txt": ALPHA, "beta.txt": BETA})
    index_dir = tmp_path / "index"
    build_index(load_corpus(corpus), index_dir, embedder)
    return corpus, index_dir


def test_an_unchanged_folder_opens_and_an_edit_is_named(built, embedder):
    corpus, index_dir = built
    Rag.open(index_dir, embedder)
    (corpus / "beta.txt").write_text(BETA + "It reopened in May.\n", encoding="utf-8")
    (corpus / "gamma.md").write_text("# Gamma\n\nNew notes.\n", encoding="utf-8")
    with pytest.raises(IndexMismatch, match=r"\(beta\.txt changed, 1 new file \(gamma\.md\)\); run `rag index"):
        Rag.open(index_dir, embedder)


def test_opening_reads_no_document_but_rag_check_reads_every_one(built, embedder, monkeypatch):
    corpus, index_dir = built
    path = corpus / "alpha.txt"
    info = os.stat(path)
    # Same size, same time, other words: only reading the file can tell.
    path.write_text(ALPHA.replace("glass", "steel"), encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    import rag.ingest.corpus as corpus_module

    def no_reading(*args, **kwargs):
        raise AssertionError("a document was read while opening the index")

    monkeypatch.setattr(corpus_module, "load_document", no_reading)
    monkeypatch.setattr(corpus_module, "parse_bytes", no_reading)
    Rag.open(index_dir, embedder)
    monkeypatch.undo()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "check", "--index", str(index_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1
    assert "alpha changed" in done.stderr and "rag index" in done.stderr and "Traceback" not in done.stderr


def test_a_touched_file_is_rebuilt_without_embedding_again(built, embedder):
    corpus, index_dir = built
    os.utime(corpus / "beta.txt", ns=(1_000_000_000, 1_000_000_000))
    with pytest.raises(IndexMismatch, match="beta.txt changed"):
        Rag.open(index_dir, embedder)
    _, report = build_index(load_corpus(corpus), index_dir, embedder)
    assert not report.up_to_date and report.embedded == 0
    Rag.open(index_dir, embedder)


def test_a_manifest_pointed_at_another_folder_is_refused_before_that_folder_is_read(built, embedder, monkeypatch):
    """Issue 24.9: an index whose manifest names /etc as its corpus, fingerprint
    recomputed but not re-sealed (that needs the user's key), is refused before
    any file or folder outside the index is looked at."""
    import json

    from rag.index.generations import generation
    from rag.index.manifest import fingerprint

    _, index_dir = built
    folder = generation(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["corpus"]["folder"] = "/etc"
    manifest["fingerprint"] = fingerprint(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    looked = []
    real_scandir, real_stat = os.scandir, os.stat

    def scandir(path=".", *a, **k):
        looked.append(str(path))
        return real_scandir(path, *a, **k)

    def stat(path, *a, **k):
        looked.append(str(path))
        return real_stat(path, *a, **k)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(Exception, match="seal|sealed|key"):
        Rag.open(index_dir, embedder)
    monkeypatch.undo()
    assert not [p for p in looked if p.startswith("/etc")], looked


@pytest.mark.unit
@pytest.mark.parametrize("spelled", ["plain", "trailing slash", "dot", "relative with dot"])
def test_new_files_in_subfolders_are_named_however_the_folder_is_spelled(tmp_path, monkeypatch, spelled):
    from rag.index.freshness import corpus_changes

    corpus = write_corpus(tmp_path / "corpus", {"alpha.txt": ALPHA})
    (corpus / "sub" / "deeper").mkdir(parents=True)
    (corpus / "sub" / "deeper" / "new.md").write_text(BETA)
    (corpus / "sub" / "b.txt").write_text(BETA)
    info = os.stat(corpus / "alpha.txt")
    manifest = {
        "documents": {"alpha": {"source": {"path": "alpha.txt", "bytes": info.st_size, "mtime_ns": info.st_mtime_ns}}}
    }
    monkeypatch.chdir(tmp_path if spelled != "dot" else corpus)
    folder = {"plain": "corpus", "trailing slash": "corpus/", "dot": ".", "relative with dot": "./corpus"}[spelled]
    assert corpus_changes(manifest, folder) == ["2 new files (sub/b.txt, sub/deeper/new.md)"]
