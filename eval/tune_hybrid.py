"""Choose the hybrid retriever's fusion weights on a BEIR train split.

    .venv/bin/python eval/tune_hybrid.py ../shared/data/scifact [--split train]

Ranks every query once with dense and once with BM25 (chunk level, the index
cached by `rag eval --beir`), then scores reciprocal rank fusion for a grid of
(dense weight, BM25 weight, k) by nDCG@10 at the document level. Tune on
train; report test with `rag eval --beir ... --split test`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.embed.auto import default_embedder
from rag.evaluation.beir import load_beir, open_beir
from rag.evaluation.metrics import BEIR_METRICS, ir_evaluate
from rag.ingest.chunking import ChunkSettings
from rag.pipeline import project_root

DEPTH = 300


def doc_ranking(hits) -> list[str]:
    seen, ranked = set(), []
    for h in hits:
        if h.chunk.doc_id not in seen:
            seen.add(h.chunk.doc_id)
            ranked.append(h.chunk.doc_id)
    return ranked


def fuse(dense: list[str], bm25: list[str], wd: float, wb: float, k: int) -> list[str]:
    scores: dict[str, float] = {}
    for weight, ranking in ((wd, dense), (wb, bm25)):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda d: -scores[d])[:100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--chunk-overlap", type=int, default=100)
    args = parser.parse_args()
    data = load_beir(args.folder, args.split)
    rag = open_beir(
        data, project_root() / "index" / "beir", default_embedder(), ChunkSettings(args.chunk_size, args.chunk_overlap)
    )
    dense, bm25 = rag.retriever("dense"), rag.retriever("bm25")
    runs = {}
    for qid in tqdm(sorted(data.qrels), desc="rank"):
        q = data.queries[qid]
        runs[qid] = (doc_ranking(dense.search(q, DEPTH)), doc_ranking(bm25.search(q, DEPTH)))
    rows = []
    for name, pick in (("dense", 0), ("bm25", 1)):
        m, _ = ir_evaluate(data.qrels, {q: r[pick][:100] for q, r in runs.items()}, BEIR_METRICS)
        rows.append((m["ndcg@10"], name))
    for wd, wb, k in itertools.product((0.6, 0.8, 1.0, 1.2, 1.5), (0.6, 0.8, 1.0, 1.2, 1.5), (10, 30, 60, 100)):
        if wd == wb and wd != 1.0:
            continue
        run = {q: fuse(d, b, wd, wb, k) for q, (d, b) in runs.items()}
        m, _ = ir_evaluate(data.qrels, run, BEIR_METRICS)
        rows.append((m["ndcg@10"], f"rrf dense={wd} bm25={wb} k={k}"))
    for score, name in sorted(rows, reverse=True)[:15]:
        print(f"{score:.4f}  {name}")


if __name__ == "__main__":
    main()
