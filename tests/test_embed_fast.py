"""The fast embedder (onnxruntime queries, bf16 builds) is the same model:
same name, same dimension, vectors within cosine 0.999 of sentence-transformers.

Run with all-MiniLM-L6-v2 (the backends are what is tested, and it is small),
and once with all-mpnet-base-v2, whose graph takes no token types."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag.embed import onnx_backend as onnx_embed
from rag.embed.auto import FastEmbedder, default_embedder
from rag.embed.model_folder import bundled_model_path
from rag.embed.torch_backend import SentenceTransformerEmbedder
from tests.conftest import ROOT

pytestmark = pytest.mark.model  # loads, exports or checks the embedding models

# The shared data folder sits beside the project (../shared), wherever it is checked out.
SCIFACT = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


@pytest.fixture(scope="module")
def reference():
    """sentence-transformers itself running all-MiniLM-L6-v2: the reference."""
    return SentenceTransformerEmbedder("minilm")


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A private export cache, so the test proves the export works from nothing."""
    cache = tmp_path_factory.mktemp("rag-cache")
    old = os.environ.get("RAG_CACHE")
    os.environ["RAG_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("RAG_CACHE", None)
    else:
        os.environ["RAG_CACHE"] = old


@pytest.fixture(scope="module")
def fast(onnx_cache):
    model = FastEmbedder("minilm", bf16=False)
    model.embed_query("warm up")
    return model


EDGE_CASES = ["Who is Michael Kofman?", "x", "   ", "négociation — ‘quotes’ ✓"]


@pytest.fixture(scope="session")
def texts(essays_index):
    """Real chunks of the essays, and a few awkward strings."""
    return [c.text for c in essays_index.chunks] + EDGE_CASES


@pytest.fixture(scope="session")
def scifact_texts():
    """20 SciFact abstracts: longer, more technical texts than the essays."""
    if not SCIFACT.is_file():
        pytest.skip(f"SciFact is not in the shared data folder ({SCIFACT} is missing)")
    with SCIFACT.open() as handle:
        return [f"{row['title']} {row['text']}" for row, _ in zip(map(json.loads, handle), range(20))]


@pytest.fixture(scope="session")
def few_texts(texts):
    """Few and short enough for bf16 where the CPU only emulates it (CI may lack AVX512-BF16/AMX)."""
    return texts[:3] + EDGE_CASES


def test_same_identity_as_sentence_transformers(fast, reference):
    assert fast.name == reference.name
    assert fast.dim == reference.dim
    assert fast.backend == "onnxruntime"


def test_onnx_vectors_match_sentence_transformers(fast, reference, texts):
    ours = fast.embed_documents(texts)
    ref = reference.embed_documents(texts)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert (ours * ref).sum(axis=1).min() >= 0.999
    for text in texts[:5]:
        assert float(fast.embed_query(text) @ reference.embed_query(text)) >= 0.999


def test_onnx_vectors_match_sentence_transformers_on_scifact(fast, reference, scifact_texts):
    ours = fast.embed_documents(scifact_texts)
    ref = reference.embed_documents(scifact_texts)
    assert (ours * ref).sum(axis=1).min() >= 0.999


def test_length_sorted_batches_keep_input_order(fast, texts):
    shuffled = list(reversed(texts))
    batch = fast.embed_documents(shuffled)
    one_by_one = np.stack([fast.embed_query(t) for t in shuffled])
    assert (batch * one_by_one).sum(axis=1).min() >= 0.9999


# The bf16 tests run on every CPU: torch computes bfloat16 without native
# support too (slower), so the build path that bf16 machines take by default
# is tested where CI runs, on a few texts.


def test_torch_bf16_weights_match_float32(reference, few_texts):
    ours = SentenceTransformerEmbedder("minilm", bf16=True).embed_documents(few_texts)
    ref = reference.embed_documents(few_texts)
    assert (ours * ref).sum(axis=1).min() >= 0.999


def test_bf16_sentence_pass_matches_float32_tokens_and_vectors(few_texts):
    """The build's one pass (bf16 torch) gives the float32 model's word pieces,
    token vectors and pooled vectors, and its state sums pool to the vector."""
    model = SentenceTransformerEmbedder("minilm", bf16=True)
    fast = model.embed_sentences(few_texts)
    ref = SentenceTransformerEmbedder("minilm").embed_sentences(few_texts)
    for ours, theirs in zip(fast, ref, strict=True):
        assert ours.ids.tolist() == theirs.ids.tolist()
        assert {int(ours.ids[0]), int(ours.ids[-1])} <= model.special_ids  # the model's own start and end marks
        assert float(ours.vector @ theirs.vector) >= 0.999
        token_cos = (ours.tokens.astype(np.float32) * theirs.tokens.astype(np.float32)).sum(axis=1)
        assert token_cos.min() >= 0.99
        pooled = ours.state_sum / np.linalg.norm(ours.state_sum)
        assert float(pooled @ theirs.vector) >= 0.999


def test_export_is_cached_by_weight_hash(fast, onnx_cache):
    path = onnx_embed.onnx_path(fast.model_path)
    assert path.is_file() and path.is_relative_to(onnx_cache)
    before = path.stat().st_mtime_ns
    assert onnx_embed.ensure_onnx(fast.model_path) == path
    assert path.stat().st_mtime_ns == before  # not exported again


def test_export_keeps_weights_beside_the_graph_and_replaces_older_versions(fast, onnx_cache, tmp_path):
    """The weights live in model.onnx.data (mapped, not parsed out of the
    graph); exporting anew leaves one version per weights and no temp folder."""
    path = onnx_embed.onnx_path(fast.model_path)
    data = path.parent / onnx_embed.WEIGHTS_FILE
    assert data.stat().st_size > 80_000_000 > 10 * path.stat().st_size  # MiniLM's 90 MB are outside the graph
    target = tmp_path / "export" / path.parent.name / "model.onnx"
    older = target.parent.with_name(path.parent.name.rsplit("-v", 1)[0] + "-v1")
    older.mkdir(parents=True)
    (older / "model.onnx").write_bytes(b"an older export")
    onnx_embed.export_onnx(fast.model_path, target)
    assert not older.exists()
    assert sorted(p.name for p in target.parent.parent.iterdir()) == [target.parent.name]
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx", onnx_embed.WEIGHTS_FILE]
    import onnxruntime as ort

    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()][:2] == ["input_ids", "attention_mask"]


def test_index_built_fast_serves_torch_and_back(tmp_path, fast, reference):
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag
    from tests.conftest import write_corpus

    corpus = write_corpus(
        tmp_path / "c", {"a.txt": "Title A\n\nCats sit on warm mats.", "b.txt": "Title B\n\nFAISS stores vectors."}
    )
    index, _ = build_index(load_corpus(corpus), tmp_path / "i", fast)
    hits_fast = Rag.open(tmp_path / "i", fast).search("where do cats sit", retriever="dense")
    hits_torch = Rag.open(tmp_path / "i", reference).search("where do cats sit", retriever="dense")
    assert [h.chunk.chunk_id for h in hits_fast] == [h.chunk.chunk_id for h in hits_torch]
    assert index.manifest["model"]["name"] == reference.name


def test_unsupported_folder_falls_back_to_sentence_transformers(tmp_path):
    src = bundled_model_path()
    folder = tmp_path / "model"
    folder.mkdir()
    for item in src.iterdir():
        if item.name != "1_Pooling":
            (folder / item.name).symlink_to(item)
    (folder / "1_Pooling").mkdir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert "mean pooling" in onnx_embed.supported(folder)
    assert FastEmbedder(folder).backend == "sentence-transformers"


def test_backend_setting(monkeypatch):
    monkeypatch.setenv("RAG_BACKEND", "torch")
    assert isinstance(default_embedder(), SentenceTransformerEmbedder)
    monkeypatch.setenv("RAG_BACKEND", "onnx")
    model = default_embedder()
    assert isinstance(model, FastEmbedder) and not model.bf16


def test_query_path_never_imports_torch(tmp_path, fast, onnx_cache):
    """The whole point of the onnx backend for a cold `rag ask`."""
    from rag.pipeline import build

    build(index_dir=tmp_path / "idx", embedder=fast)
    code = (
        "import sys; from rag.pipeline import Rag; "
        f"Rag.open({str(tmp_path / 'idx')!r}).ask('Who is Michael Kofman?'); "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'langchain_text_splitters') "
        "if m in sys.modules))"
    )
    env = dict(os.environ, RAG_CACHE=str(onnx_cache), RAG_BACKEND="auto", RAG_MODEL="minilm")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_parallel_streams_give_the_single_stream_result_in_input_order(few_texts):
    """Builds run the bf16 model in parallel single-threaded streams; the rows
    must come back in input order, as one stream computes them, and torch's
    thread setting must be restored afterwards."""
    import torch

    from rag.embed.pooling import sentence_pass

    model = SentenceTransformerEmbedder("minilm", bf16=True)
    model.batch_size = 2  # several batches, so that both streams work
    many = list(reversed(few_texts)) + few_texts
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # two streams even on one core
    try:
        parallel = model.embed_sentences(many)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    single = sentence_pass(model._forward, model._ids(many), model.batch_size, False, streams=1)
    for ours, theirs in zip(parallel, single, strict=True):
        assert ours.ids.tolist() == theirs.ids.tolist()
        assert float(ours.vector @ theirs.vector) >= 0.9999
    pooled = model.embed_documents(many)
    assert (pooled * np.stack([e.vector for e in single])).sum(axis=1).min() >= 0.9999


def test_default_build_path_of_bf16_machines(tmp_path, reference, monkeypatch, onnx_cache):
    """What `rag index` does by default where the CPU has bf16, forced here on
    any CPU: FastEmbedder sends a big enough build through torch in bf16 (one
    sentence pass, chunk vectors summed from it). The index must match a
    float32 build of the same corpus and serve the same passages."""
    import rag.embed.auto as auto
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag
    from tests.conftest import write_corpus

    monkeypatch.setattr(auto, "BF16_MIN_CHARS", 0)  # the bundled essays are below the real threshold
    model = FastEmbedder("minilm", bf16=True)
    assert model.bf16 and model._use_bulk(["any text"])
    calls = []
    real = model._torch.embed_sentences
    monkeypatch.setattr(
        model._torch, "embed_sentences", lambda t, progress=False: calls.append(len(t)) or real(t, progress)
    )
    corpus = write_corpus(
        tmp_path / "c",
        {
            "a.txt": "Cats and Mats\n\nCats sit on warm mats in the sun. They sleep most of the afternoon.",
            "b.txt": "Vector Stores\n\nFAISS stores vectors for search. It finds the nearest ones quickly.",
        },
    )
    ours, _ = build_index(load_corpus(corpus), tmp_path / "bf16", model)
    assert calls and sum(calls) >= len(ours.sentences.sentences)  # the bf16 torch pass made the layer
    ref, _ = build_index(load_corpus(corpus), tmp_path / "fp32", reference)
    assert ours.manifest["store"]["chunk_vectors"] == ref.manifest["store"]["chunk_vectors"] == "sentence_sum"
    a, b = (ix.vectors.reconstruct_n(0, ix.vectors.ntotal) for ix in (ours, ref))
    assert a.shape == b.shape and (a * b).sum(axis=1).min() >= 0.999
    assert np.array_equal(ours.sentences.token_ids, ref.sentences.token_ids)
    hits = [h.chunk.doc_id for h in Rag(ours, model).search("where do cats sleep", retriever="dense")]
    assert hits[0] == "a"


def test_mpnet_runs_alike_on_onnxruntime_and_torch():
    """all-mpnet-base-v2 has no token-type input: the export, the padding id and
    the bf16 forward follow the model's own files."""
    texts = ["Who is Michael Kofman?", "The frightening reality is that we are closer to nuclear war.", "x"]
    torch_side = SentenceTransformerEmbedder("mpnet")
    onnx_side = FastEmbedder("mpnet", bf16=False)
    assert onnx_side.backend == "onnxruntime" and onnx_side.dim == torch_side.dim == 768
    assert (onnx_side.embed_documents(texts) * torch_side.embed_documents(texts)).sum(axis=1).min() >= 0.999
    bf16 = SentenceTransformerEmbedder("mpnet", bf16=True).embed_documents(texts)
    assert (bf16 * torch_side.embed_documents(texts)).sum(axis=1).min() >= 0.99
    ((ids, tokens, _),) = onnx_side.embed_tokens(texts[:1])
    assert ids[0] == 0 and len(tokens) == len(ids)  # <s> opens it: MPNet's own special tokens
