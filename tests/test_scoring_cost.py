"""What keeps a question's cost flat as the corpus grows (rag.retrieval.scoring, rag.embed.pooling)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embed.pooling import token_embeddings
from rag.retrieval.scoring import SAMPLE, SAMPLE_RUN, SAMPLE_SPREAD, sample_of


@pytest.mark.unit
def test_pooled_vectors_are_float32_whatever_the_masks_type():
    """An int64 attention mask once made every vector float64, and each question's
    product with the corpus's float32 matrices upcast them whole."""
    hidden = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.int64)
    ids = np.arange(10, dtype=np.int64).reshape(2, 5)
    first, second = token_embeddings(ids, mask, hidden)
    assert first.vector.dtype == np.float32 and first.state_sum.dtype == np.float32
    assert len(first.tokens) == 3 and len(second.tokens) == 5
    expected = hidden[0, :3].sum(axis=0)
    assert np.allclose(first.vector, expected / np.linalg.norm(expected), atol=1e-6)


@pytest.mark.unit
def test_the_sample_is_every_sentence_of_a_small_corpus_and_runs_across_a_big_one():
    assert np.array_equal(sample_of(SAMPLE), np.arange(SAMPLE))
    n = 50_000
    sample = sample_of(n)
    assert len(sample) == SAMPLE_SPREAD and np.all(np.diff(sample) > 0)
    runs = np.split(sample, np.flatnonzero(np.diff(sample) > 1) + 1)
    assert {len(r) for r in runs} == {SAMPLE_RUN}  # whole runs: each one's predecessors are in the sample
    assert sample[0] == 0 and sample[-1] == n - 1  # spread over the whole corpus


def test_neighbour_scores_equal_the_joined_vectors_cosines(essays_index, embedder):
    layer = essays_index.sentences
    q = np.asarray(embedder.embed_query("What would an off-ramp for Putin look like?"), dtype=np.float32)
    dense = (layer.vectors @ q).astype(np.float32)
    ids = np.arange(layer.n)
    for side in ("prev", "next"):
        expected = layer.neighbour_vectors(ids, side) @ q
        assert np.allclose(layer.neighbour_scores(ids, side, dense), expected, atol=1e-5)


def test_a_sentence_record_out_of_its_document_is_named_on_open(essays_index):
    """The records are checked as arrays (a record at a time cost 0.1 s per open at
    1,200 abstracts); each rule still refuses, naming the first bad record."""
    import io

    from rag.index.sentence_layer import FILES, load_sentence_layer

    folder = essays_index.path
    docs = essays_index.documents

    def layer_with(rows: np.ndarray):
        def read(name: str) -> bytes:
            if name == FILES["sentences"]:
                buffer = io.BytesIO()
                np.save(buffer, rows, allow_pickle=False)
                return buffer.getvalue()
            return (folder / name).read_bytes()

        return load_sentence_layer(read, lambda name: (folder / name).exists(), docs, len(essays_index.chunks))

    rows = np.load(folder / FILES["sentences"], allow_pickle=False)
    layer = layer_with(rows)  # as built: loads, every sentence as the index has it
    assert [(s.doc_id, s.start, s.end) for s in layer.sentences] == [
        (s.doc_id, s.start, s.end) for s in essays_index.sentences.sentences
    ]
    n_chunks, n = len(essays_index.chunks), len(rows)
    text_len = len(docs[layer.sentences[7].doc_id].text)
    for column, value in [(0, 99), (1, -1), (2, text_len + 1), (3, n_chunks), (4, 99), (5, n)]:
        bad = rows.copy()
        bad[7, column] = value
        with pytest.raises(ValueError, match="sentence record 7 does not match"):
            layer_with(bad)
    with pytest.raises(ValueError, match="malformed"):
        layer_with(rows.astype(np.float64))
