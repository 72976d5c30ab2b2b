"""The milvus candidate store against the local one, on SciFact abstracts (benchmarks/MILVUS.md).

    .venv/bin/python -m benchmarks.milvus_store [--sizes 1200,5183] [--queries 100] [--model minilm]

For each size, the abstracts as text files (benchmarks.corpus_scale) are
indexed once with the local store (`rag index`, timed; kept in
benchmarks/out/milvus/ and reused by later runs), then, in a child process
of its own:

- the same index switched to Milvus Lite (`rag index --store milvus:…`,
  every vector reused), and Milvus's part of it: every row upserted into an
  empty store (rows a second);
- opening: the store's check against the index (counts and every row id);
- per SciFact test claim, each store's three candidate searches: recall of
  the local store's top sentences (200), top passages by meaning (20) and by
  BM25 (20, those scoring above 0) and of the gathered candidates, and the
  Milvus searches' latency; then warm `Rag.ask` p50/p95 on each store;
- one document removed and added back: the whole `rag remove`/`rag add` and
  the Milvus part of it (deletes and upserts of that document's rows);
- memory: this process's peak, and the Milvus Lite engine's (its own process).

Milvus Lite runs every index as FLAT (exact), so its dense recall says what
the copy holds, not what a server's HNSW would find: that needs a server.
Figures go to benchmarks/out/milvus_store.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import OUT, ROOT, machine, pct, run_child, scifact_queries, table, write_json
from benchmarks.milvus_synthetic import _engine_peak_mib, synthetic

WORK = OUT / "milvus"


def local_index(size: int, model: str) -> dict:
    """The local index of ``size`` abstracts, built once (its build time kept beside it)."""
    from benchmarks.corpus_scale import make_corpus

    corpus, index_dir = WORK / f"corpus-{size}", WORK / f"index-{size}"
    timing = WORK / f"build-{size}.json"
    if (index_dir / "manifest.json").exists() and timing.exists():
        return json.loads(timing.read_text())
    if not (index_dir / "manifest.json").exists():
        mb = make_corpus(corpus, size)
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        wall, peak, code, out = run_child(
            ["-m", "rag.cli", "index", "--quiet", "--model", model, "--corpus", str(corpus), "--index", str(index_dir)],
            env=env,
        )
        if code != 0:
            raise SystemExit(f"rag index failed: {out[-600:]}")
        built = {"seconds": wall, "peak_mib": peak, "text_mb": mb}
    else:  # built by hand before this script kept times
        built = {
            "seconds": None,
            "peak_mib": None,
            "text_mb": sum(p.stat().st_size for p in corpus.glob("*.txt")) / 1e6,
        }
    timing.write_text(json.dumps(built))
    return built


def child(size: int, model: str, n_queries: int) -> dict:
    import numpy as np

    from benchmarks.common import peak_rss_mib
    from rag.embed.auto import default_embedder
    from rag.index.build import build_index
    from rag.index.library import Incoming, add_files, remove_documents
    from rag.index.load import load_index
    from rag.index.stores import milvus
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag
    from rag.retrieval.candidates import TOP_PASSAGES, TOP_SENTENCES, Query, gather
    from rag.settings import parse_store

    embedder = default_embedder(model)
    source, corpus_dir = WORK / f"index-{size}", WORK / f"corpus-{size}"
    folder = WORK / f"milvus-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(source.resolve(), folder / "index")  # a plain folder: the first build makes it a link
    index_dir, store = folder / "index", parse_store(f"milvus:{folder / 'store.db'}")
    out: dict = {}

    # Milvus's part of each build (its deletes and upserts), timed inside the build.
    spent = []
    real_sync = milvus.MilvusCopy.sync

    def timed_sync(self, idx):
        t = time.perf_counter()
        try:
            return real_sync(self, idx)
        finally:
            spent.append(time.perf_counter() - t)

    milvus.MilvusCopy.sync = timed_sync
    start = time.perf_counter()
    index, report = build_index(load_corpus(corpus_dir), index_dir, embedder, ChunkSettings(), store=store)
    out["switch_s"] = time.perf_counter() - start
    assert report.embedded == 0, report
    # The switch loaded every row into an empty store: what a first build adds to `rag index`.
    out["rows"] = {k: v["upserted"] for k, v in report.synced.items()}
    out["load_s"] = spent[-1]
    out["rows_per_s"] = sum(out["rows"].values()) / out["load_s"]
    target = Path(store.target)  # Milvus Lite 2.5 keeps a store in one file
    out["store_mb"] = (
        target.stat().st_size if target.is_file() else sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    ) / 1e6

    # Opening: loading the index's files, then the store's check (counts, every id) on its own.
    opened = load_index(index_dir)
    milvus._checked.clear()  # as a new process would
    start = time.perf_counter()
    milvus.open_checked(opened)
    out["open_check_s"] = time.perf_counter() - start

    local_rag, milvus_rag = Rag.open(source, embedder), Rag.open(index_dir, embedder)
    local_scorer, milvus_scorer = local_rag.scorer(), milvus_rag.scorer()
    queries = list(scifact_queries("test")[0].values())[:n_queries]
    recall = {"sentences": [], "passages_dense": [], "passages_bm25": [], "gathered": []}
    search_s = []
    for question in queries:
        ev = local_scorer.evidence(question)
        q = Query(question, ev.vector, ev.features["sentence"], ev.chunk_dense, ev.chunk_bm25)
        layer = local_rag.index.sentences
        want_s = set(local_scorer.store.sentences(q, TOP_SENTENCES).tolist())
        want_d = set(np.argsort(-ev.chunk_dense)[:TOP_PASSAGES].tolist())
        positive = np.flatnonzero(ev.chunk_bm25 > 0)
        want_b = set(positive[np.argsort(-ev.chunk_bm25[positive])][:TOP_PASSAGES].tolist())
        t = time.perf_counter()
        got_s = set(milvus_scorer.store.sentences(q, TOP_SENTENCES).tolist())
        got_p = set(milvus_scorer.store.passages(q, TOP_PASSAGES).tolist())
        search_s.append(time.perf_counter() - t)
        gathered_local = set(gather(local_scorer.store, q, layer).tolist())
        gathered_milvus = set(gather(milvus_scorer.store, q, layer).tolist())
        for name, want, got in (
            ("sentences", want_s, got_s),
            ("passages_dense", want_d, got_p),
            ("passages_bm25", want_b, got_p),
            ("gathered", gathered_local, gathered_milvus),
        ):
            if want:
                recall[name].append(len(want & got) / len(want))
    out["recall"] = {name: float(np.mean(v)) for name, v in recall.items()}
    out["recall_min"] = {name: float(np.min(v)) for name, v in recall.items()}
    out["milvus_search_ms"] = {
        "p50": pct([s * 1000 for s in search_s], 50),
        "p95": pct([s * 1000 for s in search_s], 95),
    }

    # Alternating, question by question: on a shared machine the load moves within a run.
    asks = {"local": [], "milvus": []}
    for rag in (local_rag, milvus_rag):
        rag.scorer().forget()  # the recall loop above computed the local evidence already
        rag.ask("warm up")
    for question in queries:
        for name, rag in (("local", local_rag), ("milvus", milvus_rag)):
            t = time.perf_counter()
            rag.ask(question)
            asks[name].append(time.perf_counter() - t)
    for name, times in asks.items():
        out[f"ask_{name}_ms"] = {"p50": pct([s * 1000 for s in times], 50), "p95": pct([s * 1000 for s in times], 95)}

    # One document out and back in: the whole command and Milvus's part of it.
    doc = sorted(corpus_dir.glob("*.txt"))[0]
    start = time.perf_counter()
    removed = remove_documents(index_dir, [doc.stem], embedder)
    out["remove_s"], out["remove_milvus_s"] = time.perf_counter() - start, spent[-1]
    start = time.perf_counter()
    added = add_files(index_dir, [Incoming(doc.name, doc)], embedder)
    out["add_s"], out["add_milvus_s"] = time.perf_counter() - start, spent[-1]
    milvus.MilvusCopy.sync = real_sync
    out["remove_rows"], out["add_rows"] = removed.build.synced, added.build.synced
    assert (
        load_index(index_dir).manifest["store"]["candidates_store"]["counts"]
        == index.manifest["store"]["candidates_store"]["counts"]
    )

    out["peak_mib"] = peak_rss_mib()
    out["engine_peak_mib"] = _engine_peak_mib()
    out["sentences"], out["chunks"] = index.sentences.n, len(index.chunks)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.milvus_store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1200,5183", help="abstracts per corpus, comma-separated")
    parser.add_argument("--queries", type=int, default=100, help="SciFact test claims")
    parser.add_argument("--model", default="minilm", help="embedding model of the indexes (both stores)")
    parser.add_argument(
        "--synthetic",
        default="",
        help="rows of Milvus Lite alone (no index), comma-separated; needs the 1,200-abstract index",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--synthetic-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.model, args.queries)))
        return {}
    if args.synthetic_child:
        print(json.dumps(synthetic(args.synthetic_child, args.queries)))
        return {}
    if args.synthetic:
        earlier = OUT / "milvus_store.json"
        result = json.loads(earlier.read_text()) if earlier.exists() else {}
        result.setdefault("synthetic", {})
        for n in [int(x) for x in args.synthetic.split(",") if x]:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.milvus_store",
                    "--synthetic-child",
                    str(n),
                    "--queries",
                    str(args.queries),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=dict(os.environ, HF_HUB_OFFLINE="1"),
            )
            if proc.returncode != 0:
                raise SystemExit(f"synthetic {n} failed: {proc.stderr[-2000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["ran_at"], row["loadavg_at_start"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.getloadavg()
            result["synthetic"][str(n)] = row
            write_json("milvus_store", result)
            print(n, json.dumps(row))
        return result
    WORK.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "model": args.model, "queries": args.queries, "sizes": {}}
    earlier = OUT / "milvus_store.json"
    if earlier.exists():  # sizes measured in an earlier run stay (each size's row says when it ran)
        result["sizes"] = json.loads(earlier.read_text()).get("sizes", {})
    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        built = local_index(size, args.model)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.milvus_store",
                "--child",
                str(size),
                "--model",
                args.model,
                "--queries",
                str(args.queries),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=dict(os.environ, HF_HUB_OFFLINE="1"),
        )
        if proc.returncode != 0:
            raise SystemExit(f"size {size} failed: {proc.stderr[-2000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["local_build"] = built
        row["ran_at"], row["loadavg_at_start"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.getloadavg()
        result["sizes"][str(size)] = row
        write_json("milvus_store", result)
        r = row["recall"]
        rows.append(
            [
                size,
                row["sentences"],
                row["chunks"],
                f"{r['sentences']:.4f}",
                f"{r['passages_dense']:.4f}",
                f"{r['passages_bm25']:.4f}",
                f"{r['gathered']:.4f}",
                row["milvus_search_ms"]["p50"],
                row["ask_local_ms"]["p50"],
                row["ask_milvus_ms"]["p50"],
                row["load_s"],
                row["rows_per_s"],
                row["open_check_s"],
                row["remove_milvus_s"],
                row["add_milvus_s"],
                row["peak_mib"],
                row["engine_peak_mib"],
            ]
        )
    print(
        table(
            rows,
            [
                "abstracts",
                "sentences",
                "chunks",
                "recall sent",
                "recall dense",
                "recall bm25",
                "recall gathered",
                "milvus search ms",
                "ask local ms",
                "ask milvus ms",
                "load s",
                "rows/s",
                "open check s",
                "remove: milvus s",
                "add: milvus s",
                "rag MiB",
                "engine MiB",
            ],
        )
    )
    return result


if __name__ == "__main__":
    main()
