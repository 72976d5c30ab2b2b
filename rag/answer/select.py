"""Choose the quotations: the sentences, or short runs of adjacent
sentences, from the retrieved passages that best answer the question."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.answer.abstain import (
    answer_type, has_type, names_someone_new, unmentioned_name, unmentioned_place, wants_person, weak_match,
)
from rag.retrieval.question_form import asks_for, asks_for_every, ranked_parts
from rag.retrieval.scoring import SentenceScores
from rag.index.sentence_layer import SentenceLayer
from rag.types import Document, Hit

# A neighbour joins a quotation when its score is within this many z units
# of the sentence it extends: the pair then reads as one answer.
NEIGHBOUR_MARGIN = 2.0
MAX_RUN = 2
TYPED_POOL = 8
# Maximal marginal relevance for the quotations after the first (see
# _diversify). On eval/essays_qa.jsonl quote_hit rose steadily with it:
# 0.817 at 0, 0.829 at 1–2, 0.841 at 3, 0.854 at 4 and 6; the smallest
# value on that plateau is kept.
MMR_LAMBDA = 4.0
PERSON_POOL = 5


@dataclass(frozen=True)
class Selection:
    spans: tuple[tuple[str, int, int], ...]  # (doc_id, start, end), best first
    abstain_reason: str | None = None


def _run(i: int, layer: SentenceLayer, score: np.ndarray, allowed: set[int], used: set[int]) -> tuple[int, int]:
    """Sentence ``i`` extended by its better neighbour, if that one scores close."""
    s = layer.sentences[i]
    best = None
    for j in (i - 1, i + 1):
        if j in allowed and j not in used and layer.sentences[j].doc_id == s.doc_id \
                and score[j] >= score[i] - NEIGHBOUR_MARGIN and (best is None or score[j] > score[best]):
            best = j
    if best is None or MAX_RUN < 2:
        return i, i
    return min(i, best), max(i, best)


def _diversify(candidates: list[int], layer: SentenceLayer, score: np.ndarray, pool: int = 20) -> list[int]:
    """Maximal marginal relevance over the best ``pool`` candidates: each next
    sentence by its score minus MMR_LAMBDA times its cosine to the closest
    one already chosen, so three quotations do not say the same thing."""
    head, rest = candidates[:1], candidates[1:pool]
    vectors = layer.vectors
    while rest:
        sims = (vectors[rest] @ vectors[head].T).max(axis=1)
        best = int(np.argmax(score[rest] - MMR_LAMBDA * sims))
        head.append(rest.pop(best))
    return head + candidates[pool:]


def _part_spans(part: str, layer: SentenceLayer, documents: dict[str, Document], score: np.ndarray,
                every: bool) -> list[tuple[str, int, int]]:
    """The essay part asked for, one span per document (see ranked_parts)."""
    ranked = ranked_parts(part, layer, documents, score, every)
    spans = [(layer.sentences[ids[0]].doc_id, layer.sentences[ids[0]].start, layer.sentences[ids[-1]].end)
             for ids in ranked]
    # A photo credit or dateline is one line; several in one essay are not one quotation.
    if part in ("credit", "dateline"):
        spans = [(layer.sentences[i].doc_id, layer.sentences[i].start, layer.sentences[i].end)
                 for ids in ranked for i in sorted(ids, key=lambda i: -float(score[i]))[:1]]
    return spans


def select(question: str, scores: SentenceScores, layer: SentenceLayer, documents: dict[str, Document],
           passages: list[Hit], max_quotes: int, words: frozenset[str] | None = None) -> Selection:
    """``words``: the corpus's vocabulary (rag.words.vocabulary), if known."""
    part = asks_for(question)
    # A question about the essays' own headline, subtitle or photo credit is
    # about the corpus itself, however little its words resemble the text.
    if not part and weak_match(float(scores.dense.max(initial=-1.0)), float(scores.maxsim.max(initial=-1.0))):
        return Selection((), "nothing in the essays is close to this question")
    if words is not None and not part:
        missing = unmentioned_place(question, words) or unmentioned_name(question, words, scores.rare_words)
        if missing:
            return Selection((), f"the essays never mention {missing}")
    chunk_ids = {h.chunk.chunk_id for h in passages}
    candidates = [i for i in np.argsort(-scores.score, kind="stable").tolist()
                  if layer.sentences[i].chunk_id in chunk_ids]
    if part:
        # Essay parts are found even when their passage was not retrieved;
        # the part is the answer, other sentences would only be noise beside it.
        found = _part_spans(part, layer, documents, scores.score, every=asks_for_every(question))
        if found:
            return Selection(tuple(found[:max_quotes]))
    if not candidates:
        return Selection((), "no retrieved passage holds a quotable sentence")
    text = lambda i: documents[layer.sentences[i].doc_id].text[layer.sentences[i].start : layer.sentences[i].end]
    kind = answer_type(question)
    spans: list[tuple[str, int, int]] = []
    used: set[int] = set()
    if kind:
        typed = [i for i in candidates[:TYPED_POOL] if has_type(text(i), kind, question)]
        if not typed:
            return Selection((), f"the passages that match give no {kind} for this")
        candidates = typed + [i for i in candidates if i not in typed]
    elif wants_person(question):
        named = [i for i in candidates[:PERSON_POOL] if names_someone_new(text(i), question)]
        candidates = named + [i for i in candidates if i not in named]
    allowed = set(candidates)
    if not kind and not part and MMR_LAMBDA > 0:
        candidates = _diversify(candidates, layer, scores.score)
    for i in candidates:
        if len(spans) >= max_quotes:
            break
        if i in used:
            continue
        lo, hi = (i, i) if kind or part else _run(i, layer, scores.score, allowed, used)
        used.update(range(lo, hi + 1))
        first, last = layer.sentences[lo], layer.sentences[hi]
        spans.append((first.doc_id, first.start, last.end))
    return Selection(tuple(spans))
