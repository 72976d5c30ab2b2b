"""No quality loss: SciFact vectors and nDCG@10 of each backend vs the
unoptimised model (sentence-transformers, float32 — also what the LangChain
peer runs).

Embeds the whole SciFact corpus with each backend, then scores dense retrieval
(exact inner product) of the test queries with ir_measures. Also saves the
reference vectors for the scale benchmark.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from benchmarks.common import OUT, machine, scifact_queries, scifact_texts, table, timed, write_json


def ndcg_at_10(doc_ids, doc_vecs, qids, query_vecs, qrels) -> dict:
    import ir_measures
    from ir_measures import RR, nDCG

    scores = query_vecs @ doc_vecs.T
    top = np.argsort(-scores, axis=1)[:, :100]
    run = {q: {doc_ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(qids)}
    result = ir_measures.calc_aggregate([nDCG @ 10, RR @ 10], qrels, run)
    return {"ndcg@10": float(result[nDCG @ 10]), "mrr@10": float(result[RR @ 10])}


def sentence_sum_vectors(embedder, texts: list[str]) -> np.ndarray:
    """What rag.index.build builds for a corpus with a sentence layer: a text's
    vector is the normalised sum of its sentences' token states."""
    from rag.ingest.sentences import split_many

    spans = list(split_many(texts))
    pieces = [t[a:b] for t, doc in zip(texts, spans) for a, b in doc]
    embedded = iter(embedder.embed_sentences(pieces))
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for row, doc in enumerate(spans):
        total = sum((next(embedded).state_sum for _ in doc), np.zeros(embedder.dim, dtype=np.float32))
        out[row] = total / max(float(np.linalg.norm(total)), 1e-12)
    return out


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict:
    cos = (a * b).sum(axis=1)
    return {"min": float(cos.min()), "p1": float(np.percentile(cos, 1)), "mean": float(cos.mean())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.quality")
    parser.add_argument("--limit", type=int, default=None, help="only the first N SciFact documents")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated backends to (re)run against the saved reference vectors; "
        "results are merged into out/quality.json",
    )
    args = parser.parse_args(argv)

    from rag.embed.auto import FastEmbedder
    from rag.embed.torch_backend import SentenceTransformerEmbedder, cpu_has_bf16

    doc_ids, texts = scifact_texts(args.limit)
    queries, qrels = scifact_queries("test")
    qids = list(queries)
    qtexts = [queries[q] for q in qids]

    reference = "torch-fp32 (reference)"
    ref = SentenceTransformerEmbedder()
    fast = FastEmbedder(bf16=False)
    backends = {reference: ref, "onnx-fp32": fast}
    if cpu_has_bf16():
        # The bulk build path for chunks (large corpora): torch with bf16 weights.
        bf16 = FastEmbedder(bf16=True)
        bf16._onnx = None  # documents only through bf16 torch, whatever the batch size
        backends["torch-bf16 (large-corpus build)"] = bf16.embed_documents
        if os.environ.get("RAG_OPENVINO") == "1":
            ov = FastEmbedder(bf16=True)
            backends["openvino-bf16 (opt-in)"] = lambda t: ov._bulk_or_none().embed_documents(t)
        # The small-corpus build: one bf16 pass over sentences, each text's
        # vector summed from its sentences' token states.
        backends["sentence sums, bf16 (small-corpus build)"] = lambda t: sentence_sum_vectors(bf16, t)
    backends[reference] = ref.embed_documents
    backends["onnx-fp32"] = fast.embed_documents
    only = args.only.split(",") if args.only else None

    docs, qv, speed = {}, {}, {}
    if only:
        docs[reference] = np.load(OUT / "scifact_doc_vectors.npy")
        qv[reference] = np.load(OUT / "scifact_query_vectors.npy")
    for name, embed in backends.items():
        if only and name not in only:
            continue
        embed(texts[:8])
        seconds, docs[name] = timed(embed, texts)
        speed[name] = len(texts) / seconds
        print(f"{name}: {len(texts)} docs in {seconds:.0f} s", flush=True)
    # Queries: sentence-transformers for the reference, onnxruntime for every
    # rag backend (that is what `rag ask` runs).
    if reference not in qv:
        qv[reference] = np.stack([ref.embed_query(q) for q in qtexts])
    onnx_q = np.stack([fast.embed_query(q) for q in qtexts])
    for name in docs:
        qv.setdefault(name, onnx_q)
    backends = dict.fromkeys(docs)
    results = {}
    for name in backends:
        results[name] = {
            **ndcg_at_10(doc_ids, docs[name], qids, qv[name], qrels),
            "doc_cosine_vs_reference": cosine_stats(docs[name], docs[reference]),
            "query_cosine_vs_reference": cosine_stats(qv[name], qv[reference]),
            "docs_per_s_indicative": speed.get(name),
        }
    if only:
        previous = json.loads((OUT / "quality.json").read_text())["results"]
        results = {**previous, **{k: v for k, v in results.items() if k != reference}}
    base = results[reference]["ndcg@10"]
    rows = [
        [
            n,
            r["ndcg@10"],
            r["ndcg@10"] - base,
            r["mrr@10"],
            r["doc_cosine_vs_reference"]["min"],
            r["query_cosine_vs_reference"]["min"],
        ]
        for n, r in results.items()
    ]
    print(table(rows, ["backend", "nDCG@10", "Δ vs ref", "MRR@10", "min doc cos", "min query cos"]))
    OUT.mkdir(parents=True, exist_ok=True)
    if args.limit is None and not only:
        np.save(OUT / "scifact_doc_vectors.npy", docs[reference])
        np.save(OUT / "scifact_query_vectors.npy", qv[reference])
    data = {
        "machine": machine(),
        "documents": len(texts),
        "queries": len(qids),
        "results": results,
        "targets": {"ndcg_within": 0.01, "cosine_at_least": 0.999},
    }
    print("wrote", write_json("quality", data))
    return data


if __name__ == "__main__":
    main()
