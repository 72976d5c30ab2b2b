"""Run an eval set through the same code path as `rag ask`, and score it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from rag.evaluation.form import FAULTS, FormCheck, form_summary
from rag.evaluation.metrics import (
    DEPTH,
    RETRIEVAL_METRICS,
    first_relevant_rank,
    hit_curve,
    ir_evaluate,
    label_ranking,
    quote_hits,
    span_qrels,
    span_run,
)
from rag.evaluation.qa import QAItem, Span
from rag.pipeline import Rag

ANSWER_METRICS = (
    "quote_hit",
    "abstain_rate",
    "false_abstain_rate",
    "confident_oos_rate",
    "caution_rate",
    "verbatim_rate",
)
# confident_oos_rate: out-of-scope questions answered without a caution (the
# worst failure: abstain_rate's complement, less the answers that say they
# may not answer). caution_rate: answerable questions answered with one.
# all_docs_quoted: over answerable questions whose gold answers lie in more
# than one document ("Do both essays …?"), the share that quote every one of
# them. each_doc_hit: over answerable questions, the share with a quotation on
# a gold span in every document the gold answers lie in ("a thesis-level
# quotation from each essay concerned" for broad questions; quote_hit for
# questions answered in one document).
MULTI_DOC_METRICS = ("all_docs_quoted", "each_doc_hit")
# The form of every quotation of every answer (rag.evaluation.form): the share
# that is whole prose or whole code, and the share with each fault.
FORM_METRICS = ("whole_prose_rate", *(f"{fault}_rate" for fault in FAULTS))
# Metrics reported per kind of question, and with a 95 % bootstrap interval.
KIND_METRICS = (
    "hit@1",
    "mrr@10",
    "quote_hit",
    "abstain_rate",
    "false_abstain_rate",
    "confident_oos_rate",
    "caution_rate",
    "all_docs_quoted",
    "each_doc_hit",
)
BOOTSTRAP = 2000


@dataclass(frozen=True)
class QuestionResult:
    qid: str
    question: str
    answerable: bool
    first_relevant_rank: int | None
    quote_hit: bool | None  # None for out-of-scope questions
    abstained: bool
    quotes: tuple[dict, ...]
    searched: tuple[dict, ...]  # the top passages: doc_id, start, end, relevant
    kind: str = ""
    all_docs_quoted: bool | None = None  # None unless the gold answers lie in several documents
    each_doc_hit: bool | None = None
    cautioned: bool = False  # answered, with the answerability model's caution
    form_faults: tuple[tuple[str, ...], ...] = ()  # per quotation, what is wrong with its form (rag.evaluation.form)


@dataclass(frozen=True)
class EvalResult:
    qa: str
    retriever: str
    k: int
    n: int
    n_answerable: int
    metrics: dict[str, float]
    hit_at: tuple[float, ...]  # hit@1 .. hit@DEPTH
    questions: tuple[QuestionResult, ...]
    by_kind: dict | None = None  # kind -> {"n": ..., metric: value}; {} when the set has no kinds
    ci: dict | None = None  # metric -> [low, high], a 95 % bootstrap interval over questions

    def to_json(self) -> dict:
        """The stable `rag eval --json` shape."""
        return {
            "qa": self.qa,
            "n": self.n,
            "n_answerable": self.n_answerable,
            "retriever": self.retriever,
            "metrics": self.metrics,
            "ci95": self.ci or {},
            "by_kind": self.by_kind or {},
            "per_question": [
                {
                    "id": q.qid,
                    "first_relevant_rank": q.first_relevant_rank,
                    "quote_hit": q.quote_hit,
                    "abstained": q.abstained,
                    "cautioned": q.cautioned,
                    **({"kind": q.kind} if q.kind else {}),
                    **({"each_doc_hit": q.each_doc_hit} if q.each_doc_hit is not None else {}),
                    **({"form_faults": [list(f) for f in q.form_faults]} if any(q.form_faults) else {}),
                }
                for q in self.questions
            ],
        }

    def to_full_json(self) -> dict:
        """Everything, for reports and --baseline comparisons."""
        return {
            **self.to_json(),
            "k": self.k,
            "hit_at": list(self.hit_at),
            "questions": [asdict(q) for q in self.questions],
        }


def _span(doc_id: str, start: int, end: int) -> Span:
    return Span(doc_id, start, end)


def evaluate(rag: Rag, items: list[QAItem], qa_name: str, retriever: str, k: int, progress: bool = False) -> EvalResult:
    """Retrieval metrics at depth 10 and answer metrics from `rag.ask` with ``k`` passages."""
    labels: dict[str, list[int | None]] = {}
    results: list[QuestionResult] = []
    n_quotes = n_verbatim = 0
    layer = rag.index.sentences
    form = FormCheck(layer, rag.index.documents) if layer is not None else None
    for item in tqdm(items, desc=f"eval {retriever}", disable=not progress, unit="q"):
        hits = rag.search(item.question, k=max(k, DEPTH), retriever=retriever)
        passages = [_span(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits[:DEPTH]]
        item_labels: list[int | None] = (
            label_ranking(passages, item.gold) if item.answerable else [None] * len(passages)
        )
        if item.answerable:
            labels[item.qid] = item_labels
        answer = rag.ask(item.question, k=k, retriever=retriever)
        quotes = [_span(q.doc_id, q.start, q.end) for q in answer.quotes]
        for q in answer.quotes:
            n_quotes += 1
            doc = rag.index.documents.get(q.doc_id)
            n_verbatim += doc is not None and doc.text[q.start : q.end] == q.text
        gold_docs = {g.doc_id for places in item.gold for g in places}
        multi = item.answerable and len(gold_docs) > 1
        quoted_docs = {q.doc_id for q in answer.quotes}
        results.append(
            QuestionResult(
                kind=item.kind,
                all_docs_quoted=(gold_docs <= quoted_docs) if multi else None,
                each_doc_hit=(
                    not answer.abstained
                    and all(
                        quote_hits(
                            [x for x in quotes if x.doc_id == d],
                            [[g for g in places if g.doc_id == d] for places in item.gold],
                        )
                        for d in gold_docs
                    )
                )
                if item.answerable
                else None,
                qid=item.qid,
                question=item.question,
                answerable=item.answerable,
                first_relevant_rank=first_relevant_rank(item_labels) if item.answerable else None,
                quote_hit=(not answer.abstained and quote_hits(quotes, item.gold)) if item.answerable else None,
                abstained=answer.abstained,
                cautioned=bool(answer.caution) and not answer.abstained,
                form_faults=tuple(
                    tuple(form.faults(q.doc_id, q.start, q.end)) if form is not None else () for q in answer.quotes
                ),
                quotes=tuple(
                    {"n": q.n, "doc_id": q.doc_id, "start": q.start, "end": q.end, "text": q.text}
                    for q in answer.quotes
                ),
                searched=tuple(
                    {"doc_id": p.doc_id, "start": p.start, "end": p.end, "relevant": lab is not None}
                    for p, lab in zip(passages, item_labels)
                ),
            )
        )
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    metrics, _ = ir_evaluate(
        span_qrels({i.qid: len(i.answers) for i in items if i.answerable}), span_run(labels), RETRIEVAL_METRICS
    )
    metrics.update(
        quote_hit=_share(r.quote_hit for r in answerable),
        abstain_rate=_share(r.abstained for r in unanswerable),
        false_abstain_rate=_share(r.abstained for r in answerable),
        confident_oos_rate=_share(not r.abstained and not r.cautioned for r in unanswerable),
        caution_rate=_share(r.cautioned for r in answerable),
        verbatim_rate=(n_verbatim / n_quotes) if n_quotes else 1.0,
    )
    if form is not None:
        metrics.update(form_summary([list(f) for r in results for f in r.form_faults]))
    multi = [r for r in answerable if r.all_docs_quoted is not None]
    if multi:
        metrics.update(all_docs_quoted=_share(r.all_docs_quoted for r in multi))
    if answerable:
        metrics.update(each_doc_hit=_share(r.each_doc_hit for r in answerable))
    kinds = sorted({r.kind for r in results if r.kind})
    by_kind = {
        kind: {
            "n": sum(r.kind == kind for r in results),
            **{m: round(v, 4) for m, v in per_question_metrics([r for r in results if r.kind == kind]).items()},
        }
        for kind in kinds
    }
    return EvalResult(
        qa=qa_name,
        retriever=retriever,
        k=k,
        n=len(items),
        n_answerable=len(answerable),
        metrics={name: round(value, 4) for name, value in metrics.items()},
        hit_at=tuple(round(v, 4) for v in hit_curve(r.first_relevant_rank for r in answerable)),
        questions=tuple(results),
        by_kind=by_kind,
        ci=bootstrap_ci(results),
    )


def per_question_metrics(results: list[QuestionResult]) -> dict[str, float]:
    """KIND_METRICS from per-question outcomes (metrics with no question to count are left out)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    multi = [r for r in answerable if r.all_docs_quoted is not None]
    out = {}
    if answerable:
        out["hit@1"] = _share(r.first_relevant_rank == 1 for r in answerable)
        out["mrr@10"] = sum(
            1 / r.first_relevant_rank for r in answerable if r.first_relevant_rank and r.first_relevant_rank <= DEPTH
        ) / len(answerable)
        out["quote_hit"] = _share(r.quote_hit for r in answerable)
        out["false_abstain_rate"] = _share(r.abstained for r in answerable)
        out["caution_rate"] = _share(r.cautioned for r in answerable)
    if unanswerable:
        out["abstain_rate"] = _share(r.abstained for r in unanswerable)
        out["confident_oos_rate"] = _share(not r.abstained and not r.cautioned for r in unanswerable)
    if multi:
        out["all_docs_quoted"] = _share(r.all_docs_quoted for r in multi)
    if answerable:
        out["each_doc_hit"] = _share(r.each_doc_hit for r in answerable)
    return out


def bootstrap_ci(results: list[QuestionResult], draws: int = BOOTSTRAP, seed: int = 0) -> dict[str, list[float]]:
    """95 % percentile intervals of KIND_METRICS, resampling questions (answerable
    and out-of-scope ones separately, so each draw keeps the set's mix)."""
    import random

    rng = random.Random(seed)
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    samples: dict[str, list[float]] = {}
    for _ in range(draws):
        drawn = [rng.choice(answerable) for _ in answerable] + [rng.choice(unanswerable) for _ in unanswerable]
        for metric, value in per_question_metrics(drawn).items():
            samples.setdefault(metric, []).append(value)
    out = {}
    for metric, values in samples.items():
        values.sort()
        out[metric] = [
            round(values[int(0.025 * (len(values) - 1))], 4),
            round(values[int(0.975 * (len(values) - 1))], 4),
        ]
    return out


def _share(flags) -> float:
    flags = list(flags)
    return sum(bool(f) for f in flags) / len(flags) if flags else 0.0


def qa_label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
