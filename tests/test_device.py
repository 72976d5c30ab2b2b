"""RAG_DEVICE: builds run their passes over the documents on a GPU where one is named,
in float32, and say in one line when this torch cannot reach it; questions stay on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embed.torch_backend import SentenceTransformerEmbedder
from rag.settings import Settings, SettingsError
from tests.conftest import write_corpus
from tests.test_cli import one_line_error, run


@pytest.mark.unit
@pytest.mark.parametrize(
    "value, device", [(None, None), ("cpu", None), (" CPU ", None), ("cuda", "cuda"), ("cuda:1", "cuda:1")]
)
def test_the_device_setting_reads_cpu_as_none_and_keeps_cuda(value, device):
    env = {} if value is None else {"RAG_DEVICE": value}
    assert Settings.from_env(env).device == device


@pytest.mark.unit
@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cuda:1;rm -rf", "mps", "cuda:12345"])
def test_a_device_rag_does_not_know_is_named(value):
    with pytest.raises(SettingsError, match="RAG_DEVICE"):
        Settings.from_env({"RAG_DEVICE": value})


@pytest.mark.model
def test_a_build_on_a_gpu_this_torch_cannot_reach_is_one_line_and_writes_nothing(tmp_path):
    import torch

    corpus = write_corpus(tmp_path / "c", {"a.txt": "Garden Notes\n\nTomatoes need full sun and steady water."})
    index_dir = tmp_path / "idx"
    result = run("index", "--corpus", str(corpus), "--index", str(index_dir), "-q", env={"RAG_DEVICE": "cuda"})
    if torch.cuda.is_available():  # a CUDA build of torch on a GPU machine: the build runs there
        assert result.returncode == 0, result.stderr
        assert (index_dir / "manifest.json").exists()
        return
    line = one_line_error(result)
    assert "RAG_DEVICE=cuda" in line and "no CUDA device" in line
    assert not (index_dir / "manifest.json").exists()
    # The questions' side is not touched: an index built without it is asked as before.
    built = run("index", "--corpus", str(corpus), "--index", str(index_dir), "-q")
    assert built.returncode == 0, built.stderr
    asked = run("ask", "What do tomatoes need?", "--index", str(index_dir), env={"RAG_DEVICE": "cuda"})
    assert asked.returncode == 0 and "Tomatoes need full sun" in asked.stdout, asked.stderr


@pytest.mark.model
def test_the_device_pass_gives_the_cpus_float32_vectors(embedder):
    """The float32 pass a GPU runs, run here on the CPU device: its sentence and
    word-piece vectors are onnxruntime's (the build's usual path) within rounding."""
    texts = [
        "Tomatoes need full sun and steady water.",
        "The alpha plant opened in 1998 and makes glass bottles for three dairies in the valley.",
        "Why?",
    ]
    on_device = SentenceTransformerEmbedder(embedder.model_path, device="cpu")
    assert on_device._bulk_ok  # the bulk pass, not sentence-transformers' own encode
    got = on_device.embed_sentences(texts)
    want = embedder._onnx_or_none().embed_sentences(texts)
    for a, b in zip(got, want):
        assert np.array_equal(a.ids, b.ids)
        assert float(a.vector @ b.vector) > 0.9999
        cosines = (a.tokens.astype(np.float32) * b.tokens.astype(np.float32)).sum(1)
        assert cosines.min() > 0.999


@pytest.mark.unit
def test_the_default_embedder_sends_every_build_to_the_named_device(monkeypatch):
    from rag.embed import auto

    monkeypatch.setenv("RAG_DEVICE", "cuda:0")
    model = auto.default_embedder()
    assert model._torch.device == "cuda:0" and model._use_bulk(["one short sentence"])
    monkeypatch.setenv("RAG_BACKEND", "onnx")
    assert auto.default_embedder()._torch.device is None
    monkeypatch.delenv("RAG_BACKEND")
    monkeypatch.delenv("RAG_DEVICE")
    assert not auto.default_embedder()._use_bulk(["one short sentence"])
