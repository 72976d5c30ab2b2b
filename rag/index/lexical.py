"""BM25 over chunks with bm25s: English stop words removed, Snowball stems."""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

SETTINGS = {"library": "bm25s", "method": "lucene", "k1": 1.5, "b": 0.75, "stopwords": "en", "stemmer": "english"}


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer(SETTINGS["stemmer"])


def stem_words(words: Sequence[str]) -> list[str]:
    """The Snowball stems BM25 indexes, of lower-case words."""
    return _stemmer().stemWords(list(words))


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords=SETTINGS["stopwords"], stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def content_stems(text: str) -> list[str]:
    """A text's words as BM25 indexes them: lower-cased, English stop words
    removed, Snowball-stemmed (for term coverage, rag.answer.abstain)."""
    return tokenize([text])[0]


@lru_cache(maxsize=256)
def question_stems(text: str) -> tuple[str, ...]:
    """content_stems of a question, kept: BM25 and the answer stage both read it."""
    return tuple(content_stems(text))


class BM25Index:
    """A thin wrapper so the rest of rag never sees bm25s' own types."""

    def __init__(self, model) -> None:
        self._model = model

    @classmethod
    def build(cls, texts: Sequence[str]) -> "BM25Index":
        import bm25s

        model = bm25s.BM25(method=SETTINGS["method"], k1=SETTINGS["k1"], b=SETTINGS["b"])
        # bm25s cannot index a corpus whose every token is a stop word; an
        # empty placeholder keeps row numbers aligned with the chunks.
        tokens = [t or [""] for t in tokenize(texts)]
        # The vocabulary in sorted order: bm25s would number words in the order
        # of a set, which changes with PYTHONHASHSEED, and the same chunks must
        # give the same files (removing an added document restores the index).
        vocab = {word: i for i, word in enumerate(sorted({w for t in tokens for w in t}))}
        model.index(([[vocab[w] for w in t] for t in tokens], vocab), show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            self._model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        import bm25s

        with contextlib.redirect_stdout(io.StringIO()):
            model = bm25s.BM25.load(str(folder), load_corpus=False, mmap=False, allow_pickle=False)
        return cls(model)

    @property
    def size(self) -> int:
        return int(self._model.scores["num_docs"])

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and scores, best first; rows with no matching term are dropped."""
        tokens = tokenize([query])
        if not tokens[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, self.size)
        # n_threads=0: bm25s's plain loop; 1 starts a thread pool per call, which was a fifth
        # of the page's time per answer under load (py-spy, benchmarks/LOAD.md).
        ids, scores = self._model.retrieve(tokens, k=k, show_progress=False, n_threads=0)
        ids, scores = ids[0], scores[0]
        keep = scores > 0
        return ids[keep].astype(np.int64), scores[keep].astype(np.float32)

    def scores_for(self, query: str) -> np.ndarray:
        """The BM25 score of every row, for fusing with dense scores."""
        tokens = list(question_stems(query))
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)
