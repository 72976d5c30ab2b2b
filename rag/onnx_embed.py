"""The same sentence-transformers model run by onnxruntime, without torch.

Why: importing torch and sentence-transformers costs seconds on every cold
`rag ask`, and a single MiniLM query through torch is slower than through
onnxruntime. The ONNX file is exported *locally*, once, from the model's own
safetensors (torch is needed for that one step only) and cached on disk keyed
by the sha256 of the weights; nothing is ever downloaded. Tokenisation
(`tokenizers`, the model's own tokenizer.json), mean pooling and L2
normalisation reproduce sentence-transformers' Transformer → Pooling(mean) →
Normalize pipeline; tests check the vectors agree to cosine ≥ 0.999.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.embed import TokenEmbedding, pooled_pass, pooled_vectors, sentence_pass
from rag.errors import ModelError

# Bump when the exported graph changes, so stale caches are not reused.
EXPORT_VERSION = 1
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_PIPELINE = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
             "sentence_transformers.models.Normalize")


def cache_root() -> Path:
    """$RAG_CACHE, else $XDG_CACHE_HOME/rag, else ~/.cache/rag."""
    if os.environ.get("RAG_CACHE"):
        return Path(os.environ["RAG_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag"


def supported(model_path: Path) -> str | None:
    """Why this folder cannot run on onnxruntime, or None if it can.

    Only the plain mean-pooled, normalised pipeline is reproduced here; any
    other sentence-transformers folder stays on the torch backend.
    """
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        types = tuple(m["type"] for m in modules)
        pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable modules.json or pooling config"
    if types != _PIPELINE:
        return f"pipeline {types} is not Transformer → Pooling → Normalize"
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        return f"pooling {sorted(modes)} is not mean pooling"
    if not (model_path / "tokenizer.json").is_file():
        return "no tokenizer.json"
    if _weights(model_path) is None:
        return "no model weights file"
    return None


def _weights(model_path: Path) -> Path | None:
    return next((model_path / w for w in WEIGHTS if (model_path / w).is_file()), None)


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
    weights = _weights(model_path)
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
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    # An example with padding, so the mask is a real input of the graph.
    ids = torch.tensor([[101, 2023, 2003, 102], [101, 102, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        with torch.no_grad():
            torch.onnx.export(Encoder(model), (ids, mask, torch.zeros_like(ids)), str(tmp), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
        os.replace(tmp, target)  # atomic: a concurrent reader sees all or nothing
    finally:
        tmp.unlink(missing_ok=True)
    return target


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


@lru_cache(maxsize=4)
def wordpiece_tokenizer(model_path: Path, max_length: int):
    """The model's fast tokenizer, truncating as sentence-transformers does;
    batches are padded by pad_ids."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    # The file's own truncation (128) is not what sentence-transformers
    # uses; max_seq_length from sentence_bert_config.json is.
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok


def pad_id(tokenizer) -> int:
    return tokenizer.token_to_id("[PAD]") or 0


def word_piece_ids(tokenizer, texts: Sequence[str], slice_size: int = 1024) -> list[np.ndarray]:
    """Each text's word-piece ids (int32, [CLS] and [SEP] included). A bulk
    pass tokenizes everything first, so that batches can be sorted by their
    true length. Slices bound the tokenizer's per-text objects; the ids stay small."""
    ids: list[np.ndarray] = []
    for start in range(0, len(texts), slice_size):
        ids.extend(np.array(e.ids, dtype=np.int32) for e in tokenizer.encode_batch(list(texts[start : start + slice_size])))
    return ids


def pad_ids(rows: Sequence[np.ndarray], pad_id: int, multiple: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of word-piece id rows as padded ids, attention mask and token type ids
    (int64), the model's inputs; the width is a multiple of ``multiple``."""
    width = max((len(r) for r in rows), default=0)
    width = -(-width // multiple) * multiple
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask, np.zeros_like(ids)


def _max_length(model_path: Path) -> int:
    try:
        return int(json.loads((model_path / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 256


def default_threads() -> int:
    """Threads per encode: RAG_THREADS, else one per core up to 4.

    Set RAG_THREADS=1 on a machine whose other cores are busy: a thread pool
    that waits for a descheduled thread is far slower than one thread.
    """
    value = os.environ.get("RAG_THREADS")
    if value:
        return max(1, int(value))
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


@lru_cache(maxsize=2)
def _openvino_model(onnx_file: str, bf16: bool):
    """The same exported graph compiled by OpenVINO. With ``bf16`` its matrix
    products run on AMX / AVX512-BF16 (about 3× float32 for batches here);
    OpenVINO keeps accuracy-sensitive ops in float32, and the vectors stay
    within cosine 0.9999 of sentence-transformers (tested)."""
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32", "PERFORMANCE_HINT": "LATENCY"}
    return core.compile_model(core.read_model(onnx_file), "CPU", config)


class OnnxEmbedder:
    """Embedder Protocol on onnxruntime + tokenizers; same name and vectors as
    SentenceTransformerEmbedder for the same folder.

    ``runtime="openvino"`` runs the same graph on OpenVINO instead, which is
    what bulk document embedding uses where the CPU has native bfloat16.
    """

    def __init__(self, model_path: Path, name: str, dim: int, batch_size: int = 16, threads: int | None = None,
                 runtime: str = "onnxruntime", bf16: bool = False):
        reason = supported(model_path)
        if reason:
            raise ModelError(f"{model_path} cannot run on onnxruntime: {reason}")
        self.model_path = model_path
        self._name = name
        self._dim = dim
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self.max_length = _max_length(model_path)
        self.runtime, self.bf16 = runtime, bf16

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
            if self.runtime == "openvino":
                return _OpenVinoRunner(_openvino_model(str(ensure_onnx(self.model_path)), self.bf16))
            return _session(str(ensure_onnx(self.model_path)), self.threads)
        except ModelError:
            raise
        except Exception as err:  # export or load failed: the folder or runtime is at fault
            raise ModelError(f"cannot run {self.model_path} on onnxruntime: {err}") from err

    def warm(self) -> None:
        """Load tokenizer and session now (the first query otherwise pays)."""
        self._tokenizer, self._session  # noqa: B018

    def _forward(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded word-piece ids, attention mask and last hidden state of a batch of id rows."""
        ids, mask, types = pad_ids(rows, pad_id(self._tokenizer))
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return ids, mask, hidden

    def _ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        return word_piece_ids(self._tokenizer, texts)

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """Per text: ids, unit token vectors, pooled unit vector and the sum of
        its token states (see rag.embed.TokenEmbedding)."""
        return sentence_pass(self._forward, self._ids(texts), self.batch_size, progress)

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: word-piece ids, unit token vectors (float16) and the pooled
        unit vector, as SentenceTransformerEmbedder.embed_tokens gives them."""
        return [e.as_tuple() for e in self.embed_sentences(texts)]

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self._tokenizer.id_to_token(int(i)) or "" for i in ids]

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return pooled_pass(self._forward, self._ids(texts), self.dim, self.batch_size, progress)

    def embed_query(self, text: str) -> np.ndarray:
        _, mask, hidden = self._forward(self._ids([text]))
        return pooled_vectors(mask, hidden)[0].astype(np.float32)


class _OpenVinoRunner:
    """onnxruntime's ``run(None, feeds)`` shape over an OpenVINO compiled model."""

    def __init__(self, compiled):
        self._request = compiled.create_infer_request()

    def run(self, _outputs, feeds):
        return [np.asarray(self._request.infer(feeds)[0])]
