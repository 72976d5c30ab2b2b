"""The corpus-against-question products (rag.retrieval.products) and the MaxSim built on them."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.sentence_layer import SentenceLayer
from rag.index.token_store import Codebook, TokenStore
from rag.retrieval import matches
from rag.retrieval import products as products_module
from rag.retrieval.matches import best_matches
from rag.retrieval.products import GRAPH, products


@pytest.mark.unit
def test_the_shipped_graph_is_one_matmul_of_the_named_inputs():
    import onnx  # a dependency of rag (torch.onnx.export needs it)

    model = onnx.load(str(GRAPH))
    onnx.checker.check_model(model)
    nodes = model.graph.node
    assert [n.op_type for n in nodes] == ["MatMul"]
    assert list(nodes[0].input) == ["rows", "few"] and list(nodes[0].output) == ["products"]
    assert not model.graph.initializer  # no weights: nothing but the product


@pytest.mark.unit
def test_products_equal_numpys_for_every_shape_a_question_gives():
    rng = np.random.default_rng(7)
    assert products_module._session(1) is not None  # onnxruntime runs it here: the fast path is the one tested
    for n, k in [(1, 1), (5, 13), (3000, 13), (2500, 1), (10, 40)]:
        rows = rng.standard_normal((n, 64)).astype(np.float32)
        few = rng.standard_normal((k, 64)).astype(np.float32)
        got = products(rows, few)
        assert got.shape == (n, k) and got.dtype == np.float32
        assert np.allclose(got, rows @ few.T, atol=1e-4)
    one = rng.standard_normal(64).astype(np.float32)
    got = products(rows, one)
    assert got.shape == (10,) and np.allclose(got, rows @ one, atol=1e-4)
    assert products(np.zeros((0, 64), np.float32), one).shape == (0,)
    assert products(rows, np.zeros((0, 64), np.float32)).shape == (10, 0)


@pytest.mark.unit
def test_products_without_onnxruntime_are_numpys(monkeypatch):
    monkeypatch.setattr(products_module, "_session", lambda threads: None)
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    few = np.array([[1, 0, 0], [0, 0, 2]], dtype=np.float32)
    assert np.array_equal(products(rows, few), np.array([[0, 4], [3, 10], [6, 16], [9, 22]], dtype=np.float32))


@pytest.mark.unit
def test_best_match_is_each_pieces_maximum_over_each_sentences_pieces():
    # Three sentences of 2, 0 and 3 word pieces; two question pieces.
    tokens = np.array([[1, 0], [0, 1], [0.6, 0.8], [-1, 0], [0, -1]], dtype=np.float32)
    offsets = np.array([0, 2, 2, 5])
    q = np.array([[1, 0], [0.8, 0.6]], dtype=np.float32)
    best = best_matches(q, tokens, offsets)
    assert best.shape == (2, 3)
    assert np.allclose(best[:, 0], [1.0, 0.8])  # sentence 0: its first piece for both
    assert np.allclose(best[:, 1], [-1.0, -1.0])  # no word pieces: no match
    assert np.allclose(best[:, 2], [0.6, 0.96])  # 0.8·0.6 + 0.6·0.8
    assert np.allclose(best_matches(q, np.zeros((0, 2), np.float32), np.array([0, 0])), -1.0)


class _Layer:
    """What decoded_best_matches reads of a sentence layer: its offsets and its store."""

    token_index = SentenceLayer.token_index
    token_rows = SentenceLayer.token_rows

    def __init__(self, lengths: list[int], store: TokenStore):
        self.token_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.tokens = store


@pytest.mark.unit
def test_token_index_lists_each_sentences_pieces_in_order_empty_sentences_too():
    layer = _Layer([2, 0, 3, 1, 0], TokenStore("f16", np.zeros((6, 2), np.float16)))
    index, offsets = layer.token_index(np.array([2, 1, 0, 4, 3, 2]))
    assert index.tolist() == [2, 3, 4, 0, 1, 5, 2, 3, 4]
    assert offsets.tolist() == [0, 3, 3, 5, 5, 6, 9]
    index, offsets = layer.token_index(np.array([1, 4], dtype=np.int64))
    assert index.tolist() == [] and offsets.tolist() == [0, 0, 0]
    assert layer.token_index(np.zeros(0, np.int64))[0].size == 0


@pytest.mark.unit
def test_best_matches_decoded_a_block_at_a_time_are_those_of_decoding_all_first(monkeypatch):
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((600, 48)).astype(np.float32)
    codebook = Codebook(rng.standard_normal((8, 256, 6)).astype(np.float32))
    lengths = rng.integers(0, 9, 120).tolist()
    layer = _Layer(lengths, TokenStore("pq", codebook.encode(vectors[: sum(lengths)]), codebook))
    q = rng.standard_normal((5, 48)).astype(np.float32)
    ids = rng.choice(len(lengths), 70)
    monkeypatch.setattr(matches, "TOKEN_BLOCK", 16)  # many blocks, and sentences across their edges
    got = matches.decoded_best_matches(q, layer, ids)
    assert np.array_equal(got, best_matches(q, *layer.token_rows(ids)))
    empty = np.array([i for i, n in enumerate(lengths) if n == 0][:1])
    assert empty.size and np.all(matches.decoded_best_matches(q, layer, empty) == -1.0)
