"""The torch backend: plain sentence-transformers, and bfloat16 bulk passes."""

from __future__ import annotations

import contextlib
import copy
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.embed.base import TokenEmbedding
from rag.embed.model_folder import UnsafeWeights, loading_weights, max_length, read_dim, supported, takes_token_types
from rag.embed.models import resolve
from rag.embed.pooling import pooled_pass, sentence_pass, token_embeddings
from rag.embed.tokens import pad_id, pad_ids, special_ids, word_piece_ids, wordpiece_tokenizer
from rag.errors import ModelError


@lru_cache(maxsize=2)
def _load_model(path: str):
    """One loaded copy per model folder and process, shared by every embedder."""
    try:
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
        with loading_weights(Path(path)):
            return SentenceTransformer(path, device="cpu", local_files_only=True)
    except UnsafeWeights:
        raise
    except Exception as err:  # any failure to load is the model folder's fault
        raise ModelError(f"cannot load the embedding model from {path}: {err}") from err


@lru_cache(maxsize=2)
def _bf16_transformer(path: str):
    """A bfloat16 copy of the model's transformer, for bulk builds: its matrix
    products run on AMX / AVX512-BF16 with no per-call weight casts (faster
    than autocast); vectors stay within cosine 0.9999 of float32 (tested)."""
    import torch

    return copy.deepcopy(_load_model(path)[0].auto_model).to(torch.bfloat16).eval()


@lru_cache(maxsize=2)
def _device_transformer(path: str, device: str):
    """A float32 copy of the model's transformer on ``device`` (RAG_DEVICE), for
    builds: the same arithmetic as the CPU's float32, on a GPU."""
    import torch

    try:
        usable = torch.device(device).type != "cuda" or torch.cuda.is_available()
    except RuntimeError:
        usable = False
    if not usable:
        raise ModelError(
            f"RAG_DEVICE={device}: this torch ({torch.__version__}) sees no CUDA device; "
            "unset RAG_DEVICE, or install a CUDA build of torch"
        )
    try:
        return copy.deepcopy(_load_model(path)[0].auto_model).float().to(device).eval()
    except (RuntimeError, AssertionError) as err:  # torch says so with either
        raise ModelError(f"RAG_DEVICE={device}: cannot place the model there: {str(err).splitlines()[0]}") from err


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded lazily from a local folder.

    ``name`` and ``dim`` come from the files on disk so that checking an
    index against the model does not pay for importing torch.
    """

    def __init__(
        self, model: str | Path | None = None, batch_size: int = 16, bf16: bool = False, device: str | None = None
    ):
        """``model``: a known model's key ("mpnet", "minilm"; rag.embed.models),
        a sentence-transformers folder, or None for the default model.
        ``device``: a torch device for the bulk passes in float32 (RAG_DEVICE), else bf16 or plain."""
        self.model_path, self._name = resolve(model)
        self.batch_size = batch_size
        # bfloat16 weights (see _bf16_transformer); only for the mean-pooling
        # models FastEmbedder accepts.
        self.bf16 = bf16
        self.device = device

    @property
    def name(self) -> str:
        return self._name

    @cached_property
    def dim(self) -> int:
        return read_dim(self.model_path) or int(self._model.get_embedding_dimension())

    @property
    def _model(self):
        return _load_model(str(self.model_path.resolve()))

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._bulk_ok:
            with self._streams() as streams:
                return pooled_pass(self._forward, self._ids(texts), self.dim, self.batch_size, progress, streams)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        return word_piece_ids(self._tokenizer, texts)

    @property
    def _tokenizer(self):
        return wordpiece_tokenizer(self.model_path, max_length(self.model_path))

    def _forward(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded word-piece ids, attention mask and last hidden state of a
        batch of id rows (see _ids), in bfloat16 (only for the
        mean-pooled models with a tokenizer.json that FastEmbedder sends here)."""
        import torch

        transformer, pad_id = self._bulk_parts()
        # Widths padded to a multiple of 16: fewer distinct matrix shapes, so
        # oneDNN prepares fewer kernels (the first build pass was ~1 s slower).
        ids, mask, types = pad_ids(rows, pad_id, 16)
        inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if takes_token_types(self.model_path):
            inputs["token_type_ids"] = torch.from_numpy(types)
        if self.device:
            inputs = {name: value.to(self.device) for name, value in inputs.items()}
        with torch.inference_mode():
            hidden = transformer(**inputs).last_hidden_state
        return ids, mask, hidden.float().cpu().numpy()

    def _bulk_parts(self) -> tuple:
        """The bulk passes' transformer (float32 on ``device``, else bf16) and the
        padding id, loaded once (before any parallel stream needs them)."""
        path = str(self.model_path.resolve())
        transformer = _device_transformer(path, self.device) if self.device else _bf16_transformer(path)
        return transformer, pad_id(self.model_path)

    @cached_property
    def mean_pooled(self) -> bool:
        """True when the model's vector is the normalised mean of its token
        states (Transformer → mean Pooling → Normalize), so that a passage's
        vector can be summed from its sentences' token states."""
        return supported(self.model_path) is None

    @property
    def _bulk_ok(self) -> bool:
        """bf16 or a device asked for, and a model whose pooling _forward's callers reproduce."""
        return (self.bf16 or bool(self.device)) and self.mean_pooled

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """Per text: its vector, its token vectors and the sum of its token
        states, from one forward pass (see rag.index.sentence_layer)."""
        texts = list(texts)
        if not self._bulk_ok:  # sentence-transformers' own pooling, whatever the model
            outputs = self._model.encode(
                texts, output_value=None, batch_size=self.batch_size, show_progress_bar=progress
            )
            result = []
            for out in outputs:
                mask = out["attention_mask"].numpy()[None]
                (item,) = token_embeddings(out["input_ids"].numpy()[None], mask, out["token_embeddings"].numpy()[None])
                pooled = out["sentence_embedding"].numpy().astype(np.float32)
                pooled /= max(float(np.linalg.norm(pooled)), 1e-12)
                result.append(TokenEmbedding(item.ids, item.tokens, pooled, item.state_sum))
            return result
        with self._streams() as streams:
            return sentence_pass(self._forward, self._ids(texts), self.batch_size, progress, streams)

    @contextlib.contextmanager
    def _streams(self):
        """As many single-threaded forward streams as torch has threads, for
        the bf16 passes. A batch of short sentences spends half its time in
        small element-wise kernels (attention, GELU, layer norms) that two
        threads split poorly; two streams of one thread each built 1.3–1.5×
        faster on two cores (same vectors: each batch is computed alike)."""
        import torch

        self._bulk_parts()
        threads = torch.get_num_threads()
        if threads < 2 or self.device:  # a GPU runs one batch at a time
            yield 1
            return
        torch.set_num_threads(1)
        try:
            yield threads
        finally:
            torch.set_num_threads(threads)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def keep_warm(self) -> bool:
        """Nothing to change: questions stay on this path (FastEmbedder.keep_warm has another)."""
        return False

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: word-piece ids, unit token vectors (float16) and the pooled unit vector."""
        return [e.as_tuple() for e in self.embed_sentences(texts)]

    @cached_property
    def special_ids(self) -> frozenset[int]:
        return special_ids(self.model_path)

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return self._model.tokenizer.convert_ids_to_tokens(list(ids))


def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bfloat16 natively (AMX or AVX512-BF16);
    elsewhere bf16 is emulated and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags
