"""Vector search and BM25 at 10k, 100k and 1M passages.

Vectors: the real SciFact abstract embeddings (saved by benchmarks.quality,
5,183 of them) plus perturbed copies beyond that: each copy is a real vector
moved part of the way towards one of its 10 real nearest neighbours, plus a
little noise, then normalised. Copies therefore sit where real documents
sit, so neighbourhoods (and recall) mean something; pure random vectors
would have none. Queries are the real SciFact test-claim embeddings.

Each size runs in its own child process, so peak memory is that size's own.
Build uses every core; queries are timed one at a time on one thread, the
way a server answers them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import OUT, SCIFACT, machine, pct, table, write_json

SIZES = (10_000, 100_000, 1_000_000)


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def real_vectors() -> tuple[np.ndarray, np.ndarray]:
    docs, queries = OUT / "scifact_doc_vectors.npy", OUT / "scifact_query_vectors.npy"
    if not docs.is_file():
        raise SystemExit("run `python -m benchmarks quality` first: it saves the real SciFact vectors")
    return np.load(docs), np.load(queries)


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    base, _ = real_vectors()
    if n <= len(base):
        return np.ascontiguousarray(base[:n])
    rng = np.random.default_rng(seed)
    sims = base @ base.T
    np.fill_diagonal(sims, -1)
    neighbours = np.argsort(-sims, axis=1)[:, :10]
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    step = 200_000
    for start in range(len(base), n, step):
        m = min(step, n - start)
        i = rng.integers(0, len(base), m)
        j = neighbours[i, rng.integers(0, 10, m)]
        u = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        x = base[i] + u * (base[j] - base[i]) + rng.normal(0, 0.01, (m, base.shape[1])).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def timed_searches(index, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    from rag.index.vectors import search

    times, ids = [], []
    for q in queries:
        start = time.perf_counter()
        got, _ = search(index, q, k)
        times.append(time.perf_counter() - start)
        ids.append(np.pad(got, (0, k - len(got)), constant_values=-1))
    return times, np.stack(ids)


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g)) / len(t) for t, g in zip(truth, got)]))


def one_vectors(n: int) -> dict:
    import faiss

    from rag.index import vectors

    x = synthetic(n)
    _, queries = real_vectors()
    rss_data = vm_kib("VmRSS") / 1024
    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    index = vectors.make_vector_index(x)
    build_s = time.perf_counter() - start
    rss_index = vm_kib("VmRSS") / 1024 - rss_data
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    _, truth = exact.search(queries, 10)
    faiss.omp_set_num_threads(1)
    times, got = timed_searches(index, queries)
    result = {
        "n": n,
        "index": vectors.describe(index),
        "build_s": build_s,
        "vectors_per_s": n / build_s,
        "index_rss_mib": rss_index,
        "bytes_per_vector": rss_index * 2**20 / n,
        "search_p50_ms": pct(times, 50) * 1000,
        "search_p95_ms": pct(times, 95) * 1000,
        "recall@10_vs_exact": recall(truth, got),
    }
    exact_times, _ = timed_searches(exact, queries[:50])
    result["exact_flat_p50_ms"] = pct(exact_times, 50) * 1000
    if hasattr(index, "nprobe"):
        sweep = {}
        default = index.nprobe
        for nprobe in sorted({8, 16, 32, 64, 128, default}):
            index.nprobe = nprobe
            t, g = timed_searches(index, queries)
            sweep[nprobe] = {"p50_ms": pct(t, 50) * 1000, "p95_ms": pct(t, 95) * 1000, "recall@10": recall(truth, g)}
        index.nprobe = default
        result["nprobe_sweep"] = sweep
        # A corpus edit in place: remove and re-add the changed rows (IVF supports it).
        changed = x.copy()
        changed[: n // 100] = synthetic(n // 100 + 5183, seed=7)[5183:][: n // 100]
        faiss.omp_set_num_threads(2)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        ids = np.arange(n // 100, dtype=np.int64)
        start = time.perf_counter()
        index.remove_ids(ids)
        index.add_with_ids(changed[: n // 100], ids)
        result["in_place_update_1pct_s"] = time.perf_counter() - start
    result["peak_rss_mib"] = vm_kib("VmHWM") / 1024
    return result


def sentences(n: int) -> list[str]:
    """SciFact sentences, repeated to reach n (repeats change IDF, not cost)."""
    out = []
    with (SCIFACT / "corpus.jsonl").open() as handle:
        for line in handle:
            out.extend(s.strip() for s in json.loads(line)["text"].split(". ") if s.strip())
    return [out[i % len(out)] for i in range(n)]


def one_bm25(n: int) -> dict:
    from benchmarks.common import scifact_queries
    from rag.index.lexical import BM25Index

    texts = sentences(n)
    rss_data = vm_kib("VmRSS") / 1024
    start = time.perf_counter()
    index = BM25Index.build(texts)
    build_s = time.perf_counter() - start
    rss_index = vm_kib("VmRSS") / 1024 - rss_data
    del texts
    queries, _ = scifact_queries("test")
    qs = list(queries.values())[:100]
    index.search(qs[0], 10)
    times = []
    for q in qs:
        start = time.perf_counter()
        index.search(q, 10)
        times.append(time.perf_counter() - start)
    return {
        "n": n,
        "build_s": build_s,
        "docs_per_s": n / build_s,
        "index_rss_mib": rss_index,
        "search_p50_ms": pct(times, 50) * 1000,
        "search_p95_ms": pct(times, 95) * 1000,
        "peak_rss_mib": vm_kib("VmHWM") / 1024,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.scale")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument(
        "--kinds",
        default="vectors,bm25",
        help="vectors, bm25 or both; results are merged into out/scale.json when only one is run",
    )
    parser.add_argument("--child", choices=["vectors", "bm25"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        result = (one_vectors if args.child == "vectors" else one_bm25)(sizes[0])
        print(json.dumps(result))
        return result
    results = {"vectors": [], "bm25": []}
    kinds = args.kinds.split(",")
    if set(kinds) != {"vectors", "bm25"} and (OUT / "scale.json").is_file():
        previous = json.loads((OUT / "scale.json").read_text())
        results = {k: [r for r in previous.get(k, []) if r["n"] not in sizes or k not in kinds] for k in results}
    for kind in kinds:
        for n in sizes:
            start = time.time()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.scale", "--child", kind, "--sizes", str(n)],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                raise SystemExit(f"scale {kind} {n} failed:\n{out.stderr[-3000:]}")
            results[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
            results[kind].sort(key=lambda r: r["n"])
            print(f"{kind} {n}: done in {time.time() - start:.0f} s", flush=True)
    v = results["vectors"]
    print(
        table(
            [
                [
                    r["n"],
                    r["index"]["type"],
                    r["build_s"],
                    r["search_p50_ms"],
                    r["search_p95_ms"],
                    r["recall@10_vs_exact"],
                    r["exact_flat_p50_ms"],
                    r["index_rss_mib"],
                    r["peak_rss_mib"],
                ]
                for r in v
            ],
            ["n", "index", "build s", "p50 ms", "p95 ms", "recall@10", "flat p50 ms", "index MiB", "peak MiB"],
        )
    )
    for r in v:
        if "nprobe_sweep" in r:
            print(f"\nnprobe sweep at {r['n']} (nlist {r['index']['nlist']}, default nprobe {r['index']['nprobe']})")
            print(
                table(
                    [[p, s["p50_ms"], s["p95_ms"], s["recall@10"]] for p, s in r["nprobe_sweep"].items()],
                    ["nprobe", "p50 ms", "p95 ms", "recall@10"],
                )
            )
            print(f"full build {r['build_s']:.2f} s; in-place update of 1% {r['in_place_update_1pct_s']:.2f} s")
    print("\nBM25 (bm25s, SciFact sentences)")
    print(
        table(
            [
                [
                    r["n"],
                    r["build_s"],
                    r["docs_per_s"],
                    r["search_p50_ms"],
                    r["search_p95_ms"],
                    r["index_rss_mib"],
                    r["peak_rss_mib"],
                ]
                for r in results["bm25"]
            ],
            ["n", "build s", "docs/s", "p50 ms", "p95 ms", "index MiB", "peak MiB"],
        )
    )
    data = {"machine": machine(), **results, "targets": {"recall@10_vs_exact": 0.95, "search_p50_ms_at_1M": 2.0}}
    print("wrote", write_json("scale", data))
    return data


if __name__ == "__main__":
    main()
