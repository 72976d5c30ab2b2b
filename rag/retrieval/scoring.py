"""Score every sentence of a small corpus against a question.

A sentence's score adds up evidence, each kind z-normalised over the
corpus's sentences so that none dominates by scale:
- its own vector, and its vectors joined with the previous and the next
  sentence (an answer often leans on the sentence before it);
- its chunk's dense and BM25 scores (the passage around it);
- MaxSim: for each content word-piece of the question, its best contextual
  match among the sentence's word-pieces, IDF-weighted: soft term matching
  that survives paraphrase better than BM25's exact stems;
- the same, with each term's match taken over the sentence and the one
  before it in the same document: a term met there is met by the passage
  a reader sees ("he said" after the sentence that names him; on the first
  three development sets, 5-fold CV put the right passage first for 161 of
  185 questions against 153 without it, and +4, +4 with two other fold
  seeds: eval/README.md, run 6);
- minus its hubness (similarity to the corpus centroid).
The weights are fitted per embedding model (rag.settings.Tuning, written by
eval/fit_answers.py). The question's form (rag.retrieval.question_form)
adds what its words say beyond their topic: a bonus for the sentences of the
document it names, and no header line (headline, credit, dateline) as an
answer unless it asks for one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Mapping

import numpy as np

from rag.index.load import Index
from rag.retrieval.parts import header_sentences
from rag.retrieval.question_form import QuestionForm, header_terms
from rag.settings import Tuning, tuning_for

EVIDENCE = ("sentence", "with_prev", "with_next", "chunk_dense", "chunk_bm25", "maxsim", "maxsim_with_prev", "hubness")
# What chooses a quotation: a quotation stands on its own words, so terms met
# only in the sentence before do not count for it.
QUOTE_EVIDENCE = tuple(name for name in EVIDENCE if name != "maxsim_with_prev")
# For a model nobody fitted weights for: the all-MiniLM-L6-v2 weights, which
# assume nothing of the model but the scale-free z units.
DEFAULT_WEIGHTS = {
    "sentence": 0.4, "with_prev": 0.6, "with_next": 0.3, "chunk_dense": 0.6, "chunk_bm25": 0.6, "maxsim": 1.0,
    "maxsim_with_prev": 0.0, "hubness": -0.25, "named_bonus": 2.0, "header_penalty": 4.0,
    # Broad questions (rag.retrieval.thesis): the question's own evidence
    # counts this much beside the thesis evidence.
    "broad_query": 0.3, "thesis_summary": 1.0, "thesis_early": 0.5, "thesis_recommends": 1.0,
}

# Words that say how a question is asked, not what it is about.
QUESTION_WORDS = frozenset(
    """a an the of to in on for and or but is are was were be been being do does did what which who whom
    whose why how when where that this these those it its with by as at from about into than then so such
    according author authors essay essays article commentary piece say says said describe describes
    mention mentions use uses argue argues claim claims suggest suggests write writes wrote text
    he she they them his her their there here can could would should will may might must""".split()
)


@dataclass(frozen=True)
class Evidence:
    """One question's raw evidence for every sentence (arrays index sentence ids)."""

    features: Mapping[str, np.ndarray]  # EVIDENCE, raw
    vector: np.ndarray  # the question's unit vector
    rare_words: frozenset[str]  # words the model's vocabulary splits into several pieces: mostly names
    content_stems: frozenset[str]  # the question's content words, stemmed (for coverage)
    # Per content word-piece of the question: its best match in each sentence
    # ([pieces, sentences]) and its IDF, for how well each term is met.
    term_match: np.ndarray
    term_idf: np.ndarray
    # The question's word pieces and their unit contextual vectors, for a
    # reader that reads them against the candidates (rag.answer.reader).
    question_ids: np.ndarray | None = None
    question_tokens: np.ndarray | None = None


@dataclass(frozen=True)
class SentenceScores:
    """One question's evidence for every sentence, combined."""

    score: np.ndarray  # combined, in z units
    quote: np.ndarray  # the same with each sentence's own term matches only: for choosing quotations
    dense: np.ndarray  # raw cosine of the sentence alone
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


class SentenceScorer:
    def __init__(self, index: Index, embedder, tuning: Tuning | None = None):
        if index.sentences is None:
            raise ValueError("this index has no sentence layer")
        self.index, self.embedder, self.layer = index, embedder, index.sentences
        self.tuning = tuning if tuning is not None else tuning_for(embedder.name)
        self.weights = {**DEFAULT_WEIGHTS, **(self.tuning.weights if self.tuning else {})}
        # Without fitted quotation weights: the ranking weights, bar the window's terms.
        self.quote_weights = {**{name: self.weights[name] for name in QUOTE_EVIDENCE},
                              **(self.tuning.quote_weights if self.tuning else {})}
        self.sentence_chunk = np.array([s.chunk_id for s in self.layer.sentences], dtype=np.int64)
        self.chunk_vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
        # float16 on disk; float32 once here rather than on every question.
        self.tokens_t = np.ascontiguousarray(self.layer.tokens.astype(np.float32).T)
        self.evidence = lru_cache(maxsize=256)(self._evidence)
        # Search and quoting both score the question: once is enough.
        self.scores = lru_cache(maxsize=32)(self._scores)

    def forget(self) -> None:
        """Drop what was computed for earlier questions (the embedder changed path)."""
        self.evidence.cache_clear()
        self.scores.cache_clear()

    @cached_property
    def headers(self) -> dict[str, frozenset[str]]:
        return {doc_id: header_terms(doc) for doc_id, doc in self.index.documents.items()}

    @cached_property
    def previous(self) -> np.ndarray:
        """Each sentence's predecessor in its document (itself for a document's first)."""
        sentences = self.layer.sentences
        return np.array([i - 1 if i > 0 and sentences[i - 1].doc_id == s.doc_id else i
                         for i, s in enumerate(sentences)], dtype=np.int64)

    @cached_property
    def sentence_doc(self) -> np.ndarray:
        return np.array([s.doc_id for s in self.layer.sentences], dtype=object)

    @cached_property
    def header(self) -> np.ndarray:
        return np.array(header_sentences(self.layer, self.index.documents), dtype=np.int64)

    @cached_property
    def thesis(self) -> dict[str, np.ndarray]:
        from rag.retrieval.thesis import thesis_evidence

        return thesis_evidence(self.layer, self.index.documents)

    def _content_mask(self, ids: np.ndarray) -> np.ndarray:
        tokens = self.embedder.token_strings(ids)
        special = self.embedder.special_ids
        return np.array([int(i) not in special and bool(re.search(r"\w", t)) and t.lower() not in QUESTION_WORDS
                         for i, t in zip(ids, tokens)], dtype=bool)

    def _term_matches(self, q_ids: np.ndarray, q_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each content word-piece's best match inside each sentence, and its IDF."""
        layer = self.layer
        keep = self._content_mask(q_ids)
        if not keep.any() or layer.n == 0:
            return np.zeros((0, layer.n), dtype=np.float32), np.zeros(0, dtype=np.float32)
        n = max(layer.n, 1)
        idf = np.array([np.log((n + 1) / (layer.df.get(int(t), 0) + 0.5)) for t in q_ids[keep]], dtype=np.float32)
        idf = np.maximum(idf, 0.05)
        sims = q_tokens[keep].astype(np.float32) @ self.tokens_t  # [q, T]
        starts = layer.token_offsets[:-1]
        return np.maximum.reduceat(sims, starts, axis=1), idf  # [q, n]: best match inside each sentence

    def _dense(self, q: np.ndarray) -> dict[str, np.ndarray]:
        layer = self.layer
        return {
            "sentence": layer.vectors @ q,
            "with_prev": layer.prev @ q,
            "with_next": layer.next @ q,
            "chunk_dense": (self.chunk_vectors @ q)[self.sentence_chunk],
        }

    def _evidence(self, query: str) -> Evidence:
        from rag.index.lexical import question_stems

        q_ids, q_tokens, q = self.embedder.embed_tokens([query])[0]
        features = self._dense(q)
        match, idf = self._term_matches(q_ids, q_tokens)
        if idf.size:
            maxsim = (idf @ match) / float(idf.sum())
            maxsim_with_prev = (idf @ np.maximum(match, match[:, self.previous])) / float(idf.sum())
        else:
            maxsim = maxsim_with_prev = np.zeros(self.layer.n, dtype=np.float32)
        features.update({
            "chunk_bm25": self.index.bm25.scores_for(query)[self.sentence_chunk],
            "maxsim": maxsim,
            "maxsim_with_prev": maxsim_with_prev,
            "hubness": self.layer.hubness,
        })
        return Evidence(features, q, rare_words(self.embedder.token_strings(q_ids)),
                        frozenset(question_stems(query)), match, idf, q_ids, q_tokens)

    def combine(self, evidence: Evidence, form: QuestionForm | None = None) -> SentenceScores:
        """The evidence weighted (this model's tuning), then what the question's form adds.

        Two scores: ``score`` ranks passages, where terms met in the sentence
        before count (the reader sees both); ``quote`` chooses quotations,
        which must stand on their own words (QUOTE_EVIDENCE, with weights
        fitted for it), so that "It is a question of natural justice." is not
        quoted for the question its predecessor answers."""
        w, wq = self.weights, self.quote_weights
        z = {name: _z(np.asarray(evidence.features[name], dtype=np.float32)) for name in EVIDENCE}
        score = sum(w[name] * z[name] for name in EVIDENCE)
        quote = sum(wq[name] * z[name] for name in QUOTE_EVIDENCE)
        score, quote = self._with_form(score, form), self._with_form(quote, form)
        chunk = np.full(len(self.index.chunks), -np.inf, dtype=np.float32)
        np.maximum.at(chunk, self.sentence_chunk, score)
        return SentenceScores(score, quote, evidence.features["sentence"], evidence.features["maxsim"], chunk, evidence)

    def _with_form(self, score: np.ndarray, form: QuestionForm | None) -> np.ndarray:
        w = self.weights
        if form is not None and form.broad:
            # A summary: the document's thesis, steered a little by the question's own topic.
            t = self.thesis
            score = (w["broad_query"] * _z(score) + w["thesis_summary"] * t["summary"]
                     + w["thesis_early"] * t["early"] + w["thesis_recommends"] * t["recommends"])
        if form is not None:
            if len(form.documents) == 1 and not form.each:
                score[self.sentence_doc == form.documents[0]] += w["named_bonus"]
            if form.part is None:
                # The header names a document; it is how a document is found, not an answer.
                score[self.header] -= w["header_penalty"]
        return score

    def _scores(self, query: str, form: QuestionForm | None = None) -> SentenceScores:
        result = self.combine(self.evidence(query), form)
        for shared in (result.score, result.quote, result.chunk):
            shared.flags.writeable = False  # cached: every caller sees the same arrays
        return result
