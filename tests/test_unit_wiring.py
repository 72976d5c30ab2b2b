"""The fast unit layer: the real wiring (build → load → retrieve → answer, the
manifest's checks, the retriever registry) with the fake embedder of
tests/fakes.py, so each test runs in milliseconds. `pytest -m unit` runs
it with every other test that needs no model and no browser. What the answers say is tested with the real model
elsewhere (test_answers.py, test_store.py, ...); these tests check only
that the stages fit together and keep their promises about files.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing
from rag.index.build import build_index
from rag.index.load import CHUNKS, load_index
from rag.index.manifest import Expected, fingerprint
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag
from rag.retrieval import registry
from tests.conftest import write_corpus
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.unit

DOCS = {
    "garden.txt": "Garden Notes\n\nTomatoes need full sun and steady water. Basil grows well beside them. "
    "Slugs come out after rain and eat the lettuce.",
    "harbour.txt": "Harbour Log\n\nThe ferry leaves at noon every day. Fishing boats return at dusk. "
    "The lighthouse keeper writes every ship down in a red book.",
    "orchard.md": "# Orchard Diary\n\nThe apple trees flower in April. Pears ripen late in September. "
    "Wasps find the fallen plums first.",
}


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", DOCS)


@pytest.fixture
def built(corpus, tmp_path):
    fake = FakeEmbedder()
    index, report = build_index(load_corpus(corpus), tmp_path / "index" / "default", fake)
    return index, report, fake


def test_fake_embedder_is_deterministic_and_unit_length():
    a, b = FakeEmbedder(), FakeEmbedder()
    texts = ["Tomatoes need sun.", "", "The ferry leaves at noon."]
    va, vb = a.embed_documents(texts), b.embed_documents(texts)
    assert va.shape == (3, 64) and va.dtype == np.float32
    assert np.array_equal(va, vb)
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0, atol=1e-5)
    # A bag of words: word order does not matter, words do.
    assert np.allclose(a.embed_query("sun tomatoes"), a.embed_query("Tomatoes, sun!"))
    assert float(a.embed_query("ferry noon") @ a.embed_query("tomatoes sun")) < 0.9
    # The sentence pass agrees with the plain one, as a mean-pooled model's does.
    (one,) = a.embed_sentences(["The ferry leaves at noon."])
    assert np.allclose(one.vector, va[2], atol=1e-6)
    assert np.allclose(one.state_sum / np.linalg.norm(one.state_sum), one.vector, atol=1e-6)
    assert a.token_strings(one.ids)[:3] == ["[CLS]", "the", "ferry"] and a.token_strings(one.ids)[-1] == "[SEP]"


def test_build_writes_a_loadable_index_with_every_layer(built, corpus):
    index, report, fake = built
    assert not report.up_to_date and report.documents == 3 and report.embedded == report.chunks > 0
    loaded = load_index(index.path, Expected(model_name=fake.name, model_dim=fake.dim))
    assert loaded.fingerprint == index.fingerprint
    assert sorted(loaded.documents) == ["garden", "harbour", "orchard"]
    for chunk in loaded.chunks:
        assert loaded.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    manifest = loaded.manifest
    assert manifest["model"] == {"name": fake.name, "dim": 64, "normalized": True}
    assert manifest["chunking"] == ChunkSettings().as_dict()
    assert manifest["store"]["sentences"] is True and manifest["store"]["chunk_vectors"] == "sentence_sum"
    assert manifest["corpus"]["folder"] == str(corpus)
    assert manifest["fingerprint"] == fingerprint(manifest)
    assert loaded.sentences is not None and loaded.sentences.n >= 9  # three sentences a document, and titles
    assert loaded.vectors.ntotal == len(loaded.chunks) and loaded.bm25.size == len(loaded.chunks)


def test_every_registered_retriever_serves_through_the_pipeline(built):
    index, _, fake = built
    rag = Rag(index, fake)
    assert registry.RETRIEVERS == ("dense", "bm25", "hybrid", "fusion")
    for name in registry.RETRIEVERS:
        hits = rag.search("ferry leaves at noon", k=2, retriever=name)
        assert 1 <= len(hits) <= 2 and [h.rank for h in hits] == list(range(1, len(hits) + 1)), name
        assert all(h.retriever == name for h in hits), name
        assert hits[0].chunk.doc_id == "harbour", name  # the only document with these words
        assert hits[0].title == "Harbour Log"
    assert rag.retriever("dense") is rag.retriever("dense")  # made once per Rag


def test_registry_names_its_choices():
    with pytest.raises(ValueError, match="unknown retriever 'nope'; choose one of dense, bm25, hybrid, fusion"):
        registry.spec("nope")
    for name in registry.RETRIEVERS:
        spec = registry.spec(name)
        assert spec.name == name and spec.description and "\n" not in spec.description


def test_an_answer_quotes_verbatim_and_cites_its_passage(built):
    index, _, fake = built
    answer = Rag(index, fake).ask("The ferry leaves at noon every day.")
    assert not answer.abstained and answer.quotes
    for q in answer.quotes:
        assert index.documents[q.doc_id].text[q.start : q.end] == q.text
        assert q.title == index.title(q.doc_id)
        # The passage it comes from is among those listed with the answer.
        assert any(
            h.chunk.doc_id == q.doc_id and h.chunk.start <= q.start and q.end <= h.chunk.end for h in answer.passages
        )
    assert answer.quotes[0].text == "The ferry leaves at noon every day."
    assert "[1]" in answer.text


def test_a_rebuild_of_the_same_corpus_is_a_no_op_and_a_change_embeds_only_it(built, corpus):
    index, _, fake = built
    again, report = build_index(load_corpus(corpus), index.path, fake)
    assert report.up_to_date and again.fingerprint == index.fingerprint
    fake.calls.clear()
    (corpus / "harbour.txt").write_text(DOCS["harbour.txt"] + " A storm closed the port in March.", encoding="utf-8")
    changed, report = build_index(load_corpus(corpus), index.path, fake)
    assert not report.up_to_date and report.reused > 0 and report.embedded >= 1
    embedded = sum(n for method, n in fake.calls if method == "embed_sentences")
    harbour_sentences = [s for s in changed.sentences.sentences if s.doc_id == "harbour"]
    assert 0 < embedded <= len(harbour_sentences)  # no sentence of the unchanged essays again
    assert changed.fingerprint != index.fingerprint
    assert "storm" in changed.documents["harbour"].text


def test_loading_checks_model_corpus_and_files(built, corpus):
    index, _, fake = built
    path = index.path
    with pytest.raises(
        IndexMismatch, match="was built with model fake/hashed-bag-of-words, but the configured model is other"
    ):
        load_index(path, Expected(model_name="other"))
    with pytest.raises(IndexMismatch, match="holds 64-dimensional vectors, the model gives 384"):
        load_index(path, Expected(model_dim=384))
    with pytest.raises(IndexMismatch, match="was built with chunk_size=1200, not 800"):
        load_index(path, Expected(chunking={"chunk_size": 800}))
    (corpus / "orchard.md").write_text("# Orchard Diary\n\nNew text.", encoding="utf-8")
    with pytest.raises(IndexMismatch, match=r"the corpus changed since .* \(orchard\.md changed\); run `rag index"):
        Rag.open(path, fake)
    with pytest.raises(IndexMissing, match="no index at"):
        load_index(path.parent / "elsewhere")


def test_a_record_that_no_longer_matches_its_document_is_refused(built):
    index, _, _ = built
    folder = index.path.resolve()
    rows = [json.loads(line) for line in (folder / CHUNKS).read_text(encoding="utf-8").splitlines()]
    rows[0]["start"] += 1  # an offset one character off
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    (folder / CHUNKS).write_bytes(data)
    with pytest.raises(IndexCorrupt, match="chunks.jsonl is (truncated or altered|corrupted)"):
        load_index(index.path)
    # Even with the manifest's checksum (and the fingerprint over it) brought in
    # line, the offset check catches it.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    import hashlib

    from rag.index.manifest import seal_manifest

    manifest["files"][CHUNKS] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest.update(seal_manifest(manifest))  # re-sealed with the key
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="chunks.jsonl record 0 does not match its document"):
        load_index(index.path)


def test_a_load_that_loses_its_generation_to_a_swap_reads_the_new_one(built, corpus, monkeypatch):
    """A reader resolves the link, then a build publishes and deletes that
    generation before the reader opens its files: the reader must retry on
    the new generation, never fail or mix the two (rag.index.load.load_index)."""
    import rag.index.load as load

    index, _, fake = built
    (corpus / "extra.txt").write_text("Extra Pages\n\nOwls hunt at night.", encoding="utf-8")
    real = load._load_generation
    seen = []

    def swap_first(index_dir, folder, expected, any_store):
        seen.append(folder.name)
        if len(seen) == 1:  # the first attempt: a build finishes between resolving and reading
            monkeypatch.setattr(load, "_load_generation", real)  # the build loads the index too
            build_index(load_corpus(corpus), index.path, fake)
            monkeypatch.setattr(load, "_load_generation", swap_first)
            assert not folder.exists()
        return real(index_dir, folder, expected, any_store)

    monkeypatch.setattr(load, "_load_generation", swap_first)
    loaded = load.load_index(index.path)
    assert len(seen) == 2 and seen[0] != seen[1] == os.readlink(index.path)
    assert "extra" in loaded.documents and loaded.fingerprint != index.fingerprint


def test_json_citations_say_where_they_start_in_the_cli_and_on_the_page(built):
    """README's JSON shape: each citation's paragraph (from 1) and page (None but for PDFs)."""
    from rag.answer.serialize import answer_to_dict
    from rag.chat.session import ChatTurn, record_for
    from rag.types import Rewrite

    index, _, fake = built
    answer = Rag(index, fake).ask("The ferry leaves at noon every day.")
    (first, *_) = answer_to_dict(answer, index.documents)["citations"]
    assert first["quote"] == "The ferry leaves at noon every day."
    assert (first["paragraph"], first["page"]) == (2, None)  # the headline is paragraph 1
    assert "paragraph" not in answer_to_dict(answer)["citations"][0]  # without the documents, the bare shape
    turn = ChatTurn(1, Rewrite(answer.question, answer.question), answer)
    assert record_for(turn, index.documents)["citations"][0] == first
