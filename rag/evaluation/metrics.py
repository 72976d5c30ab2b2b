"""Span-based relevance and the metrics computed from it.

A retrieved passage is relevant when it contains at least half of the
characters of one of the question's answer spans, at that span's location.
Rankings are then turned into ordinary qrels/runs so that the standard
definitions of ir-measures (trec_eval underneath) do the arithmetic:
each gold answer is one relevant "document"; a passage counts for the first
answer it newly covers, and a passage that only repeats an answer already
found counts as non-relevant (as a duplicate would in a ranked list).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from rag.evaluation.qa import Span

RETRIEVAL_METRICS = {
    "hit@1": "Success@1",
    "hit@5": "Success@5",
    "mrr@10": "RR@10",
    "ndcg@10": "nDCG@10",
    "recall@5": "R@5",
}
BEIR_METRICS = {"ndcg@10": "nDCG@10", "recall@100": "R@100", "mrr@10": "RR@10"}
DEPTH = 10


def overlap(a: Span, b: Span) -> int:
    if a.doc_id != b.doc_id:
        return 0
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def covers(passage: Span, gold: Span, fraction: float = 0.5) -> bool:
    """True when ``passage`` holds at least ``fraction`` of ``gold``'s characters."""
    shared = overlap(passage, gold)
    return shared > 0 and shared >= fraction * len(gold)


def label_ranking(passages: Sequence[Span], gold: Sequence[Sequence[Span]]) -> list[int | None]:
    """For each ranked passage, the index of the gold answer it newly finds, else None."""
    found: set[int] = set()
    labels: list[int | None] = []
    for passage in passages:
        label = None
        for j, places in enumerate(gold):
            if j not in found and any(covers(passage, g) for g in places):
                label = j
                found.add(j)
                break
        labels.append(label)
    return labels


def first_relevant_rank(labels: Sequence[int | None]) -> int | None:
    return next((rank for rank, label in enumerate(labels, start=1) if label is not None), None)


def ir_evaluate(
    qrels: dict[str, dict[str, int]], run: dict[str, list[str]], measures: dict[str, str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Aggregate and per-query values of ``measures`` (our name → ir-measures name).

    ``run`` maps a query to its ranked document ids, best first. Every query
    in ``qrels`` is scored, a query with an empty ranking as zero, so that
    nothing silently drops out of the average.
    """
    import ir_measures
    from ir_measures import Qrel, ScoredDoc

    parsed = {name: ir_measures.parse_measure(m) for name, m in measures.items()}
    back = {str(m): name for name, m in parsed.items()}
    qrel_rows = [Qrel(q, d, rel) for q, docs in qrels.items() for d, rel in docs.items()]
    run_rows: list = []
    for q in qrels:
        ranked = run.get(q) or ["__nothing__"]
        # trec_eval orders by score, breaking ties by id: strictly falling
        # scores keep our ranking as it is.
        run_rows.extend(ScoredDoc(q, d, float(len(ranked) - i)) for i, d in enumerate(ranked))
    per_query: dict[str, dict[str, float]] = {q: dict.fromkeys(measures, 0.0) for q in qrels}
    for metric in ir_measures.iter_calc(list(parsed.values()), qrel_rows, run_rows):
        per_query[metric.query_id][back[str(metric.measure)]] = float(metric.value)
    n = len(qrels) or 1
    aggregate = {name: sum(v[name] for v in per_query.values()) / n for name in measures}
    return aggregate, per_query


def span_run(labels_by_query: dict[str, list[int | None]]) -> dict[str, list[str]]:
    return {
        q: [f"answer-{lab}" if lab is not None else f"miss-{rank}" for rank, lab in enumerate(labels)]
        for q, labels in labels_by_query.items()
    }


def span_qrels(n_answers_by_query: dict[str, int]) -> dict[str, dict[str, int]]:
    return {q: {f"answer-{j}": 1 for j in range(n)} for q, n in n_answers_by_query.items()}


def hit_curve(first_ranks: Iterable[int | None], depth: int = DEPTH) -> list[float]:
    """hit@k for k = 1..depth: share of questions with a relevant passage in the top k."""
    ranks = list(first_ranks)
    if not ranks:
        return [0.0] * depth
    return [sum(r is not None and r <= k for r in ranks) / len(ranks) for k in range(1, depth + 1)]


def quote_hits(quotes: Sequence[Span], gold: Sequence[Sequence[Span]]) -> bool:
    """A quotation overlaps at least half of some gold span."""
    return any(covers(q, g) for q in quotes for places in gold for g in places)
