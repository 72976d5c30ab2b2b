"""A small fake embedder for unit tests of wiring (build → load → retrieve → answer).

Deterministic hashed bag of words: each word has a fixed pseudo-random unit
vector, a text's vector is the normalised sum of its words' vectors. It
implements rag.embed.base.TokenEmbedder, all that an index build and the
sentence scorer call, so the real wiring runs in milliseconds. It knows nothing
of meaning: tests of answers and quality use the real model (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from rag.embed.base import TokenEmbedding

CLS, SEP = 101, 102  # where the real word-piece vocabulary has them
_FIRST_WORD_ID, _WORD_IDS = 1000, 1 << 20
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)
def _word_id(word: str) -> int:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    return _FIRST_WORD_ID + int.from_bytes(digest, "little") % _WORD_IDS


class FakeEmbedder:
    """Hashed bag-of-words vectors of ``dim`` dimensions, named ``name``."""

    mean_pooled = True  # a text's vector is the normalised sum of its token states, as in MiniLM
    special_ids = frozenset({CLS, SEP})  # word pieces that are not words, left out of term matching

    def __init__(self, dim: int = 64, name: str = "fake/hashed-bag-of-words"):
        self._dim, self._name = dim, name
        self._words: dict[int, str] = {CLS: "[CLS]", SEP: "[SEP]"}
        self.calls: list[tuple[str, int]] = []  # (method, number of texts), for tests that count work

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _ids(self, text: str) -> np.ndarray:
        words = [w.lower() for w in _WORD.findall(text)]
        ids = [_word_id(w) for w in words]
        self._words.update(zip(ids, words))
        return np.array([CLS, *ids, SEP], dtype=np.int32)

    def _states(self, ids: np.ndarray) -> np.ndarray:
        """One fixed unit vector per id: the 'token states' of a text."""
        rows = [np.random.default_rng(int(i)).standard_normal(self._dim) for i in ids.tolist()]
        states = np.array(rows, dtype=np.float32)
        return states / np.linalg.norm(states, axis=1, keepdims=True)

    def _one(self, text: str) -> TokenEmbedding:
        ids = self._ids(text)
        states = self._states(ids)
        state_sum = states.sum(axis=0)
        vector = state_sum / max(float(np.linalg.norm(state_sum)), 1e-12)
        return TokenEmbedding(ids, states.astype(np.float16), vector.astype(np.float32), state_sum)

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        self.calls.append(("embed_documents", len(texts)))
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._one(t).vector for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text).vector

    def keep_warm(self) -> bool:
        return False  # one path for questions: nothing cached goes stale

    def embed_sentences(self, texts: Sequence[str], progress: bool = False) -> list[TokenEmbedding]:
        self.calls.append(("embed_sentences", len(texts)))
        return [self._one(t) for t in texts]

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [self._one(t).as_tuple() for t in texts]

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self._words.get(int(i), "[UNK]") for i in ids]
