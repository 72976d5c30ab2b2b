"""Milvus Lite alone at synthetic sizes, for benchmarks.milvus_store (--synthetic)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmarks.common import OUT, pct, scifact_queries

WORK = OUT / "milvus"


def _engine_peak_mib() -> float | None:
    """Peak resident memory of the Milvus Lite engine (a child of this process)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(os.getpid()) and fields.get("Name", "").strip() == "milvus":
            return int(fields["VmHWM"].split()[0]) / 1024
    return None


def synthetic(n: int, n_queries: int) -> dict:
    """Milvus Lite alone at ``n`` rows: the 1,200-abstract index's sentence
    vectors (MiniLM, 384 dimensions) and chunk stems, copied and moved a
    little (noise of σ 0.01 per dimension, then unit length) until there are
    ``n``; queries are SciFact test claims, encoded."""
    import numpy as np

    from rag.embed.auto import default_embedder
    from rag.index.lexical import question_stems
    from rag.index.load import load_index
    from rag.index.stores import milvus
    from rag.settings import parse_store

    index = load_index(WORK / "index-1200")
    base, texts = index.sentences.vectors, [c.text for c in index.chunks]
    rng = np.random.default_rng(0)
    folder = WORK / f"synthetic-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spec = parse_store(f"milvus:{folder / 'store.db'}")
    rec = {
        "target": spec.target,
        "collections": {"chunks": "synthetic_chunks"},
        "dim": base.shape[1],
        "model": "synthetic",
    }
    copy = milvus.MilvusCopy(spec, rec, milvus.connect(spec))
    copy._create("chunks")
    terms = milvus.terms_texts(texts)
    start = time.perf_counter()
    for first in range(0, n, milvus.BATCH):
        rows = []
        for i in range(first, min(n, first + milvus.BATCH)):
            v = base[i % len(base)] + (rng.normal(0, 0.01, base.shape[1]) if i >= len(base) else 0)
            rows.append(
                {
                    "pk": f"d{i // 10}/{i}-{i + 1}/{i:016x}",
                    "doc_id": f"d{i // 10}",
                    "vector": (v / np.linalg.norm(v)).astype(np.float32),
                    "terms": terms[i % len(terms)],
                }
            )
        copy.client.upsert("synthetic_chunks", rows)
    copy.client.flush("synthetic_chunks")
    out = {"rows": n, "load_s": time.perf_counter() - start}
    out["rows_per_s"] = n / out["load_s"]
    embedder = default_embedder("minilm")
    claims = list(scifact_queries("test")[0].values())[:n_queries]
    vectors = [embedder.embed_query(c) for c in claims]
    dense, bm25 = [], []
    for claim, q in zip(claims, vectors):
        t = time.perf_counter()
        copy.client.search(
            "synthetic_chunks",
            data=[q.astype(np.float32)],
            anns_field="vector",
            limit=200,
            search_params={"metric_type": "IP"},
            output_fields=[],
        )
        dense.append(time.perf_counter() - t)
        t = time.perf_counter()
        copy.client.search(
            "synthetic_chunks",
            data=[" ".join(question_stems(claim))],
            anns_field="sparse",
            limit=20,
            search_params={"metric_type": "BM25"},
            output_fields=[],
        )
        bm25.append(time.perf_counter() - t)
    out["dense_top200_ms"] = {"p50": pct([x * 1000 for x in dense], 50), "p95": pct([x * 1000 for x in dense], 95)}
    out["bm25_top20_ms"] = {"p50": pct([x * 1000 for x in bm25], 50), "p95": pct([x * 1000 for x in bm25], 95)}
    t = time.perf_counter()
    assert len(copy.keys("chunks")) == n
    out["keys_s"] = time.perf_counter() - t
    out["store_mb"] = Path(spec.target).stat().st_size / 1e6
    out["engine_peak_mib"] = _engine_peak_mib()
    milvus.disconnect(spec)
    shutil.rmtree(folder, ignore_errors=True)
    return out
