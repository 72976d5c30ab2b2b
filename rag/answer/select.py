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

import re
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

import numpy as np

from rag.index.sentence_layer import SentenceLayer
from rag.ingest.layout import prose_start
from rag.retrieval.parts import ranked_parts
from rag.retrieval.question_form import QuestionForm
from rag.retrieval.scoring import SentenceScores, concerned_documents
from rag.types import CODE, ITEM, PARAGRAPH, Document, Hit

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
# A sentence that runs across a block boundary (a PDF's page, a displayed
# command: "are created by the function" / "zoo(x, order.by)" / "where x is …")
# is quoted with the units it runs on into (at most this many steps, list
# items, and characters); hand-set, not measured.
MAX_RUN_ON = 3
MAX_RUN_ON_ITEMS = 4
MAX_RUN_ON_CHARS = 1_200
# How a sentence ends; anything else in a paragraph stops mid-sentence.
_ENDS = (".", "!", "?", ":", ";", "…", '"', "”", "’", "'", ")", "]")
# How a list item ends when the next one finishes its sentence.
LISTED = (";", ",", " or", " and", ":")
# A unit with a word in it: two letters running.
_WORDED = re.compile(r"[^\W\d_]{2}")
# Marks a sentence never opens with, and those it may.
CLOSING = frozenset(",;:.)]}=–—-")
OPENING = frozenset("(\"“‘'[")


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


def _text(layer: SentenceLayer, documents: Mapping[str, Document], i: int) -> str:
    s = layer.sentences[i]
    return documents[s.doc_id].text[s.start : s.end].strip()


def whole(
    layer: SentenceLayer, documents: Mapping[str, Document] | None, lo: int, hi: int, taken: Collection[int] = ()
) -> tuple[int, int]:
    """Units ``lo``..``hi`` widened so that they neither end nor start mid-sentence:
    a paragraph that stops without a stop is quoted with what it runs on into
    (a displayed command and the words after it, a list, the paragraph after a
    page break); one that opens as no sentence does (in lower case, with
    punctuation), with the paragraph (and the displayed command) it continues.
    Never into units in ``taken``."""
    if documents is None:
        return lo, hi
    sentences, doc_id = layer.sentences, layer.sentences[lo].doc_id
    # A header line (headline, credit, dateline) runs into nothing and nothing into it.
    body = prose_start(documents[doc_id]) or 0

    def kind(i: int) -> str | None:
        ok = 0 <= i < layer.n and sentences[i].doc_id == doc_id and i not in taken and sentences[i].start >= body
        return sentences[i].kind if ok else None

    def fits(a: int, b: int) -> bool:
        return sentences[b].end - sentences[a].start <= MAX_RUN_ON_CHARS

    def continues(i: int, after: str = ".") -> bool:
        """Unit ``i`` opens as no sentence does: in lower case or with a closing
        mark (").", ", and …"); or, after ``after`` that stops on a lower-case word
        or a comma, with an opening one ('"its", "irts" …', "(a) the power …")."""
        head = _text(layer, documents, i)[:1]
        opening = head in OPENING and (after[-1:].islower() or after.endswith(","))
        return head.islower() or head in CLOSING or opening

    if (
        kind(hi) == CODE
        and hi > lo
        and kind(hi - 1) == PARAGRAPH
        and not _text(layer, documents, hi - 1).endswith(_ENDS)
    ):
        # Already through the displayed command: on to the words after it.
        if kind(hi + 1) == PARAGRAPH and continues(hi + 1) and fits(lo, hi + 1):
            hi += 1
    for _ in range(MAX_RUN_ON):
        last = _text(layer, documents, hi) if kind(hi) == PARAGRAPH else "."
        # "(a) for any code …; or": the items after it finish the sentence.
        listed = kind(hi) == ITEM and _text(layer, documents, hi).endswith(LISTED)
        last = "," if listed else last
        # A paragraph that ends in a colon announces what follows: a command or a list.
        if last.endswith(_ENDS) and not last.endswith(":"):
            break
        j = hi + 1
        if kind(j) == CODE and fits(lo, j):
            hi = j + 1 if kind(j + 1) == PARAGRAPH and continues(j + 1) and fits(lo, j + 1) else j
        elif kind(j) == ITEM:
            while kind(j) == ITEM and j - hi <= MAX_RUN_ON_ITEMS and fits(lo, j):
                j += 1
                if listed and not _text(layer, documents, j - 1).endswith(LISTED):
                    break  # the item that finishes the sentence
            hi = j - 1
        elif kind(j) == PARAGRAPH and not last.endswith(":") and continues(j, last) and fits(lo, j):
            hi = j
        else:
            break
    if kind(lo) == PARAGRAPH and continues(lo):
        j = lo - 1
        j = j - 1 if kind(j) == CODE else j
        if kind(j) == PARAGRAPH and not _text(layer, documents, j).endswith(_ENDS[:3]) and fits(j, hi):
            lo = j
    return lo, hi


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
    blocks or table rows, never a heading, an FAQ's question, a sentence
    that asks (a rhetorical question is no answer) or a unit without a word
    (a page number or a figure's tick left in a PDF's text, a row of figures)."""
    out = []
    for i in ids:
        s = layer.sentences[i]
        text = documents[s.doc_id].text[s.start : s.end]
        if layer.quotable[i] and not text.rstrip().endswith("?") and _WORDED.search(text):
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
    spans: list[tuple[str, int, int]] = []
    taken: set[int] = set()
    for doc_id in docs:
        for i in sorted(best_in_document(doc_id, scores, layer, count, exclude=set(header), documents=documents)):
            if i in taken:
                continue
            lo, hi = whole(layer, documents, i, i, taken=taken)
            taken.update(range(lo, hi + 1))
            spans.append(_span(layer, lo, hi))
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
    runs: list[tuple[int, int]] = []
    used: set[int] = set()
    for i in candidates:
        if len(runs) >= max_quotes:
            break
        if i in used:
            continue
        lo, hi = whole(layer, documents, *_run(i, layer, scores.quote, allowed, used))
        used.update(range(lo, hi + 1))
        runs = _merged(runs, lo, hi)
    return Selection(tuple(_span(layer, lo, hi) for lo, hi in runs))


def _merged(runs: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """``runs`` with units ``lo``..``hi`` added: as a quotation of their own, or, where
    they reach into one already chosen (a lead-in whose command was quoted first),
    joined to it in its place, so that neither is half of a sentence."""
    touching = [k for k, (a, b) in enumerate(runs) if a <= hi and lo <= b]  # whole() stays in one document
    if not touching:
        return [*runs, (lo, hi)]
    first = touching[0]
    joined = (min(lo, *(runs[k][0] for k in touching)), max(hi, *(runs[k][1] for k in touching)))
    return [joined if k == first else run for k, run in enumerate(runs) if k == first or k not in touching]
