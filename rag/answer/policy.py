"""The answer policy: from one question's sentence scores and retrieved
passages to the spans to quote, or an abstention, in the form the question asks.

- A part of a document's header (headline, credit, dateline): that line.
- A broad question (a summary, the main argument): each concerned document's
  likeliest thesis sentences, grouped by document; never abstains.
- Otherwise the answerability model judges the retrieved passages' sentences:
  abstain, or quote the best of them (rag.answer.select.lookup); a question
  about every document also quotes each other concerned document whose own
  evidence reaches EVERY_DOCUMENT_SHARE of the threshold.
The answerability model (rag.answer.base.AnswerabilityModel) owns the
threshold and the caution band; this module only says how much of them a
question needs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Collection, Sequence

from rag.answer.base import AnswerabilityModel, Judgement
from rag.answer.select import PER_DOCUMENT, best_in_document, concerned, lookup, part_spans, per_document
from rag.index.load import Index
from rag.index.sentence_layer import SentenceLayer
from rag.retrieval.question_form import QuestionForm
from rag.retrieval.scoring import SentenceScores, sentences_of
from rag.types import Hit

# The share of the answerability threshold (and of its caution band) that a
# question needs when it presumes the documents treat its topic: about every
# document ("Do both essays …?"), or a follow-up on one document. Chosen by
# hand on eval/dev_qa.jsonl (eval/README.md, the table of sets), not fitted;
# the figures behind the choice were not recorded. The band's scaling: eval/README.md,
# "Answers with a caution".
EVERY_DOCUMENT_SHARE = 0.25

Span = tuple[str, int, int]  # (doc_id, start, end)


@dataclass(frozen=True)
class Choice:
    """What to quote for one question, or why not."""

    spans: tuple[Span, ...] = ()  # in the answer's reading order
    grouped: bool = False  # grouped by document (broad and every-document answers)
    reason: str | None = None  # set when the answer abstains: why, in words for the reader
    unsure: bool = False  # answered, but within the answerability model's caution band
    judgement: Judgement | None = None  # the answerability model's verdict, where it was asked


def _in_document(layer: SentenceLayer, doc_id: str, exclude: Collection[int]) -> list[int]:
    return [i for i in layer.by_doc.get(doc_id, ()) if i not in exclude]


def every_document(
    index: Index,
    form: QuestionForm,
    scores: SentenceScores,
    hits: Sequence[Hit],
    max_quotes: int,
    header: Collection[int],
    model: AnswerabilityModel,
) -> tuple[Span, ...]:
    """A question about every document, once judged answerable: the best
    quotations, plus the best sentence of each other document concerned
    whose own evidence reaches EVERY_DOCUMENT_SHARE of the threshold (the
    reader asked about it too); grouped by document."""
    layer = index.layer
    spans = list(lookup(form, scores, layer, index.documents, hits, max_quotes).spans)
    for doc_id in concerned(form, scores, layer):
        if any(span[0] == doc_id for span in spans):
            continue
        verdict = model.judge(form, scores, _in_document(layer, doc_id, header))
        best = best_in_document(doc_id, scores, layer, 1, exclude=header, documents=index.documents)
        if best and model.reaches(verdict, EVERY_DOCUMENT_SHARE):
            s = layer.sentences[best[0]]
            spans.append((doc_id, s.start, s.end))
    order = {d: k for k, d in enumerate(index.documents)}
    return tuple(sorted(spans, key=lambda span: (order[span[0]], span[1])))


def choose(
    index: Index,
    form: QuestionForm,
    scores: SentenceScores,
    hits: Sequence[Hit],
    max_quotes: int,
    header: Collection[int],
    model: AnswerabilityModel,
    scoped: bool = False,
) -> Choice:
    """The spans to quote from ``hits``, or an abstention. ``header``: the
    header lines' sentence ids, never quoted unless asked for; ``scoped``: the
    reader asked about these documents in particular (a follow-up on "the
    other essay"), which presumes they treat the topic."""
    layer, documents = index.layer, index.documents
    if form.part:
        return Choice(tuple(part_spans(form, scores, layer, documents)[: max(max_quotes, 1)]))
    if form.broad:
        docs = concerned(form, scores, layer)
        return Choice(per_document(docs, scores, layer, PER_DOCUMENT, header, documents).spans, grouped=True)
    candidates = [i for i in sentences_of(layer, (h.chunk.chunk_id for h in hits)) if i not in header]
    verdict = model.judge(form, scores, candidates)
    lenient = model.reaches(verdict, EVERY_DOCUMENT_SHARE)
    # The band scales with the threshold where the question presumes its topic is there.
    unsure = model.unsure(verdict, EVERY_DOCUMENT_SHARE if form.each or scoped else 1.0)
    if form.each and lenient:
        # A question about how every document treats something presumes
        # they do; it needs less evidence than a lookup (see EVERY_DOCUMENT_SHARE).
        spans = every_document(index, form, scores, hits, max_quotes, header, model)
        return Choice(spans, True, None, unsure, verdict)
    if scoped and lenient:
        verdict = dataclasses.replace(verdict, answerable=True)
    if not verdict.answerable:
        return Choice((), False, verdict.reason, False, verdict)
    if form.each:
        spans = every_document(index, form, scores, hits, max_quotes, header, model)
        return Choice(spans, True, None, unsure, verdict)
    selection = lookup(form, scores, layer, documents, hits, max_quotes)
    if not selection.spans:
        return Choice((), False, "no retrieved passage holds a quotable sentence", False, verdict)
    return Choice(selection.spans, False, None, unsure, verdict)
