"""Questions on torch (rag.embed.query_bf16, Rag.keep_warm): the model's own
vectors, for both encoder layouts rag ships, and onnxruntime wherever that
path is not to be had."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.embed.auto import FastEmbedder, default_embedder
from rag.embed.model_folder import bundled_model_path
from rag.embed.query_bf16 import QueryEncoder, load_query_encoder
from rag.embed.torch_backend import cpu_has_bf16
from rag.pipeline import Rag
from rag.settings import settings

pytestmark = pytest.mark.model  # loads, exports or checks the embedding models

QUESTIONS = [
    "Who is Michael Kofman?",
    "x",
    "négociation — ‘quotes’ ✓",
    "Why " + "would the negotiations stall again " * 80 + "?",  # past the model's word-piece limit
]


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


@pytest.mark.parametrize("model", ["minilm", "mpnet"])
def test_our_forward_gives_the_models_own_states(model):
    """In float32 (so on any CPU), the one-question forward equals
    onnxruntime's run of the exported model, token by token, for BERT
    (MiniLM) and MPNet alike, a truncated question included."""
    import torch

    onnx = FastEmbedder(model, bf16=False)
    encoder = load_query_encoder(onnx.model_path, torch.float32)
    assert encoder is not None and not encoder.packed
    for ids, tokens, vector in onnx.embed_tokens(QUESTIONS):
        hidden = encoder.hidden(ids)
        assert hidden.shape == (len(ids), onnx.dim)
        assert (_unit(hidden) * tokens.astype(np.float32)).sum(axis=1).min() >= 0.999  # tokens are float16
        assert float(_unit(hidden.sum(axis=0)) @ vector) >= 0.99999


def test_keep_warm_moves_questions_to_bf16_where_the_cpu_has_it(essays_index):
    """Where the CPU has bfloat16 the questions run on torch, with packed
    weights, within cosine 0.999 of onnxruntime's vectors, and the plain
    questions get the same first quotation; elsewhere nothing changes."""
    from threadpoolctl import threadpool_info, threadpool_limits

    embedder = default_embedder()
    rag = Rag(essays_index, embedder)
    questions = ["Who is Michael Kofman?", "What would a negotiated settlement require of Ukraine?"]
    before = {q: (embedder.embed_query(q), rag.ask(q)) for q in questions}
    expected = cpu_has_bf16() and settings().bf16
    with threadpool_limits():  # restores numpy's BLAS threads for the tests after
        rag.keep_warm()
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert embedder.keep_warm() is expected
    if expected:
        assert isinstance(embedder._questions, QueryEncoder) and embedder._questions.packed
    for q, (vector, answer) in before.items():
        assert float(embedder.embed_query(q) @ vector) >= 0.999
        again = rag.ask(q)
        assert not again.abstained and again.quotes[0] == answer.quotes[0]


def test_without_bf16_questions_stay_on_onnxruntime(essays_index, monkeypatch):
    monkeypatch.setenv("RAG_BF16", "0")
    embedder = default_embedder()
    assert embedder.keep_warm() is False
    assert Rag(essays_index, embedder).ask("Who is Michael Kofman?").quotes


def test_a_layout_it_does_not_know_stays_on_onnxruntime(tmp_path):
    """A BERT with relative position embeddings is not the layout our forward
    computes: refused, and the embedder keeps answering on onnxruntime."""
    import torch

    folder = tmp_path / "model"
    shutil.copytree(bundled_model_path(), folder)
    config = json.loads((folder / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (folder / "config.json").write_text(json.dumps(config))
    assert load_query_encoder(folder, torch.float32) is None
    embedder = FastEmbedder(folder)
    assert embedder.keep_warm() is False
    assert embedder.embed_query("Who is Michael Kofman?").shape == (384,)


def test_a_forward_that_disagrees_with_the_library_is_refused(monkeypatch):
    """The load checks our forward against transformers' own on a probe."""
    import torch

    real = QueryEncoder.hidden

    def drifted(self, ids):
        states = real(self, ids)
        states[1:] = states[1:][::-1]  # word pieces out of place: pooled alike, tokens not
        return states

    monkeypatch.setattr(QueryEncoder, "hidden", drifted)
    assert load_query_encoder(bundled_model_path(), torch.float32) is None
