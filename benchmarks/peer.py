"""rag against the LangChain version a user might write instead:
langchain_community FAISS + HuggingFaceEmbeddings over the same chunks and
the same model (all-MiniLM-L6-v2, normalised, k=5).

Every comparison runs both sides in this process, interleaved (ours, peer,
ours, peer, …) or as alternating child processes, and reports medians and
ratios ours/peer (below 1 means we are faster).
"""

from __future__ import annotations

import argparse
import os
import shutil

from benchmarks.common import (
    OUT,
    busy_core,
    machine,
    median,
    peak_rss_mib,
    run_child,
    scifact_corpus,
    scifact_queries,
    summary_ms,
    table,
    timed,
    write_json,
)


def make_corpus(folder, n_docs: int):
    """SciFact abstracts as essay files (title line, blank line, text)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for row in scifact_corpus(n_docs):
        (folder / f"sf{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")


def peer_embeddings(model_dir: str):
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=model_dir, model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
    )


def peer_build(chunks, embeddings):
    from langchain_community.vectorstores import FAISS

    return FAISS.from_texts([c.text for c in chunks], embeddings, metadatas=[{"doc_id": c.doc_id} for c in chunks])


def interleaved(pairs: dict, inputs: list, repeat_clear=None) -> dict[str, list[float]]:
    """Time each side on each input, alternating which side goes first."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    names = list(pairs)
    for i, item in enumerate(inputs):
        for name in names if i % 2 == 0 else reversed(names):
            if repeat_clear:
                repeat_clear()
            seconds, _ = timed(pairs[name], item)
            times[name].append(seconds)
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.peer")
    parser.add_argument("--docs", type=int, default=300, help="SciFact abstracts in the corpus")
    parser.add_argument("--build-rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args(argv)

    from rag.embed.auto import FastEmbedder
    from rag.embed.model_folder import bundled_model_path
    from rag.index.build import build_index
    from rag.ingest.chunking import ChunkSettings, chunk_documents
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag

    work = OUT / "peer"
    corpus_dir, index_dir, peer_dir = work / "corpus", work / "index", work / "peer_faiss"
    make_corpus(corpus_dir, args.docs)
    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, ChunkSettings())
    model_dir = str(bundled_model_path())
    print(f"{len(corpus.documents)} documents, {len(chunks)} chunks (chunk_size 800)", flush=True)

    ours = FastEmbedder()
    peer_emb = peer_embeddings(model_dir)
    ours.embed_query("warm up"), peer_emb.embed_query("warm up")
    ours.embed_documents([c.text for c in chunks[:300]])  # loads the bf16 torch path too
    peer_emb.embed_documents([c.text for c in chunks[:32]])

    # ---- index build throughput: whole pipeline for us (chunk, embed, FAISS,
    # BM25, checksummed files) vs embed + FAISS for the peer.
    build = {"ours": [], "peer": []}
    store = None
    for r in range(args.build_rounds):
        order = ["ours", "peer"] if r % 2 == 0 else ["peer", "ours"]
        for side in order:
            if side == "ours":
                seconds, _ = timed(build_index, corpus, index_dir, ours, ChunkSettings(), force=True)
            else:
                seconds, store = timed(peer_build, chunks, peer_emb)
            build[side].append(len(chunks) / seconds)
            print(f"build {side}: {len(chunks) / seconds:.1f} chunks/s", flush=True)
    store.save_local(str(peer_dir))

    # ---- warm queries (distinct SciFact test claims; query cache cleared so
    # every call embeds)
    queries, _ = scifact_queries("test")
    qs = list(queries.values())[: args.queries]
    rag = Rag.open(index_dir, ours, corpus_dir)
    one_thread = FastEmbedder(threads=1)
    rag1 = Rag(rag.index, one_thread)
    rag.search("warm", retriever="dense"), rag1.search("warm", retriever="dense"), rag.ask("warm")

    def clear_all():
        for model in (ours, one_thread):
            model.clear_cache()

    sides = {
        "ours dense": lambda q: rag.search(q, k=5, retriever="dense"),
        "ours dense 1 thread": lambda q: rag1.search(q, k=5, retriever="dense"),
        "ours ask (default retriever + answer)": lambda q: rag.ask(q, k=5),
        "peer similarity_search": lambda q: store.similarity_search(q, k=5),
    }
    warm = {}
    loads = {}
    for phase, busy in (("as found", False), ("one more core busy", True)):
        with busy_core(busy):
            loads[phase] = os.getloadavg()[0]
            times = interleaved(sides, qs, clear_all)
        warm[phase] = {name: summary_ms(t) for name, t in times.items()}
    # The peer's torch uses one thread per core by default, which stalls when
    # another process holds a core; a careful peer would pin one thread.
    # Measured too, so the ratio does not rest on that pathology alone.
    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pinned = {"ours dense": sides["ours dense"], "peer similarity_search": sides["peer similarity_search"]}
    loads["peer torch 1 thread"] = os.getloadavg()[0]
    times = interleaved(pinned, qs, clear_all)
    warm["peer torch 1 thread"] = {name: summary_ms(t) for name, t in times.items()}
    torch.set_num_threads(default_threads)
    cached = {}
    rag.search(qs[0], retriever="dense")
    seconds = [timed(rag.search, qs[0], 5, "dense")[0] for _ in range(50)]
    cached["ours dense, repeated query (cache hit)"] = summary_ms(seconds)

    # ---- cold whole process: `rag ask` vs the peer script, alternating
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    question = qs[0]
    # `rag ask` is the console script, i.e. rag.cli.main's main.
    commands = {
        "rag ask (default retriever, fusion)": ["-m", "rag.cli", "ask", "--index", str(index_dir), question],
        "rag ask --retriever dense": [
            "-m",
            "rag.cli",
            "ask",
            "--index",
            str(index_dir),
            "--retriever",
            "dense",
            question,
        ],
        "peer script": [str(OUT.parent / "peer_cold.py"), str(peer_dir), model_dir, question],
    }
    cold = {name: {"wall_s": [], "peak_rss_mib": []} for name in commands}
    for run in range(args.cold_runs):
        names = list(commands) if run % 2 == 0 else list(reversed(commands))
        for name in names:
            wall, rss, code, out = run_child(commands[name], env)
            if code != 0:
                raise SystemExit(f"{name} failed ({code}):\n{out}")
            cold[name]["wall_s"].append(wall)
            cold[name]["peak_rss_mib"].append(rss)
    cold_summary = {
        n: {"median_wall_s": median(v["wall_s"]), "median_peak_rss_mib": median(v["peak_rss_mib"]), "runs": v["wall_s"]}
        for n, v in cold.items()
    }

    peer_warm = warm["as found"]["peer similarity_search"]["p50_ms"]
    ratios = {
        "warm dense p50 / peer (as found)": warm["as found"]["ours dense"]["p50_ms"] / peer_warm,
        "warm dense p95 / peer (as found)": warm["as found"]["ours dense"]["p95_ms"]
        / warm["as found"]["peer similarity_search"]["p95_ms"],
        "warm dense p50 / peer (one more core busy)": warm["one more core busy"]["ours dense"]["p50_ms"]
        / warm["one more core busy"]["peer similarity_search"]["p50_ms"],
        "warm dense p50 / peer pinned to 1 torch thread": warm["peer torch 1 thread"]["ours dense"]["p50_ms"]
        / warm["peer torch 1 thread"]["peer similarity_search"]["p50_ms"],
        "ask end-to-end p50 / peer search p50 (as found)": warm["as found"]["ours ask (default retriever + answer)"][
            "p50_ms"
        ]
        / peer_warm,
        "build throughput ours / peer": median(build["ours"]) / median(build["peer"]),
        "cold rag ask (default) / peer": cold_summary["rag ask (default retriever, fusion)"]["median_wall_s"]
        / cold_summary["peer script"]["median_wall_s"],
        "cold rag ask dense / peer": cold_summary["rag ask --retriever dense"]["median_wall_s"]
        / cold_summary["peer script"]["median_wall_s"],
        "cold peak RSS rag ask / peer": cold_summary["rag ask (default retriever, fusion)"]["median_peak_rss_mib"]
        / cold_summary["peer script"]["median_peak_rss_mib"],
    }

    for phase, rows in warm.items():
        print(f"\nwarm query latency, {phase}, load avg {loads[phase]:.1f} ({len(qs)} distinct queries, interleaved)")
        print(table([[n, r["p50_ms"], r["p95_ms"]] for n, r in rows.items()], ["side", "p50 ms", "p95 ms"]))
    print(f"\ncache hit: {cached}")
    print("\nbuild throughput (chunks/s, median of rounds)")
    print(table([[s, median(v), v] for s, v in build.items()], ["side", "median", "rounds"]))
    print("\ncold whole process (median of alternating runs)")
    print(
        table(
            [[n, v["median_wall_s"], v["median_peak_rss_mib"]] for n, v in cold_summary.items()],
            ["command", "wall s", "peak RSS MiB"],
        )
    )
    print("\nratios (ours / peer)")
    print(table([[k, v] for k, v in ratios.items()], ["ratio", "value"]))

    data = {
        "machine": machine(),
        "documents": len(corpus.documents),
        "chunks": len(chunks),
        "embedder": {
            "backend": ours.backend,
            "bf16_builds": ours.bf16,
            "bulk_runtime": getattr(ours._bulk, "runtime", "torch") if ours.bf16 else "onnxruntime",
            "onnx_threads": getattr(ours._onnx, "threads", None),
        },
        "warm_query": warm,
        "load_avg_at_phase": loads,
        "cache_hit": cached,
        "build_chunks_per_s": build,
        "cold": cold_summary,
        "bench_process_peak_rss_mib": peak_rss_mib(),
        "ratios": ratios,
        "targets": {
            "warm dense p50 / peer (as found)": 0.5,
            "build throughput ours / peer": 2.0,
            "cold rag ask (default) / peer": 0.6,
        },
    }
    print("wrote", write_json("peer", data))
    return data


if __name__ == "__main__":
    main()
