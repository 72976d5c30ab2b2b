"""Build → load round trips and every way a loaded index can be refused."""

from __future__ import annotations

import json
import shutil

import faiss
import numpy as np
import pytest

from rag.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing
from rag.index.build import build_index
from rag.index.generations import build_lock
from rag.index.load import load_index
from rag.index.manifest import FORMAT_VERSION, Expected, fingerprint, seal_manifest, sha256_bytes
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag
from tests.conftest import CORPUS, write_corpus

SMALL = ChunkSettings(300, 50)


@pytest.fixture
def small(tmp_path, embedder):
    """A two-document corpus and its freshly built index, per test (cheap)."""
    corpus_dir = write_corpus(
        tmp_path / "corpus",
        {
            "alpha.txt": "Alpha Essay Title\n\nThe cat sat on the mat. Cats like warm places.\n\nDogs bark at night.",
            "beta.md": "# Beta Essay\n\nFAISS stores vectors. BM25 counts words. Offsets must be exact.",
        },
    )
    index_dir = tmp_path / "index" / "small"
    index, report = build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    return corpus_dir, index_dir, index, report


def test_round_trip_answers_with_exact_offsets(essays_index, embedder):
    reloaded = load_index(essays_index.path, Expected(model_name=embedder.name, model_dim=embedder.dim))
    assert len(reloaded.chunks) == reloaded.vectors.ntotal == len(essays_index.chunks)
    answer = Rag(reloaded, embedder).ask("Who is Michael Kofman?", retriever="dense")
    assert answer.passages[0].chunk.doc_id == "putin-needs-an-off-ramp"
    assert "Kofman" in answer.passages[0].chunk.text
    for q in answer.quotes:
        assert reloaded.documents[q.doc_id].text[q.start : q.end] == q.text


def test_manifest_records_what_shapes_the_index(essays_index, embedder):
    m = essays_index.manifest
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == {"name": embedder.name, "dim": embedder.dim, "normalized": True}
    assert m["chunking"]["chunk_size"] == ChunkSettings().chunk_size
    assert {"faiss-cpu", "sentence-transformers", "langchain-text-splitters", "bm25s"} <= set(m["libraries"])
    for _doc_id, info in m["documents"].items():
        assert info["sha256"] == sha256_bytes((CORPUS / info["file"]).read_bytes())
    assert m["fingerprint"] == fingerprint(m)
    assert all(len(f["sha256"]) == 64 for f in m["files"].values())


def test_vectors_are_normalised(essays_index):
    vectors = essays_index.vectors.reconstruct_n(0, essays_index.vectors.ntotal)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_rebuild_is_a_no_op_then_embeds_only_changes(small, embedder):
    corpus_dir, index_dir, index, report = small
    assert not report.up_to_date and report.embedded == report.chunks
    again, report2 = build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    assert report2.up_to_date and again.fingerprint == index.fingerprint
    (corpus_dir / "gamma.txt").write_text("Gamma Title Here\n\nA third essay about birds.", encoding="utf-8")
    bigger, report3 = build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    assert report3.embedded == sum(c.doc_id == "gamma" for c in bigger.chunks)
    assert report3.reused == len(index.chunks)
    # what was reused equals what a build from scratch computes
    scratch, _ = build_index(load_corpus(corpus_dir), index_dir.parent / "scratch", embedder, SMALL, force=True)
    fresh = scratch.vectors.reconstruct_n(0, scratch.vectors.ntotal)
    stored = bigger.vectors.reconstruct_n(0, bigger.vectors.ntotal)
    assert np.allclose(fresh, stored, atol=1e-5)
    assert [(s.doc_id, s.start, s.end) for s in bigger.sentences.sentences] == [
        (s.doc_id, s.start, s.end) for s in scratch.sentences.sentences
    ]
    assert np.allclose(bigger.sentences.vectors, scratch.sentences.vectors, atol=1e-5)
    assert np.array_equal(bigger.sentences.token_ids, scratch.sentences.token_ids)
    assert np.allclose(
        bigger.sentences.tokens.data.astype(np.float32), scratch.sentences.tokens.data.astype(np.float32), atol=2e-3
    )


class CountingEmbedder:
    """The real embedder, counting the texts each kind of pass is given."""

    def __init__(self, inner):
        self.inner, self.sentences, self.documents = inner, [], []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_documents(self, texts, progress=False):
        self.documents.extend(texts)
        return self.inner.embed_documents(texts, progress=progress)

    def embed_sentences(self, texts, progress=False):
        self.sentences.extend(texts)
        return self.inner.embed_sentences(texts, progress=progress)


def test_one_pass_over_sentences_and_only_new_ones_on_rebuild(small, embedder):
    """A build runs the model over each sentence once (chunk vectors are
    summed from them), and a rebuild only over the new document's sentences."""
    corpus_dir, index_dir, index, _ = small
    assert index.manifest["store"]["chunk_vectors"] == "sentence_sum"
    (corpus_dir / "gamma.txt").write_text(
        "Gamma Title Here\n\nA third essay about birds. Birds sing.", encoding="utf-8"
    )
    counting = CountingEmbedder(embedder)
    bigger, report = build_index(load_corpus(corpus_dir), index_dir, counting, SMALL)
    gamma = bigger.documents["gamma"].text
    assert counting.documents == []
    assert counting.sentences == [gamma[s.start : s.end] for s in bigger.sentences.sentences if s.doc_id == "gamma"]
    assert counting.sentences == ["Gamma Title Here", "A third essay about birds.", "Birds sing."]
    assert report.embedded == 1 and report.reused == len(index.chunks)


def test_chunk_vector_from_sentences_is_the_models_vector_for_one_sentence(tmp_path, embedder):
    """Summing token states reproduces mean pooling: a chunk that is one
    sentence gets the model's own vector for that text."""
    text = "Kyiv asked for longer-range missiles in the spring."
    corpus_dir = write_corpus(tmp_path / "c", {"one.txt": text})
    index, _ = build_index(load_corpus(corpus_dir), tmp_path / "i", embedder, SMALL)
    (chunk,) = index.chunks
    assert chunk.text == text
    vector = index.vectors.reconstruct(0)
    assert float(vector @ embedder.embed_documents([text])[0]) >= 0.9999


def test_passage_vectors_are_not_reused_for_sentence_sums(small, embedder):
    """Vectors made one way are never mixed into an index made the other way."""
    corpus_dir, index_dir, _index, _ = small
    passages, _ = build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL, sentences=False)
    assert passages.manifest["store"]["chunk_vectors"] == "passage"
    expected = embedder.embed_documents([c.text for c in passages.chunks])
    assert np.allclose(passages.vectors.reconstruct_n(0, passages.vectors.ntotal), expected, atol=1e-5)
    again, report = build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    assert report.embedded == len(again.chunks) and again.manifest["store"]["chunk_vectors"] == "sentence_sum"


def test_only_one_generation_is_kept(small, embedder):
    corpus_dir, index_dir, _, _ = small
    build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL, force=True)
    generations = [p for p in index_dir.parent.iterdir() if ".gen-" in p.name]
    assert index_dir.is_symlink() and len(generations) == 1


def test_failed_build_leaves_previous_index(small, embedder, monkeypatch):
    corpus_dir, index_dir, index, _ = small
    import rag.index.build

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(rag.index.build, "publish", boom)
    (corpus_dir / "alpha.txt").write_text("Changed Title Here\n\nNew text.", encoding="utf-8")
    with pytest.raises(OSError):
        build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    assert load_index(index_dir).fingerprint == index.fingerprint


def test_concurrent_build_is_refused(small, embedder):
    corpus_dir, index_dir, _, _ = small
    with build_lock(index_dir):
        with pytest.raises(IndexBusy, match="being built"):
            build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL, force=True)


@pytest.mark.unit
def test_missing_index(tmp_path):
    with pytest.raises(IndexMissing, match="no index at .*rag index"):
        load_index(tmp_path / "nothing")


def _edit_manifest(index_dir, change, refingerprint=True):
    path = index_dir / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    if refingerprint:
        m.update(seal_manifest(m))  # re-sealed with this machine's key: the checks behind the seal
    path.write_text(json.dumps(m))


def test_other_model_is_refused(small):
    _, index_dir, _, _ = small
    built = load_index(index_dir).manifest["model"]
    with pytest.raises(IndexMismatch, match=f"built with model {built['name']}.*other-model.*rag index"):
        load_index(index_dir, Expected(model_name="other-model"))
    with pytest.raises(IndexMismatch, match=f"{built['dim']}-dimensional.*1024"):
        load_index(index_dir, Expected(model_dim=1024))


def test_other_chunk_settings_are_refused(small):
    _, index_dir, _, _ = small
    with pytest.raises(IndexMismatch, match="chunk_size=300, not 1200"):
        load_index(index_dir, Expected(chunking=ChunkSettings().as_dict()))


def test_changed_corpus_is_refused(small, embedder):
    corpus_dir, index_dir, _, _ = small
    Rag.open(index_dir, embedder)  # unchanged: fine
    with open(corpus_dir / "alpha.txt", "a", encoding="utf-8") as f:
        f.write(" One more sentence.")
    with pytest.raises(IndexMismatch, match=r"corpus changed.*alpha\.txt changed.*rag index"):
        Rag.open(index_dir, embedder)
    (corpus_dir / "beta.md").unlink()
    with pytest.raises(IndexMismatch, match=r"beta\.md removed"):
        Rag.open(index_dir, embedder)


def test_older_format_is_refused(small):
    _, index_dir, _, _ = small
    _edit_manifest(index_dir, lambda m: m.update(format_version=0))
    with pytest.raises(IndexMismatch, match=f"format 0, this rag reads format {FORMAT_VERSION}.*rag index"):
        load_index(index_dir)


def test_edited_manifest_is_refused(small):
    _, index_dir, _, _ = small
    _edit_manifest(index_dir, lambda m: m["chunking"].update(chunk_size=999), refingerprint=False)
    with pytest.raises(IndexCorrupt, match="fingerprint"):
        load_index(index_dir)


def test_chunk_count_must_equal_vector_count(small):
    _, index_dir, index, _ = small
    fewer = faiss.IndexFlatIP(index.vectors.d)
    fewer.add(index.vectors.reconstruct_n(0, index.vectors.ntotal - 1))
    data = faiss.serialize_index(fewer).tobytes()
    (index_dir / "vectors.faiss").write_bytes(data)
    _edit_manifest(
        index_dir, lambda m: m["files"].update({"vectors.faiss": {"bytes": len(data), "sha256": sha256_bytes(data)}})
    )
    with pytest.raises(IndexMismatch, match=f"{index.vectors.ntotal - 1} vectors for {index.vectors.ntotal} chunks"):
        load_index(index_dir)


@pytest.mark.parametrize("name", ["vectors.faiss", "chunks.jsonl", "documents.jsonl", "bm25/params.index.json"])
def test_truncated_files_are_refused(small, name):
    _, index_dir, _, _ = small
    path = index_dir / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(IndexCorrupt, match=f"{name}.*truncated.*rag index"):
        load_index(index_dir)


def test_corrupted_bytes_are_refused(small):
    _, index_dir, _, _ = small
    path = index_dir / "vectors.faiss"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="vectors.faiss is corrupted"):
        load_index(index_dir)


def test_garbage_faiss_file_with_matching_checksum_is_refused(small):
    _, index_dir, _, _ = small
    data = b"not a faiss index at all"
    (index_dir / "vectors.faiss").write_bytes(data)
    _edit_manifest(
        index_dir, lambda m: m["files"].update({"vectors.faiss": {"bytes": len(data), "sha256": sha256_bytes(data)}})
    )
    with pytest.raises(IndexCorrupt, match="cannot be read by FAISS"):
        load_index(index_dir)


def test_index_over_a_plain_folder_is_replaced_atomically(tmp_path, embedder):
    corpus_dir = write_corpus(tmp_path / "c", {"a.txt": "Some Title Words\n\nBody sentence here."})
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    (index_dir / "manifest.json").write_text("{broken")  # a damaged index from an older build
    with pytest.raises(IndexCorrupt, match="manifest.json is unreadable"):
        load_index(index_dir)
    build_index(load_corpus(corpus_dir), index_dir, embedder, SMALL)
    assert index_dir.is_symlink() and load_index(index_dir).chunks
    shutil.rmtree(tmp_path / "c")
    Rag.open(index_dir, embedder)  # corpus folder gone: the index still serves


def test_corpus_over_the_sentence_limit_gets_passage_vectors_and_stops_splitting(tmp_path, embedder, monkeypatch):
    import rag.index.sentence_layer

    texts = {f"d{i}.txt": f"Title {i}\n\nFirst sentence {i} here. Second sentence {i} there." for i in range(6)}
    corpus_dir = write_corpus(tmp_path / "c", texts)
    monkeypatch.setattr(rag.index.sentence_layer, "SENTENCE_LIMIT", 5)
    split_docs = []
    real = rag.index.sentence_layer.split_many

    def counting(docs):
        for spans in real(docs):
            split_docs.append(spans)
            yield spans

    monkeypatch.setattr(rag.index.sentence_layer, "split_many", counting)
    index, _ = build_index(load_corpus(corpus_dir), tmp_path / "i", embedder, SMALL)
    assert index.sentences is None and index.manifest["store"]["sentences"] is False
    assert index.manifest["store"]["chunk_vectors"] == "passage"
    assert len(split_docs) < 6  # stopped once over the limit
    expected = embedder.embed_documents([c.text for c in index.chunks])
    assert np.allclose(index.vectors.reconstruct_n(0, index.vectors.ntotal), expected, atol=1e-5)


def test_a_chunk_without_sentences_is_encoded_itself(tmp_path, embedder, monkeypatch):
    import rag.index.sentence_layer

    corpus_dir = write_corpus(
        tmp_path / "c",
        {"a.txt": "Alpha Title\n\nThe cat sat on the mat.", "b.txt": "Beta Title\n\nDogs bark at night."},
    )
    real = rag.index.sentence_layer.split_many

    def none_for_beta(texts):
        for text, spans in zip(texts, real(texts)):
            yield [] if "Beta" in text else spans

    monkeypatch.setattr(rag.index.sentence_layer, "split_many", none_for_beta)
    index, _ = build_index(load_corpus(corpus_dir), tmp_path / "i", embedder, SMALL)
    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    beta = next(i for i, c in enumerate(index.chunks) if c.doc_id == "b")
    assert float(vectors[beta] @ embedder.embed_documents([index.chunks[beta].text])[0]) >= 0.9999
    assert {s.doc_id for s in index.sentences.sentences} == {"a"}


def test_names_in_full_reach_term_matching_only(tmp_path, embedder):
    """A bare surname's sentence is matched word by word with the name in
    full (rag.ingest.names), while its vector, its chunk and every offset stay
    those of the text as written."""
    text = (
        "Talks resumed on Monday, and Ukrainian President Volodymyr Zelensky said a deal was near. "
        "Observers doubt that Zelensky can sign it alone."
    )
    corpus_dir = write_corpus(tmp_path / "c", {"talks.txt": text})
    index, _ = build_index(load_corpus(corpus_dir), tmp_path / "i", embedder, SMALL)
    layer = index.sentences
    doc = index.documents["talks"]
    (bare,) = [s for s in layer.sentences if doc.text[s.start : s.end].startswith("Observers")]
    written = doc.text[bare.start : bare.end]
    assert written == "Observers doubt that Zelensky can sign it alone."
    pieces = layer.token_ids[layer.token_offsets[bare.sentence_id] : layer.token_offsets[bare.sentence_id + 1]]
    assert set(embedder.token_strings(pieces)) >= {"ukrainian", "president"}
    assert float(layer.vectors[bare.sentence_id] @ embedder.embed_documents([written])[0]) >= 0.9999
    answer = Rag(index, embedder).ask("Can the Ukrainian president sign it alone?")
    assert answer.quotes and all(doc.text[q.start : q.end] == q.text for q in answer.quotes)
    assert all("Ukrainian President Volodymyr Zelensky can" not in q.text for q in answer.quotes)
