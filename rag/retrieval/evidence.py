"""What one question's scoring holds: its raw evidence per sentence, and the combined scores."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Evidence:
    """One question's raw evidence (arrays index sentence ids; NaN where not
    computed yet). ``ensure`` computes more sentences on demand."""

    features: dict[str, np.ndarray]  # EVIDENCE, raw
    vector: np.ndarray  # the question's unit vector
    rare_words: frozenset[str]  # words the model's vocabulary splits into several pieces: mostly names
    content_stems: frozenset[str]  # the question's content words, stemmed (for coverage)
    # Per content word-piece of the question: its best match in each sentence
    # ([pieces, sentences]) and its IDF, for how well each term is met.
    term_match: np.ndarray
    term_idf: np.ndarray
    computed: np.ndarray  # [n] bool
    stats: dict[str, tuple[float, float]] = field(default_factory=dict)  # mean and spread over the sample
    q_tokens: np.ndarray | None = None  # the question's content word-piece vectors
    chunk_dense: np.ndarray | None = None
    chunk_bm25: np.ndarray | None = None
    candidates: np.ndarray | None = None  # what the question gathered first
    # The question's word pieces and their unit contextual vectors, for a
    # reader that reads them against the candidates (rag.answer.reader).
    question_ids: np.ndarray | None = None
    question_tokens: np.ndarray | None = None
    question_pieces: tuple[str, ...] = ()  # the word pieces as text
    question_special: frozenset[int] = frozenset()  # the model's special ids ([CLS], <s> …)

    @property
    def ids(self) -> np.ndarray:
        return np.flatnonzero(self.computed)

    def z(self, name: str) -> np.ndarray:
        """Evidence ``name`` in z units of its spread over the sample (NaN where not computed)."""
        mean, std = self.stats[name]
        x = self.features[name]
        return (x - mean) / std if std > 1e-9 else np.where(np.isnan(x), np.nan, 0.0).astype(np.float32)


@dataclass(frozen=True)
class SentenceScores:
    """One question's evidence, combined; -inf for sentences not computed."""

    score: np.ndarray  # combined, in z units
    quote: np.ndarray  # the same with each sentence's own term matches only: for choosing quotations
    dense: np.ndarray  # raw cosine of the sentence alone (every sentence)
    maxsim: np.ndarray  # raw MaxSim in [-1, 1]
    chunk: np.ndarray  # per chunk: best sentence score
    evidence: Evidence

    @property
    def rare_words(self) -> frozenset[str]:
        return self.evidence.rare_words


def _z(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - float(x.mean())) / std if std > 1e-9 else np.zeros_like(x)


def rare_words(pieces: list[str]) -> frozenset[str]:
    """Words made of more than one word piece, from a text's word pieces in order."""
    words, current, count = set(), "", 0
    for piece in list(pieces) + ["[END]"]:
        if piece.startswith("##"):
            current, count = current + piece[2:], count + 1
            continue
        if count > 1:
            words.add(current)
        current, count = piece, 1
    return frozenset(words)


def _nan_z(x: np.ndarray) -> np.ndarray:
    """z units over the computed values (NaN kept)."""
    values = x[~np.isnan(x)]
    if values.size == 0 or float(values.std()) <= 1e-9:
        return np.where(np.isnan(x), np.nan, 0.0).astype(np.float32)
    return ((x - float(values.mean())) / float(values.std())).astype(np.float32)
