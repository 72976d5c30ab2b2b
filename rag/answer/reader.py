"""A reader: does one of these sentences answer the question? It reads the
question and the candidate sentences together, word piece by word piece.

The logistic answerability model (rag.answer.abstain) weighs evidence about
the candidates as a whole; a near miss on the documents' own topic ("Has
Turkey offered to host peace negotiations?") meets most of its words
somewhere among them. The reader asks, for each candidate sentence and its
neighbours (a window), how well each question term is met there *and how
much that term matters*, over the contextual word-piece vectors rag already
computes (the question's at query time, the sentences' in the index's
sentence layer; no other model runs):

- per question term t and sentence s: its best cosine in s, the second best,
  whether the very word piece is there, and the element-wise product of the
  term's vector with its best match, in a fixed 32-dimensional basis (where
  the two agree and where they differ, not only how much);
- a small network turns that into how well t is met in s (m_ts); a window
  takes each term's best over its sentences;
- each term's importance (u_t) comes from its vector in the same basis and
  its IDF in the corpus; a window's score weighs the terms' matches by it,
  both on average and by a soft minimum (one essential term unmet is enough
  to miss);
- the question's score is its best window's; its probability, sigmoid of it.

Trained by eval/reader/train.py on question -> answer pairs mined from
Debian packages' FAQs (eval/reader/data/) and rag's development sets; the
weights are a safetensors file in rag/tuning/ with its sha256 in the JSON
beside it (eval/reader/README.md has how it was fitted and what it gains).

The interface is plain arrays, so that any answerability protocol can call it:
``Reader.probability(question_ids, question_tokens, sentences, windows, keep, idf)``;
``read_candidates`` does the same from rag's index and scorer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.answer.base import Judgement, register_answerability

TUNING = Path(__file__).resolve().parents[1] / "tuning"
MATCH_FEATURES = 3  # best cosine, second best, same word piece
TERM_FEATURES = 3  # IDF (scaled to the corpus), a piece of a word split in several, a word of how it is asked


def weights_file(model_name: str) -> Path:
    return TUNING / f"reader-{model_name.split('/')[-1]}.safetensors"


@dataclass(frozen=True)
class ReaderInput:
    """One question against one set of sentences, as the reader sees them."""

    term: np.ndarray  # [m, TERM_FEATURES]
    qproj: np.ndarray  # [m, K]: each question term's vector in the reader's basis
    match: np.ndarray  # [m, S, MATCH_FEATURES]
    pproj: np.ndarray  # [m, S, K]: each term's best match in each sentence, in the basis
    windows: np.ndarray  # [W, 3] int: sentences (indices into S) of each window; -1 for none


def scaled_idf(df: np.ndarray, n: int) -> np.ndarray:
    """IDF over a corpus of ``n`` sentences, divided by its largest possible value, so that
    a term's weight means the same in a small corpus as in a big one."""
    n = max(n, 2)
    return np.clip(np.log((n + 1) / (np.asarray(df, np.float64) + 0.5)) / np.log(n + 1), 0.02, 1.5).astype(np.float32)


def content_terms(
    ids: Sequence[int], pieces: Sequence[str], special: frozenset[int], every: bool = False
) -> np.ndarray:
    """The word pieces the reader reads: rag.retrieval.scoring's content pieces (no special
    token, no punctuation, none of the words that say how a question is asked), or with
    ``every`` those words too ("when", "who": what kind of answer is wanted)."""
    return np.array(
        [
            int(i) not in special and re.search(r"\w", p) is not None and (every or not asking(p))
            for i, p in zip(ids, pieces)
        ],
        dtype=bool,
    )


def asking(piece: str) -> bool:
    from rag.retrieval.scoring import QUESTION_WORDS

    return piece.lower() in QUESTION_WORDS


def term_features(ids: np.ndarray, pieces: Sequence[str], keep: np.ndarray, df, n: int) -> np.ndarray:
    """[kept terms, TERM_FEATURES]: scaled IDF (``df``: word-piece id -> sentences holding
    it, of ``n``: an index's array of counts, or a mapping), part of a split word, a word
    of how the question is asked."""
    kept = np.asarray(ids)[keep]
    count = (
        (lambda t: int(df[t]) if 0 <= t < len(df) else 0) if isinstance(df, np.ndarray) else (lambda t: df.get(t, 0))
    )
    idf = scaled_idf(np.array([count(int(t)) for t in kept]), n)
    split = split_words(list(pieces))[keep]
    ask = np.array([asking(p) for p in pieces], dtype=bool)[keep]
    return np.stack([idf, split.astype(np.float32), ask.astype(np.float32)], axis=1).reshape(-1, TERM_FEATURES)


def split_words(pieces: Sequence[str]) -> np.ndarray:
    """Whether each word piece belongs to a word the vocabulary splits into several (mostly names)."""
    out = np.zeros(len(pieces), dtype=bool)
    for i, p in enumerate(pieces):
        if p.startswith("##"):
            out[i] = True
            if i > 0:
                out[i - 1] = True
    return out


def prepare(
    question_ids: np.ndarray,
    question_tokens: np.ndarray,
    keep: np.ndarray,
    term: np.ndarray,
    token_ids: np.ndarray,
    tokens: np.ndarray,
    projected: np.ndarray,
    spans: Sequence[tuple[int, int]],
    windows: np.ndarray,
    basis: np.ndarray,
) -> ReaderInput:
    """``keep``: the question's word pieces that are read (content_terms); ``term``: their
    term_features; ``token_ids``, ``tokens`` (unit vectors, float16 or float32) and
    ``projected`` (``tokens @ basis``): every word piece of the corpus, of which
    sentence j to read holds ``spans[j]``; ``windows``: [W, 3] indices into ``spans``."""
    q = np.asarray(question_tokens, np.float32)[keep]
    q_ids = np.asarray(question_ids)[keep]
    m, k, s_count = len(q), basis.shape[1], len(spans)
    match = np.zeros((m, s_count, MATCH_FEATURES), np.float32)
    pproj = np.zeros((m, s_count, k), np.float32)
    if m and s_count:
        where = np.concatenate([np.arange(a, b) for a, b in spans])
        sims = q @ np.asarray(tokens[where], np.float32).T  # [m, T]
        ids = token_ids[where]
        start = 0
        rows = np.arange(m)
        for s, (a, b) in enumerate(spans):
            n = b - a
            if n == 0:
                match[:, s, :2] = -1.0
                continue
            block = sims[:, start : start + n]
            best = block.argmax(axis=1)
            match[:, s, 0] = block[rows, best]
            match[:, s, 1] = np.partition(block, n - 2, axis=1)[:, n - 2] if n > 1 else match[:, s, 0]
            match[:, s, 2] = (ids[start : start + n][None, :] == q_ids[:, None]).any(axis=1)
            pproj[:, s] = projected[where[start + best]]
            start += n
    term = np.asarray(term, np.float32).reshape(m, TERM_FEATURES)
    return ReaderInput(term, q @ basis, match, pproj, np.asarray(windows, np.int64).reshape(-1, 3))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


class Reader:
    """The fitted reader: ``weights`` as eval/reader/train.py writes them."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict | None = None):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.meta = meta or {}
        self.basis = self.w["basis"]
        self.every_word = bool(self.meta.get("every_word", False))  # reads the words of how it is asked too
        self._layer: tuple = ()  # (layer, its tokens in float32, projected on the basis): once per index

    def layer_arrays(self, layer) -> tuple[np.ndarray, np.ndarray]:
        """The layer's token vectors (as stored, float16) and their projection on the basis,
        computed once per index, in blocks (no float32 copy of a big index's word pieces)."""
        if not self._layer or self._layer[0] is not layer:
            store, total = layer.tokens, len(layer.tokens)  # rag.index.token_store: float16 rows or codes
            blocks = [store.rows(np.arange(i, min(i + 65536, total))) for i in range(0, total, 65536)]
            tokens = (
                np.concatenate(blocks).astype(np.float16) if blocks else np.zeros((0, self.basis.shape[0]), np.float16)
            )
            projected = np.concatenate([b @ self.basis for b in blocks] or [np.zeros((0, self.basis.shape[1]))])
            self._layer = (layer, tokens, np.ascontiguousarray(projected, dtype=np.float32))
        return self._layer[1], self._layer[2]

    @classmethod
    def load(cls, path: str | Path) -> "Reader":
        """Read ``path`` (safetensors) after checking its sha256 against the JSON beside it."""
        from safetensors.numpy import load_file

        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != meta["sha256"]:
            raise ValueError(f"{path.name}: sha256 {digest} is not the recorded {meta['sha256']}")
        return cls(load_file(str(path)), meta)

    def logit(self, inp: ReaderInput) -> float:
        """The best window's score (-inf without a window or a term)."""
        w = self.w
        m = inp.match.shape[0]
        if m == 0 or len(inp.windows) == 0 or inp.match.shape[1] == 0:
            return float("-inf")
        inter = inp.qproj[:, None, :] * inp.pproj  # [m, S, K]
        h = np.concatenate([inp.match, inter], axis=2) @ w["match_in"] + w["match_in_bias"]
        met = np.maximum(h, 0.0) @ w["match_out"] + w["match_out_bias"]  # [m, S]
        idx = inp.windows
        padded = np.concatenate([met, np.full((m, 1), -1e4, np.float32)], axis=1)
        window = padded[:, np.where(idx < 0, met.shape[1], idx)].max(axis=2)  # [m, W]
        importance = _softplus(np.concatenate([inp.term, inp.qproj], axis=1) @ w["term"] + w["term_bias"])[:, 0]
        share = importance / importance.sum()
        mean = share @ window
        tau = float(_softplus(w["tau"])[0]) + 0.05
        softmin = -tau * np.log(share @ np.exp(-(window - window.min(axis=0)) / tau)) + window.min(axis=0)
        score = w["head"][0] + w["head"][1] * mean + w["head"][2] * softmin
        return float(score.max())

    def probability(self, inp: ReaderInput) -> float:
        z = self.logit(inp)
        return 0.0 if z == float("-inf") else float(1.0 / (1.0 + np.exp(-z)))


def windows_for(
    layer, candidates: Sequence[int], exclude: frozenset[int] = frozenset()
) -> tuple[list[int], np.ndarray]:
    """The sentences to read (the candidates and their neighbours in the same
    document, bar ``exclude``) and each candidate's window over them."""
    wanted = sorted(set(candidates) - exclude)
    order: dict[int, int] = {}
    rows = []
    for i in wanted:
        row = []
        for j in (i - 1, i, i + 1):
            ok = 0 <= j < layer.n and j not in exclude and layer.sentences[j].doc_id == layer.sentences[i].doc_id
            if ok and j not in order:
                order[j] = len(order)
            row.append(order[j] if ok else -1)
        rows.append(row)
    return list(order), np.array(rows, dtype=np.int64).reshape(-1, 3)


def read_candidates(
    reader: Reader,
    layer,
    question_ids: np.ndarray,
    question_tokens: np.ndarray,
    keep: np.ndarray,
    pieces: Sequence[str],
    candidates: Sequence[int],
    exclude: frozenset[int] = frozenset(),
) -> float:
    """The reader's probability that the ``candidates`` (sentence ids of ``layer``, a
    rag.index.sentence_layer.SentenceLayer) answer the question: its word-piece ids
    and unit vectors, ``keep`` its terms, ``pieces`` its word-piece strings."""
    sentence_ids, windows = windows_for(layer, candidates, exclude)
    offsets = layer.token_offsets
    spans = [(int(offsets[i]), int(offsets[i + 1])) for i in sentence_ids]
    term = term_features(question_ids, pieces, keep, layer.df, layer.n)
    tokens, projected = reader.layer_arrays(layer)
    inp = prepare(
        question_ids, question_tokens, keep, term, layer.token_ids, tokens, projected, spans, windows, reader.basis
    )
    return reader.probability(inp)


def read_scores(
    reader: Reader, scorer, scores, candidates: Sequence[int], exclude: frozenset[int] = frozenset()
) -> float:
    """``read_candidates`` for one question as rag scored it (rag.retrieval.scoring:
    its SentenceScorer and SentenceScores, whose evidence holds the question's word pieces)."""
    evidence = scores.evidence
    ids, tokens = evidence.question_ids, evidence.question_tokens
    if ids is None or tokens is None:
        raise ValueError("these scores carry no word pieces of the question")
    pieces = scorer.embedder.token_strings(ids)
    keep = content_terms(ids, pieces, scorer.embedder.special_ids, reader.every_word)
    return read_candidates(reader, scorer.layer, ids, tokens, keep, pieces, candidates, exclude)


@dataclass(frozen=True)
class ReaderAnswerability:
    """The reader as an answerability model, for the answer stage's seam
    (issue 26: models registered by name in rag/answer/): ``probability``
    for one question's candidates, compared with ``threshold`` (refuse below)
    and ``sure`` (a caution below), both from the cross-validation that
    eval/reader/train.py ran (the JSON beside the weights)."""

    reader: Reader
    threshold: float
    sure: float
    name: str = "reader"

    @classmethod
    def for_model(cls, model_name: str) -> "ReaderAnswerability | None":
        """The shipped reader for an embedding model, or None where none was trained."""
        path = weights_file(model_name)
        if not path.is_file():
            return None
        reader = Reader.load(path)
        return cls(reader, float(reader.meta["threshold"]), float(reader.meta["sure"]))

    def probability(self, scorer, scores, candidates: Sequence[int], exclude: frozenset[int] = frozenset()) -> float:
        return read_scores(self.reader, scorer, scores, candidates, exclude)


@register_answerability(
    "reader",
    "a small reader of question and candidate word pieces together, trained on "
    "FAQs (eval/reader/); not the default: it refused fewer out-of-scope questions than "
    "logistic in cross-validation (eval/reader/RESULTS.md)",
)
class ReaderModel:
    """ReaderAnswerability behind the answer stage's seam (rag.answer.base.AnswerabilityModel)."""

    name = "reader"

    def __init__(self, index, tuning):
        self.layer = index.sentences
        self.model = ReaderAnswerability.for_model(tuning.model) if tuning is not None else None

    @property
    def calibrated(self) -> bool:
        return self.model is not None

    def judge(self, form, scores, candidates: Sequence[int]) -> Judgement:
        if self.model is None:
            return Judgement(True, float("nan"), {})
        ev = scores.evidence
        keep = content_terms(ev.question_ids, ev.question_pieces, ev.question_special, self.model.reader.every_word)
        p = read_candidates(
            self.model.reader, self.layer, ev.question_ids, ev.question_tokens, keep, ev.question_pieces, candidates
        )
        if p >= self.model.threshold:
            return Judgement(True, p, {"reader": p})
        return Judgement(False, p, {"reader": p}, "nothing in the documents answers this closely enough")

    def reaches(self, judgement: Judgement, share: float = 1.0) -> bool:
        return self.model is None or judgement.probability >= self.model.threshold * share

    def unsure(self, judgement: Judgement, share: float = 1.0) -> bool:
        return self.model is not None and judgement.probability < self.model.sure * share
