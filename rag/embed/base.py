"""What every embedding backend provides, and the settings that keep model
libraries offline. Importing this module imports no model library."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

# Set before sentence-transformers or huggingface_hub are imported anywhere:
# they read these once, at import.
for _var, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    os.environ.setdefault(_var, _value)



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

