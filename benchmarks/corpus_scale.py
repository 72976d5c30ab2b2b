"""What rag costs as the corpus grows: SciFact abstracts as documents, against the essays, in one run.

    .venv/bin/python -m benchmarks.corpus_scale [--sizes 300,1200,5183] [--peer 1200] [--queries 60] [--repeat 5]

For each size, in a child process of its own (so peak memory is that size's):
build time and peak memory of `rag index` (sentences a second), index MB per
MB of text, warm `Rag.ask` p50/p95 over SciFact test claims (with
--repeat N, N warm runs alternating with the essays', the ratio the median
of the N pairs'), and cold (with --repeat, the same in pairs)
`rag ask` (a new process: import, open, encode, answer; median of 3). The
essays get the same measures in the same run, so ratios to them are
side by side. With --peer, the LangChain pipeline a user would write
(RecursiveCharacterTextSplitter, HuggingFaceEmbeddings on the same model,
FAISS) is built, queried warm and cold on the same corpus, alternating with
rag. With --ndcg, SciFact test nDCG@10 of the default pipeline (all-mpnet,
fusion) over the largest corpus (all 5,183 abstracts by default), each
abstract ranked by its best passage as `rag eval --beir` ranks them.
Figures go to benchmarks/out/corpus_scale.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.common import OUT, ROOT, machine, pct, run_child, scifact_corpus, scifact_queries, table, write_json

WORK = OUT / "corpus_scale"


def make_corpus(folder: Path, n_docs: int) -> float:
    """SciFact abstracts as text files (title line, blank line, abstract); MB of text."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    total = 0
    for row in scifact_corpus(n_docs):
        text = f"{row['title']}\n\n{row['text']}\n"
        (folder / f"sf{row['_id']}.txt").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    return total / 1e6


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _generation(index_dir: Path) -> Path:
    return index_dir.resolve()


def measure_warm(index_dir: str, queries: list[str]) -> dict:
    """In this process: open the index, warm up, time each question."""
    from rag.pipeline import Rag

    rag = Rag.open(index_dir)
    rag.ask("warm up")
    times = []
    for q in queries:
        start = time.perf_counter()
        rag.ask(q)
        times.append(time.perf_counter() - start)
    return {"p50_ms": pct([t * 1000 for t in times], 50), "p95_ms": pct([t * 1000 for t in times], 95), "n": len(times)}


def _median_run(runs: list[dict], key: str) -> dict:
    """The run whose ``key`` is the median of ``runs`` (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


def cold(index_dir: Path, question: str, runs: int = 3) -> dict:
    walls, peaks = [], []
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for _ in range(runs):
        wall, peak, code, out = run_child(["-m", "rag.cli", "ask", "--index", str(index_dir), question], env=env)
        if code != 0:
            raise SystemExit(f"cold rag ask failed: {out[-400:]}")
        walls.append(wall)
        peaks.append(peak)
    return {"median_s": statistics.median(walls), "peak_mib": max(peaks)}


def _remove_index(index_dir: Path) -> None:
    """An index folder is a link to its current generation: both go."""
    if index_dir.is_symlink():
        target = index_dir.resolve()
        index_dir.unlink()
        shutil.rmtree(target, ignore_errors=True)
    elif index_dir.exists():
        shutil.rmtree(index_dir)


def build(corpus: Path, index_dir: Path) -> dict:
    _remove_index(index_dir)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    wall, peak, code, out = run_child(
        ["-m", "rag.cli", "index", "--quiet", "--corpus", str(corpus), "--index", str(index_dir)], env=env
    )
    if code != 0:
        raise SystemExit(f"rag index failed: {out[-600:]}")
    manifest = json.loads((_generation(index_dir) / "manifest.json").read_text())
    return {
        "seconds": wall,
        "peak_mib": peak,
        "chunks": manifest["counts"]["chunks"],
        "mb": folder_mb(_generation(index_dir)),
        "files_mb": {k: v["bytes"] / 1e6 for k, v in manifest["files"].items()},
    }


def peer(
    corpus: Path, store: Path, queries: list[str], question: str, index_dir: Path | None = None, repeat: int = 1
) -> dict:
    """The LangChain pipeline on rag's default model (the same weights, so the
    same work per word piece), in a child process of its own for build and warm queries.
    With ``repeat`` > 1: as many more warm runs of each, alternating (the peer's on its
    saved store), and the warm ratio the median of the pairs'."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    _wall, peak, code, out = run_child(
        ["-m", "benchmarks.corpus_scale", "--peer-child", str(corpus), str(store), json.dumps(queries)], env=env
    )
    if code != 0:
        raise SystemExit(f"peer failed: {out[-600:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if repeat > 1 and index_dir is not None:
        pairs = []
        for _ in range(repeat):
            _w, _p, c, o = run_child(
                ["-m", "benchmarks.corpus_scale", "--peer-warm-child", str(store), json.dumps(queries)], env=env
            )
            if c != 0:
                raise SystemExit(f"peer warm failed: {o[-400:]}")
            pairs.append((warm(index_dir, queries)["p50_ms"], json.loads(o.strip().splitlines()[-1])["warm_p50_ms"]))
        result["warm_pairs"] = pairs
        result["warm_ratio"] = statistics.median(a / b for a, b in pairs)
        result["warm_p50_ms"] = statistics.median(b for _a, b in pairs)
    from rag.embed.models import resolve

    colds = []
    for _ in range(3):
        w, _p, c, o = run_child(
            [str(ROOT / "benchmarks" / "peer_cold.py"), str(store), str(resolve(None)[0]), question], env=env
        )
        if c != 0:
            raise SystemExit(f"peer cold failed: {o[-400:]}")
        colds.append(w)
    result.update(cold_s=statistics.median(colds), build_peak_mib=peak)
    return result


def peer_child(corpus: str, store: str, queries: list[str]) -> None:
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings  # noqa: F401  (imported before the clock starts)
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    start = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1200, chunk_overlap=200)
    texts = [t for p in sorted(Path(corpus).glob("*.txt")) for t in splitter.split_text(p.read_text())]
    db = FAISS.from_texts(texts, _peer_embeddings())
    db.save_local(store)
    built = time.perf_counter() - start
    print(json.dumps({"build_s": built, "chunks": len(texts), "warm_p50_ms": _peer_warm_p50(db, queries)}))


def _peer_embeddings():
    from langchain_huggingface import HuggingFaceEmbeddings

    from rag.embed.models import resolve

    return HuggingFaceEmbeddings(
        model_name=str(resolve(None)[0]),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )


def _peer_warm_p50(db, queries: list[str]) -> float:
    db.similarity_search("warm up", k=5)
    times = []
    for q in queries:
        t = time.perf_counter()
        db.similarity_search(q, k=5)
        times.append(time.perf_counter() - t)
    return pct([x * 1000 for x in times], 50)


def peer_warm_child(store: str, queries: list[str]) -> None:
    """The peer's saved store loaded as peer_cold.py loads it, then queried warm."""
    from langchain_community.vectorstores import FAISS

    db = FAISS.load_local(store, _peer_embeddings(), allow_dangerous_deserialization=True)
    print(json.dumps({"warm_p50_ms": _peer_warm_p50(db, queries)}))


def warm_child(index_dir: str, queries: list[str]) -> None:
    print(json.dumps(measure_warm(index_dir, queries)))


def warm(index_dir: Path, queries: list[str]) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    _wall, peak, code, out = run_child(
        ["-m", "benchmarks.corpus_scale", "--warm-child", str(index_dir), json.dumps(queries)], env=env
    )
    if code != 0:
        raise SystemExit(f"warm run failed: {out[-600:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = peak
    return result


def ndcg(index_dir: Path) -> dict:
    """SciFact test nDCG@10 (and recall@100, MRR@10) of the default pipeline over
    the corpus built above, each abstract ranked by its best passage, as
    rag.evaluation.beir ranks them (the standard measures of ir-measures)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    _wall, _peak, code, out = run_child(["-m", "benchmarks.corpus_scale", "--ndcg-child", str(index_dir)], env=env)
    if code != 0:
        raise SystemExit(f"nDCG run failed: {out[-600:]}")
    return json.loads(out.strip().splitlines()[-1])


def ndcg_child(index_dir: str) -> None:
    from rag.evaluation.beir import rank_documents
    from rag.evaluation.metrics import BEIR_METRICS, ir_evaluate
    from rag.pipeline import Rag

    rag = Rag.open(index_dir)
    queries, qrels = scifact_queries("test")
    run = {q: [d.removeprefix("sf") for d in rank_documents(rag, queries[q], "fusion")] for q in sorted(qrels)}
    metrics, _ = ir_evaluate(qrels, run, BEIR_METRICS)
    print(json.dumps({"n_queries": len(qrels), "metrics": metrics}))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.corpus_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,1200,5183", help="abstracts per corpus, comma-separated")
    parser.add_argument("--peer", default="", help="sizes at which to run the LangChain peer too")
    parser.add_argument("--queries", type=int, default=60, help="SciFact test claims asked warm")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="warm and cold runs per size, each beside one on the essays: a ratio is the median of the pairs'",
    )
    parser.add_argument("--ndcg", action="store_true", help="also SciFact test nDCG@10 over all abstracts")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep indexes an earlier run built (and its build figures) instead of building again",
    )
    parser.add_argument("--peer-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--warm-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--peer-warm-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--ndcg-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer_child:
        return peer_child(args.peer_child[0], args.peer_child[1], json.loads(args.peer_child[2]))
    if args.warm_child:
        return warm_child(args.warm_child[0], json.loads(args.warm_child[1]))
    if args.peer_warm_child:
        return peer_warm_child(args.peer_warm_child[0], json.loads(args.peer_warm_child[1]))
    if args.ndcg_child:
        return ndcg_child(args.ndcg_child)

    queries = list(scifact_queries("test")[0].values())[: args.queries]
    question = queries[0]
    essays_q = "Who is Michael Kofman?"
    saved = OUT / "corpus_scale.json"
    result_before = json.loads(saved.read_text()) if args.reuse and saved.exists() else {}
    result = {"machine": machine(), "sizes": {}}
    WORK.mkdir(parents=True, exist_ok=True)
    essays_index = WORK / "essays-index"
    essays = build(ROOT / "corpus", essays_index)
    essays.update(
        text_mb=folder_mb(ROOT / "corpus"), warm=warm(essays_index, queries), cold=cold(essays_index, essays_q)
    )
    result["essays"] = essays
    rows = [
        [
            "essays",
            f"{essays['text_mb']:.3f}",
            essays["seconds"],
            essays["mb"] / essays["text_mb"],
            essays["warm"]["p50_ms"],
            essays["warm"]["p95_ms"],
            essays["cold"]["median_s"],
            essays["peak_mib"],
            "",
            "",
        ]
    ]
    peer_sizes = {int(s) for s in args.peer.split(",") if s}
    for size in [int(s) for s in args.sizes.split(",") if s]:
        corpus, index_dir = WORK / f"corpus-{size}", WORK / f"index-{size}"
        previous = result_before.get("sizes", {}).get(str(size)) if args.reuse else None
        if previous and (index_dir / "manifest.json").exists() and corpus.is_dir():
            # --reuse: the index this benchmark built last time, with that build's figures.
            mb = folder_mb(corpus)
            row = {k: previous[k] for k in ("seconds", "peak_mib", "chunks", "mb", "files_mb") if k in previous}
        else:
            mb = make_corpus(corpus, size)
            row = build(corpus, index_dir)
        # Each warm run beside one on the essays, alternating: on a shared machine a
        # size's p50 moved by a quarter between runs an hour apart (RESULTS.md, 2026-12-08).
        pairs = [(warm(index_dir, queries), warm(essays_index, queries)) for _ in range(max(1, args.repeat))]
        colds = [(cold(index_dir, question), cold(essays_index, essays_q)) for _ in range(max(1, args.repeat))]
        row.update(
            text_mb=mb,
            warm=_median_run([p[0] for p in pairs], "p50_ms"),
            cold=_median_run([c[0] for c in colds], "median_s"),
        )
        row["essays_warm"] = _median_run([p[1] for p in pairs], "p50_ms")
        row["warm_ratio"] = statistics.median(a["p50_ms"] / b["p50_ms"] for a, b in pairs)
        row["warm_pairs"] = [[a["p50_ms"], b["p50_ms"]] for a, b in pairs]
        row["essays_cold"] = _median_run([c[1] for c in colds], "median_s")
        row["cold_ratio"] = statistics.median(a["median_s"] / b["median_s"] for a, b in colds)
        row["cold_pairs"] = [[a["median_s"], b["median_s"]] for a, b in colds]
        result["sizes"][size] = row
        write_json("corpus_scale", result)  # rag's figures are kept whatever the peer does
        if size in peer_sizes:
            row["peer"] = peer(corpus, WORK / f"peer-{size}", queries, question, index_dir, args.repeat)
        rows.append(
            [
                size,
                f"{mb:.2f}",
                row["seconds"],
                row["mb"] / mb,
                row["warm"]["p50_ms"],
                row["warm"]["p95_ms"],
                row["cold"]["median_s"],
                row["peak_mib"],
                f"{row['warm_ratio']:.2f}",
                f"{row['cold_ratio']:.2f}",
            ]
        )
        write_json("corpus_scale", result)
    print(
        table(
            rows,
            [
                "corpus",
                "text MB",
                "build s",
                "index MB/MB",
                "warm p50 ms",
                "warm p95 ms",
                "cold s",
                "build peak MiB",
                "warm / essays",
                "cold / essays",
            ],
        )
    )
    for size, row in result["sizes"].items():
        if "peer" in row:
            p = row["peer"]
            print(
                f"\npeer at {size}: build {p['build_s']:.1f} s ({p['chunks']} chunks; rag {row['seconds']:.1f} s, "
                f"{row['seconds'] / p['build_s']:.2f}x), warm p50 {p['warm_p50_ms']:.1f} ms "
                f"(rag ask {p.get('warm_ratio', row['warm']['p50_ms'] / p['warm_p50_ms']):.2f}x), "
                f"cold {p['cold_s']:.2f} s "
                f"(rag {row['cold']['median_s'] / p['cold_s']:.2f}x)"
            )
    if args.ndcg:
        biggest = max(int(s) for s in args.sizes.split(",") if s)
        result["scifact"] = ndcg(WORK / f"index-{biggest}")
        print(
            f"\nSciFact test over {biggest:,} abstracts, the default pipeline (all-mpnet-base-v2, fusion): "
            f"{json.dumps(result['scifact']['metrics'])}"
        )
    write_json("corpus_scale", result)
    return result


if __name__ == "__main__":
    main()
