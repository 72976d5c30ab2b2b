"""The default embedder: onnxruntime for queries and small builds, torch in
bfloat16 for big builds where the CPU has it, and the choice of backend."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence, cast

import numpy as np

from rag.embed.base import TokenEmbedder, TokenEmbedding
from rag.embed.model_folder import UnsafeWeights
from rag.embed.pooling import token_embeddings
from rag.embed.torch_backend import SentenceTransformerEmbedder, cpu_has_bf16
from rag.errors import ModelError
from rag.settings import settings

if TYPE_CHECKING:
    from rag.embed.query_bf16 import QueryEncoder

QUERY_CACHE = 256  # query vectors kept per embedder (1.5 KiB each)

# Below this much text a build stays on onnxruntime: loading torch for the
# bf16 path (~3 s) costs more than it saves (about 128 chunks of 800 characters).
BF16_MIN_CHARS = 100_000


class FastEmbedder:
    """The default embedder: same model, same name, same vectors (within
    cosine 0.999), less time.

    Queries and small batches run on onnxruntime (no torch import, one short
    thread pool). Where the CPU has native bf16, large batches run through
    torch with bfloat16 weights (~3× the float32 throughput). If
    onnxruntime cannot run the model, everything falls back to
    sentence-transformers.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        batch_size: int = 16,
        bf16: bool | None = None,
        threads: int | None = None,
        device: str | None = None,
    ):
        self._torch = SentenceTransformerEmbedder(model_path)
        self.model_path = self._torch.model_path
        if bf16 is None:
            bf16 = cpu_has_bf16() and settings().bf16
        # bf16 weights only for the mean-pooled models they are written for.
        self.bf16 = bf16 and self._torch.mean_pooled
        self._torch.bf16 = self.bf16
        # A device (RAG_DEVICE): builds run there in float32, whatever their size (asked for by name).
        self.device = device if self._torch.mean_pooled else None
        self._torch.device = self.device
        # bf16 batches run in parallel streams (see _streams); there 16–48
        # measured alike and 64 about 15 % slower.
        self._torch.batch_size = 64 if self.device else 32 if self.bf16 else 16
        self._onnx = None
        # rag.embed.query_bf16's encoder once keep_warm() loaded it; False
        # when it was tried and is not to be had.
        self._questions: QueryEncoder | Literal[False] | None = None
        self._cached_query = lru_cache(maxsize=QUERY_CACHE)(self._embed_query)
        # One forward pass per question gives both its vector and its word
        # pieces: the scorer asks for the pieces, the dense retriever (and the
        # page's inspector) for the vector; two passes were 71 % of the page's
        # work per answer on a CPU without bfloat16 (the issue-25 profile).
        self._cached_tokens = lru_cache(maxsize=QUERY_CACHE)(self._embed_one)
        from rag.embed import onnx_backend

        reason = onnx_backend.supported(self.model_path)
        if reason is None:
            self._onnx = onnx_backend.OnnxEmbedder(
                self.model_path, self.name, self.dim, batch_size=batch_size, threads=threads
            )
        else:
            _warn(f"using sentence-transformers: {reason}")

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
        if self._onnx is None:
            return None
        try:
            self._onnx.warm()
        except UnsafeWeights:
            raise  # torch would refuse the same file: one line, not a note and then an error
        except (ModelError, ImportError) as err:
            _warn(f"onnxruntime unavailable, using sentence-transformers: {err}")
            self._onnx = None
        return self._onnx

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if self._use_bulk(texts):
            vectors = self._torch.embed_documents(texts, progress=progress)
            # torch is loaded now, so exporting the query model costs little
            # here and spares the first `rag ask` the export.
            self._onnx_or_none()
            return vectors
        onnx = self._onnx_or_none()
        if onnx is None:
            return self._torch.embed_documents(texts, progress=progress)
        return onnx.embed_documents(texts, progress=progress)

    def _use_bulk(self, texts: Sequence[str]) -> bool:
        """The torch bulk path: on RAG_DEVICE, or in bf16 for a big enough batch."""
        return bool(self.device) or (self.bf16 and sum(len(t) for t in texts) >= BF16_MIN_CHARS)

    def embed_query(self, text: str) -> np.ndarray:
        # The page and eval ask the same questions again; a hit costs microseconds.
        # A copy, so that a caller editing its vector cannot spoil the cache.
        return self._cached_query(text).copy()

    def keep_warm(self) -> bool:
        """Ready for many questions in this process (the chat page). Where
        the CPU has bfloat16, questions are then encoded on torch by
        rag.embed.query_bf16: 1.7× onnxruntime's float32 for one question,
        vectors within cosine 0.9999 of it. Elsewhere, or for a model that
        module does not know, onnxruntime stays. Costs a few seconds and
        ~0.7 GB of memory, once (load, and kernels made for every question
        length up to 64 word pieces). Returns whether questions now run on torch."""
        if self._questions is None:
            self._questions = False
            if self.bf16:
                from rag.embed.query_bf16 import load_query_encoder

                try:
                    self._questions = load_query_encoder(self.model_path) or False
                except Exception as err:  # torch could not load it: onnxruntime still serves
                    _warn(f"questions stay on onnxruntime: {err}")
                if self._questions:
                    self._questions.prepare()
                # Vectors cached from the other path would answer a repeated question differently.
                self.clear_cache()
        return bool(self._questions)

    def _question_embeddings(self, texts: Sequence[str]) -> list[TokenEmbedding]:
        encoder = cast("QueryEncoder", self._questions)  # only called once keep_warm() loaded it
        ids = self._torch._ids(texts)
        return [
            token_embeddings(row[None], np.ones((1, len(row)), dtype=np.int64), encoder.hidden(row)[None])[0]
            for row in ids
        ]

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Token vectors for term-level matching; onnxruntime when it runs, else torch.
        One text (a question) is answered from a cache shared with embed_query."""
        if len(texts) == 1:
            return [self._cached_tokens(texts[0])]
        return self._embed_tokens(texts)

    def _embed_one(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids, tokens, vector = self._embed_tokens([text])[0]
        for array in (ids, tokens, vector):
            array.flags.writeable = False  # shared by every caller of the cache
        return ids, tokens, vector

    def _embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self._questions:
            return [e.as_tuple() for e in self._question_embeddings(texts)]
        onnx = self._onnx_or_none()
        return onnx.embed_tokens(texts) if onnx is not None else self._torch.embed_tokens(texts)

    @property
    def mean_pooled(self) -> bool:
        return self._torch.mean_pooled

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """As SentenceTransformerEmbedder.embed_sentences: bf16 torch for big
        batches where the CPU has it, else onnxruntime."""
        if self._use_bulk(texts):
            result = self._torch.embed_sentences(texts, progress=progress)
            self._onnx_or_none()  # torch is loaded: the query model's export costs little now
            return result
        onnx = self._onnx_or_none()
        if onnx is None:
            return self._torch.embed_sentences(texts, progress=progress)
        return onnx.embed_sentences(texts, progress=progress)

    @property
    def special_ids(self) -> frozenset[int]:
        return self._torch.special_ids

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        onnx = self._onnx_or_none()
        return onnx.token_strings(ids) if onnx is not None else self._torch.token_strings(ids)

    def clear_cache(self) -> None:
        self._cached_query.cache_clear()
        self._cached_tokens.cache_clear()

    def _embed_query(self, text: str) -> np.ndarray:
        return self._cached_tokens(text)[2].astype(np.float32)


def _warn(message: str) -> None:
    import sys

    print(f"rag: note: {message}", file=sys.stderr)


BACKENDS = ("auto", "onnx", "torch")


def default_embedder(model_path: str | Path | None = None) -> TokenEmbedder:
    """The configured model: ``model_path`` (a folder, or a key of rag.embed.models:
    "mpnet", "minilm"), else $RAG_MODEL, else the default (all-mpnet-base-v2
    when its packages are installed, else the bundled all-MiniLM-L6-v2).

    $RAG_BACKEND picks how it runs: ``auto`` (default: onnxruntime for
    queries, torch in bf16 for big builds where the CPU has it, or in float32
    on $RAG_DEVICE when set), ``onnx`` (onnxruntime only) or ``torch`` (plain
    sentence-transformers, float32, on the CPU).
    """
    configured = settings()
    path = model_path or configured.model
    backend = configured.backend
    if backend == "torch" or not _onnxruntime_installed():
        return SentenceTransformerEmbedder(path)
    if backend == "onnx":
        return FastEmbedder(path, bf16=False)
    return FastEmbedder(path, device=configured.device)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _onnxruntime_installed() -> bool:
    return _installed("onnxruntime")
