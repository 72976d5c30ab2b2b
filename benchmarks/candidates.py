"""How many candidates a question needs: the first passages and quotations of
scoring every sentence, against scoring only the candidates gathered.

    .venv/bin/python -m benchmarks.candidates --docs 1200 [--claims 100]

SciFact abstracts as documents (as benchmarks.corpus_scale writes them), its
*train* claims as questions (the test claims are kept for reporting). For
each (TOP_SENTENCES, TOP_PASSAGES) pair: how often the top passage, the top
five passages (as a set) and the first quotation of the full scoring are the
same from the candidates alone, and how many sentences each question scores.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import scifact_queries, table, write_json
from benchmarks.corpus_scale import WORK, build, make_corpus

GRID = ((50, 10), (100, 10), (100, 20), (200, 20), (400, 40))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.candidates")
    parser.add_argument("--docs", type=int, default=1200)
    parser.add_argument("--claims", type=int, default=100)
    args = parser.parse_args(argv)
    corpus, index_dir = WORK / f"corpus-{args.docs}", WORK / f"index-{args.docs}"
    if not (index_dir / "manifest.json").exists():
        make_corpus(corpus, args.docs)
        build(corpus, index_dir)
    import rag.retrieval.candidates as candidates
    from rag.pipeline import Rag

    rag = Rag.open(index_dir)
    scorer = rag.scorer()
    claims = list(scifact_queries("train")[0].values())[: args.claims]
    full = []
    for q in claims:
        form = rag.form(q)
        scorer.forget()
        evidence = scorer.everything(q)
        scores = scorer.combine(evidence, form)
        quote = np.where(rag.index.sentences.quotable, scores.quote, -np.inf)
        full.append((np.argsort(-scores.chunk, kind="stable")[:5].tolist(), int(np.argmax(quote))))
    rows, result = [], {}
    for top_s, top_p in GRID:
        candidates.TOP_SENTENCES, candidates.TOP_PASSAGES = top_s, top_p
        same1 = same5 = same_quote = 0
        sizes = []
        for q, (chunks, best) in zip(claims, full):
            scorer.forget()
            form = rag.form(q)
            scores = scorer.scores(q, form)
            sizes.append(int(scores.evidence.computed.sum()))
            top = np.argsort(-scores.chunk, kind="stable")[:5].tolist()
            same1 += top[0] == chunks[0]
            same5 += len(set(top) & set(chunks)) / 5
            extra = [i for c in top for i in rag.index.sentences.by_chunk.get(c, ())]
            scores = scorer.scores(q, form, extra=extra)
            quote = np.where(rag.index.sentences.quotable, scores.quote, -np.inf)
            same_quote += int(np.argmax(quote)) == best
        n = len(claims)
        result[f"{top_s}/{top_p}"] = {
            "top1": same1 / n,
            "top5": same5 / n,
            "quote": same_quote / n,
            "scored_median": float(np.median(sizes)),
        }
        rows.append([top_s, top_p, same1 / n, same5 / n, same_quote / n, float(np.median(sizes))])
    print(
        table(
            rows,
            [
                "sentences",
                "passages",
                "top passage same",
                "top 5 shared",
                "first quotation same",
                "sentences scored (median)",
            ],
        )
    )
    write_json("candidates", {"docs": args.docs, "claims": len(claims), "grid": result})
    return result


if __name__ == "__main__":
    main()
