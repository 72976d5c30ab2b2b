"""The same sentence-transformers model run by onnxruntime, without torch.

Why: importing torch and sentence-transformers costs seconds on every cold
`rag ask`, and a single MiniLM query through torch is slower than through
onnxruntime. The ONNX file is exported *locally*, once, from the model's own
safetensors (torch is needed for that one step only) and cached on disk keyed
by the sha256 of the weights; nothing is ever downloaded. Tokenisation
(`tokenizers`, the model's own tokenizer.json), mean pooling and L2
normalisation reproduce sentence-transformers' Transformer → Pooling(mean) →
Normalize pipeline; tests check the vectors agree to cosine ≥ 0.999.

The weights are kept beside the graph (``model.onnx.data``), not inside it:
onnxruntime maps an external-data file instead of parsing and copying the
tensors out of the protobuf, which halves session creation for the 436 MB
mpnet model (0.39 s against 0.85 s; see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.embed.base import TokenEmbedding
from rag.embed.model_folder import loading_weights, max_length, supported, takes_token_types, weights_file
from rag.embed.pooling import pooled_pass, pooled_vectors, sentence_pass
from rag.embed.tokens import pad_id, pad_ids, special_ids, word_piece_ids, wordpiece_tokenizer
from rag.errors import ModelError
from rag.settings import cache_root, settings

# Bump when the exported graph changes, so stale caches are not reused.
# 2: weights in an external-data file beside the graph.
EXPORT_VERSION = 2
WEIGHTS_FILE = "model.onnx.data"


def _weights_sha256(weights: Path, cache: Path) -> str:
    """sha256 of the weights, memoised by (path, size, mtime) so a cold start
    does not re-hash 90 MB every time."""
    stat = weights.stat()
    stat_key = hashlib.sha256(f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    memo = cache / "hashes" / f"{stat_key}.txt"
    try:
        return memo.read_text().strip()
    except OSError:
        pass
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    _atomic_write(memo, value.encode())
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def onnx_path(model_path: Path) -> Path:
    """Where the exported graph of this model's weights lives (may not exist yet)."""
    cache = cache_root()
    weights = weights_file(model_path)
    if weights is None:
        raise ModelError(f"no model weights in {model_path}")
    key = _weights_sha256(weights, cache)[:32]
    return cache / "onnx" / f"{key}-v{EXPORT_VERSION}" / "model.onnx"


def export_onnx(model_path: Path, target: Path) -> Path:
    """Trace the transformer to ONNX with torch (the only step that needs it)."""
    import torch
    import transformers
    from transformers import AutoModel

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()

    # Eager attention: the SDPA path decides on the mask with Python
    # branches that tracing would freeze for the example input.
    with loading_weights(model_path):
        model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager").eval()

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_token_types(model_path) else [])

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    # An example with padding, so the mask is a real input of the graph.
    ids = torch.tensor([[5, 2023, 2003, 6], [5, 6, 1, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.long)
    example = (ids, mask, torch.zeros_like(ids))[: len(names)]
    axes = {n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]}
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    # Graph and weights are written into a private folder that is renamed
    # into place: a concurrent reader sees both files or neither.
    work = Path(tempfile.mkdtemp(prefix=f".{target.parent.name}.", dir=target.parent.parent))
    work.chmod(0o755)
    try:
        traced = work / "traced.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Encoder(model),
                example,
                str(traced),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        _externalise(traced, work / target.name)
        traced.unlink()
        try:
            os.rename(work, target.parent)
        except OSError:
            if not target.is_file():  # not a concurrent export that won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _drop_older_exports(target)
    return target


def _externalise(graph: Path, target: Path) -> None:
    """Save ``graph`` as ``target`` with its weights in WEIGHTS_FILE beside it."""
    import onnx

    model = onnx.load(str(graph))
    onnx.save_model(
        model,
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS_FILE,
        size_threshold=1024,
    )
    (target.parent / WEIGHTS_FILE).chmod(0o644)  # onnx writes it owner-only; the graph is 0644


def _drop_older_exports(target: Path) -> None:
    """Earlier export versions of the same weights are dead weight in the cache."""
    key = target.parent.name.rsplit("-v", 1)[0]
    for old in target.parent.parent.glob(f"{key}-v*"):
        if old != target.parent and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


_export_lock = threading.Lock()


def ensure_onnx(model_path: Path) -> Path:
    target = onnx_path(model_path)
    if target.is_file():
        return target
    with _export_lock:
        if not target.is_file():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_onnx(model_path, target)
    return target


def default_threads() -> int:
    """Threads per encode: RAG_THREADS, else one per core up to 4.

    Set RAG_THREADS=1 on a machine whose other cores are busy: a thread pool
    that waits for a descheduled thread is far slower than one thread.
    """
    return _threads_for(os.environ.get("RAG_THREADS"))


@lru_cache(maxsize=8)
def _threads_for(configured_text: str | None) -> int:
    # Kept per value of RAG_THREADS: reading every setting on each product
    # was ~0.7 ms of a warm question (py-spy, 1,200 abstracts).
    configured = settings().threads
    if configured:
        return configured
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


@lru_cache(maxsize=4)
def _session(onnx_file: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads burn the core another process needs and stall when
    # that process holds it; blocking costs little at these sizes.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """Embedder Protocol on onnxruntime + tokenizers; same name and vectors as
    SentenceTransformerEmbedder for the same folder."""

    def __init__(self, model_path: Path, name: str, dim: int, batch_size: int = 16, threads: int | None = None):
        reason = supported(model_path)
        if reason:
            raise ModelError(f"{model_path} cannot run on onnxruntime: {reason}")
        self.model_path = model_path
        self._name = name
        self._dim = dim
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self.max_length = max_length(model_path)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @cached_property
    def _tokenizer(self):
        return wordpiece_tokenizer(self.model_path, self.max_length)

    @cached_property
    def _session(self):
        try:
            return _session(str(ensure_onnx(self.model_path)), self.threads)
        except ModelError:
            raise
        except Exception as err:  # export or load failed: the folder or runtime is at fault
            raise ModelError(f"cannot run {self.model_path} on onnxruntime: {err}") from err

    @cached_property
    def _inputs(self) -> tuple[str, ...]:
        """The graph's own inputs: MPNet-style models take no token types."""
        return tuple(i.name for i in self._session.get_inputs())

    @cached_property
    def _pad_id(self) -> int:
        return pad_id(self.model_path)

    def warm(self) -> None:
        """Load tokenizer and session now (the first query otherwise pays)."""
        self._tokenizer, self._session  # noqa: B018

    def _forward(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded word-piece ids, attention mask and last hidden state of a batch of id rows."""
        ids, mask, types = pad_ids(rows, self._pad_id)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (hidden,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        return ids, mask, hidden

    def _ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        return word_piece_ids(self._tokenizer, texts)

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """Per text: ids, unit token vectors, pooled unit vector and the sum of
        its token states (see rag.embed.torch_backend.TokenEmbedding)."""
        return sentence_pass(self._forward, self._ids(texts), self.batch_size, progress)

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: word-piece ids, unit token vectors (float16) and the pooled
        unit vector, as SentenceTransformerEmbedder.embed_tokens gives them."""
        return [e.as_tuple() for e in self.embed_sentences(texts)]

    @cached_property
    def special_ids(self) -> frozenset[int]:
        return special_ids(self.model_path)

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self._tokenizer.id_to_token(int(i)) or "" for i in ids]

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return pooled_pass(self._forward, self._ids(texts), self.dim, self.batch_size, progress)

    def embed_query(self, text: str) -> np.ndarray:
        _, mask, hidden = self._forward(self._ids([text]))
        return pooled_vectors(mask, hidden)[0].astype(np.float32)
