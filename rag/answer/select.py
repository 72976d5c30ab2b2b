"""Choose the quotations: the sentences, or short runs of adjacent sentences,
that best answer the question, in the form it asks for.

- A lookup gets the best sentences of the retrieved passages, diverse
  (maximal marginal relevance), each extended by a neighbour that scores
  nearly as well.
- A question about every document ("Do both essays …?") gets the best
  sentences, plus the best of each document concerned that answers it
  and is not quoted yet (rag.pipeline).
- A broad question (a summary, the main argument) gets the sentences most
  likely to state each document's thesis (rag.retrieval.thesis), grouped by
  document in corpus order.
- A question for a part of a document's header (its headline, photo credit,
  dateline) gets that line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

import numpy as np

from rag.index.sentence_layer import SentenceLayer
from rag.retrieval.parts import ranked_parts
from rag.retrieval.question_form import QuestionForm
from rag.retrieval.scoring import SentenceScores, concerned_documents
from rag.types import Document, Hit

# A neighbour joins a quotation when its score is within this many z units
# of the sentence it extends: the pair then reads as one answer. Measured on
# eval/essays_qa.jsonl with all-MiniLM-L6-v2 before the answers rework
# (eval/reports/current/approaches.md: quote_hit 0.732 / 0.756 / 0.768 / 0.781
# at 0.5 / 1.5 / 2 / 2.5), not since.
NEIGHBOUR_MARGIN = 2.0
# See _diversify. Measured on eval/essays_qa.jsonl with all-MiniLM-L6-v2
# before the answers rework (eval/reports/current/approaches.md: quote_hit
# 0.817 at 0 rising to 0.854 at 4 and 6; the smallest on that plateau kept), not since.
MMR_LAMBDA = 4.0
PER_DOCUMENT = 2  # quotations per document in a broad answer; hand-set, not measured


@dataclass(frozen=True)
class Selection:
    spans: tuple[tuple[str, int, int], ...]  # (doc_id, start, end), in reading order of the answer
    grouped: bool = False  # grouped by document (broad and every-document answers)


def _run(i: int, layer: SentenceLayer, score: np.ndarray, allowed: set[int], used: set[int]) -> tuple[int, int]:
    """Sentence ``i`` extended by its better neighbour, if that one scores close."""
    s = layer.sentences[i]
    best = None
    for j in (i - 1, i + 1):
        if (
            j in allowed
            and j not in used
            and layer.sentences[j].doc_id == s.doc_id
            and score[j] >= score[i] - NEIGHBOUR_MARGIN
            and (best is None or score[j] > score[best])
        ):
            best = j
    return (i, i) if best is None else (min(i, best), max(i, best))


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


def _span(layer: SentenceLayer, lo: int, hi: int) -> tuple[str, int, int]:
    return layer.sentences[lo].doc_id, layer.sentences[lo].start, layer.sentences[hi].end


def part_spans(
    form: QuestionForm, scores: SentenceScores, layer: SentenceLayer, documents: Mapping[str, Document]
) -> list[tuple[str, int, int]]:
    """The header part asked for, one span per document concerned."""
    if not form.part:
        return []
    ranked = ranked_parts(form.part, layer, documents, scores.score, every=form.each, within=form.documents)
    if form.part in ("credit", "dateline"):  # one line each: several in one document are not one quotation
        return [_span(layer, i, i) for ids in ranked for i in sorted(ids, key=lambda i: -float(scores.score[i]))[:1]]
    return [_span(layer, ids[0], ids[-1]) for ids in ranked]


def concerned(form: QuestionForm, scores: SentenceScores, layer: SentenceLayer) -> list[str]:
    """The documents a broad or every-document question is about (rag.retrieval.scoring.concerned_documents)."""
    return concerned_documents(form, layer, scores.dense)


def quotable(layer: SentenceLayer, documents: Mapping[str, Document], ids) -> list[int]:
    """Those of ``ids`` a quotation may be: prose sentences and whole code
    blocks or table rows, never a heading, an FAQ's question or a sentence
    that asks (a rhetorical question is no answer)."""
    out = []
    for i in ids:
        s = layer.sentences[i]
        if layer.quotable[i] and not documents[s.doc_id].text[s.start : s.end].rstrip().endswith("?"):
            out.append(i)
    return out


def best_in_document(
    doc_id: str,
    scores: SentenceScores,
    layer: SentenceLayer,
    count: int,
    exclude: Collection[int] = (),
    documents: Mapping[str, Document] | None = None,
) -> list[int]:
    r = layer.by_doc.get(doc_id, range(0))
    ids = [i for i in r if i not in exclude and np.isfinite(scores.quote[i])]
    if documents is not None:
        ids = quotable(layer, documents, ids)
    picked = np.array(ids, dtype=np.int64)
    if picked.size == 0:
        return []
    return [int(i) for i in picked[np.argsort(-scores.quote[picked], kind="stable")][:count]]


def per_document(
    docs: Sequence[str],
    scores: SentenceScores,
    layer: SentenceLayer,
    count: int,
    header: Collection[int],
    documents: Mapping[str, Document] | None = None,
) -> Selection:
    """The best ``count`` sentences of each document, each document's in reading order."""
    spans = []
    for doc_id in docs:
        for i in sorted(best_in_document(doc_id, scores, layer, count, exclude=set(header), documents=documents)):
            spans.append(_span(layer, i, i))
    return Selection(tuple(spans), grouped=True)


def lookup(
    form: QuestionForm,
    scores: SentenceScores,
    layer: SentenceLayer,
    documents: Mapping[str, Document],
    passages: Sequence[Hit],
    max_quotes: int,
) -> Selection:
    """The best sentences of the retrieved passages (see the module's docstring)."""
    ids = [i for h in passages for i in layer.by_chunk.get(h.chunk.chunk_id, ())]
    ids = [i for i in dict.fromkeys(ids) if np.isfinite(scores.quote[i])]
    candidates = quotable(layer, documents, sorted(ids, key=lambda i: (-float(scores.quote[i]), i)))
    if not candidates:
        return Selection(())

    allowed = set(candidates)
    candidates = _diversify(candidates, layer, scores.quote)
    spans: list[tuple[str, int, int]] = []
    used: set[int] = set()
    for i in candidates:
        if len(spans) >= max_quotes:
            break
        if i in used:
            continue
        lo, hi = _run(i, layer, scores.quote, allowed, used)
        used.update(range(lo, hi + 1))
        spans.append(_span(layer, lo, hi))
    return Selection(tuple(spans))
