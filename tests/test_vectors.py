"""Index choice by size, IVF recall against exact search, and incremental rebuilds."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.index import vectors
from rag.index.build import build_index
from rag.index.load import load_index
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from tests.conftest import write_corpus


def clustered(n: int, dim: int = 64, centres: int = 200, seed: int = 0) -> np.ndarray:
    """Unit vectors around shared centres: neighbourhoods as real embeddings have."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.unit
def test_small_collections_are_exact():
    index = vectors.make_vector_index(clustered(500))
    assert isinstance(index, faiss.IndexFlatIP)
    assert vectors.describe(index) == {"type": "IndexFlatIP"}


@pytest.mark.unit
def test_large_collections_use_ivf_with_high_recall(monkeypatch):
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1_000)
    x = clustered(20_000)
    index = vectors.make_vector_index(x)
    assert isinstance(index, faiss.IndexIVFFlat)
    assert index.nlist == vectors.ivf_lists(20_000) and index.nprobe == vectors.ivf_nprobe(index.nlist, 20_000)
    queries = clustered(200, seed=1)
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    _, truth = exact.search(queries, 10)
    _, got = index.search(queries, 10)
    recall = np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got)])
    assert recall >= 0.95


@pytest.mark.unit
def test_ivf_round_trips_and_reconstructs(monkeypatch):
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1_000)
    x = clustered(3_000)
    index = vectors.read_vector_index(vectors.write_vector_index(vectors.make_vector_index(x)), None, "")
    assert index.nprobe == vectors.ivf_nprobe(index.nlist, 3_000)
    assert np.allclose(vectors.reconstruct_all(index), x)
    ids, scores = vectors.search(index, x[7], 1)
    assert ids[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)


class CountingEmbedder:
    """The real model as a plain Embedder (no word pieces, so indexes built
    with ``sentences=False``: passage vectors only), counting what it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)

    def embed_documents(self, texts, progress=False):
        self.calls.append(len(texts))
        return self.inner.embed_documents(texts, progress)

    def embed_query(self, text):
        return self.inner.embed_query(text)


ESSAYS = {
    "a.txt": "Alpha Title\n\nThe cat sat on the mat. Cats like warm places.\n\nDogs bark at night.",
    "b.txt": "Beta Title\n\nFAISS stores vectors. BM25 counts words. Offsets must be exact.",
    "c.txt": "Gamma Title\n\nBirds migrate south in winter. Some fly thousands of miles.",
}


def test_remove_and_change_embed_only_what_changed(tmp_path, embedder):
    settings = ChunkSettings(60, 10)
    corpus = write_corpus(tmp_path / "corpus", ESSAYS)
    model = CountingEmbedder(embedder)
    _first, _ = build_index(load_corpus(corpus), tmp_path / "ix", model, settings, sentences=False)
    (corpus / "b.txt").unlink()
    removed, report = build_index(load_corpus(corpus), tmp_path / "ix", model, settings, sentences=False)
    assert report.embedded == 0 and model.calls[-1] == 0
    assert {c.doc_id for c in removed.chunks} == {"a", "c"}
    assert set(removed.manifest["documents"]) == {"a", "c"}
    (corpus / "c.txt").write_text("Gamma Title\n\nBirds migrate north in spring.", encoding="utf-8")
    changed, report = build_index(load_corpus(corpus), tmp_path / "ix", model, settings, sentences=False)
    assert report.embedded == sum(c.doc_id == "c" for c in changed.chunks) == model.calls[-1]
    assert report.reused == sum(c.doc_id == "a" for c in changed.chunks)
    fresh = embedder.embed_documents([c.text for c in changed.chunks])
    assert np.allclose(vectors.reconstruct_all(changed.vectors), fresh, atol=1e-5)


def test_ivf_index_through_the_store_is_truthful(tmp_path, embedder, monkeypatch):
    """Force the IVF path on a tiny corpus: the manifest names it, search works,
    and an added document is the only thing embedded."""
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 16)
    settings = ChunkSettings(60, 10)
    corpus = write_corpus(tmp_path / "corpus", {k: v * 4 for k, v in ESSAYS.items()})
    model = CountingEmbedder(embedder)
    index, _ = build_index(load_corpus(corpus), tmp_path / "ix", model, settings, sentences=False)
    assert index.manifest["store"]["vectors"] == "IndexIVFFlat"
    assert index.manifest["store"]["vector_params"]["nlist"] == index.vectors.nlist
    (corpus / "d.txt").write_text("Delta Title\n\nVolcanoes erupt molten rock.", encoding="utf-8")
    grown, report = build_index(load_corpus(corpus), tmp_path / "ix", model, settings, sentences=False)
    assert report.embedded == sum(c.doc_id == "d" for c in grown.chunks)
    loaded = load_index(tmp_path / "ix")
    ids, _ = vectors.search(loaded.vectors, embedder.embed_query("Volcanoes erupt molten rock."), 1)
    assert loaded.chunks[int(ids[0])].doc_id == "d"
