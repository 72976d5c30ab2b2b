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
# Forced, not defaulted: onnxruntime 1.29+ sends 1DS telemetry (a device id,
# OS, CPU and memory) to mobile.events.data.microsoft.com unless this is "1"
# when it is imported; "0" or "" in the caller's environment leaves it on.
# Child processes inherit it. (pyproject.toml also keeps onnxruntime below 1.29.)
os.environ["ORT_DISABLE_TELEMETRY"] = "1"


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length float32 vectors of ``dim`` dimensions: all
    that dense retrieval, and an index without a sentence layer, need."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def keep_warm(self) -> bool:
        """Get ready for many questions in this process; True when questions
        now take another path (vectors may differ in the last digits, so
        whatever was cached from the old path must go)."""
        ...


@runtime_checkable
class TokenEmbedder(Embedder, Protocol):
    """An Embedder that also gives word pieces and their contextual vectors:
    what an index's sentence layer (rag.index.build) and the sentence scorer
    (rag.retrieval.scoring) need. Every embedder rag ships is one."""

    @property
    def mean_pooled(self) -> bool:
        """A text's vector is the normalised mean of its token states, so a
        passage's vector can be summed from its sentences'."""
        ...

    @property
    def special_ids(self) -> frozenset[int]:
        """Word-piece ids that are not words ([CLS], [SEP], padding)."""
        ...

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]: ...

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text: (word-piece ids, unit token vectors, the text's unit vector)."""
        ...

    def token_strings(self, ids: Sequence[int]) -> list[str]: ...


@dataclass(frozen=True)
class TokenEmbedding:
    """One text's word pieces and their contextual vectors, from one forward pass."""

    ids: np.ndarray  # [t] int32 word-piece ids, [CLS] and [SEP] included
    tokens: np.ndarray  # [t, dim] float16 unit vectors, for term-level (MaxSim) matching
    vector: np.ndarray  # [dim] float32 unit vector: the text's embedding (mean pooling)
    state_sum: np.ndarray  # [dim] float32 sum of the token states, before pooling

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ids, self.tokens, self.vector
