"""Indexing time per megabyte: ordinary paragraphs against one-line text.

A PDF export or minified HTML arrives as one line of megabytes. Sentence
splitting (pysbd) is quadratic in the length of the text it is handed, and
assigning sentences to chunks was quadratic in a document's size; both are
now linear (rag.ingest.sentences, rag.index.sentence_layer). This prints,
for each size, seconds per MB of:

- ``split``: split_sentences in this process;
- ``plan``: the sentence layer's plan (splitting, with the helper process on
  two or more cores, plus each sentence's chunk);
- ``chunk``: chunk_documents;
- ``build``: a whole index build with the real model (``--build-mb``).

The text is the bundled essays repeated: "paragraphs" keeps their line
breaks, "one line" replaces every line break by a space. Also whether the
splitting helper process pays: split_many over many documents, with and
without it.

    .venv/bin/python -m benchmarks.linear_time [--mb 0.5,1,5] [--build-mb 5] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, machine, table, timed, write_json

MB = 1_000_000


def texts(size: int) -> dict[str, str]:
    from rag.ingest.corpus import load_corpus

    essays = "\n\n".join(d.text for d in load_corpus(ROOT / "corpus").documents)
    repeated = ((essays + "\n\n") * (size // len(essays) + 1))[:size]
    return {"paragraphs": repeated, "one line": repeated.replace("\n", " ")}


def stage_times(text: str) -> dict[str, float]:
    from rag.index.sentence_layer import plan_sentences
    from rag.ingest.chunking import ChunkSettings, chunk_documents
    from rag.ingest.sentences import split_sentences
    from rag.types import Document

    doc = Document("big", "Big", text, "big.txt", "0" * 64)
    split, spans = timed(split_sentences, text)
    chunk, chunks = timed(chunk_documents, [doc], ChunkSettings())
    plan, _ = timed(plan_sentences, (doc,), chunks)
    return {"split": split, "chunk": chunk, "plan": plan, "sentences": len(spans), "chunks": len(chunks)}


def build_time(text: str, embedder) -> float:
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus

    work = Path(tempfile.mkdtemp(prefix="rag-linear-"))
    try:
        (work / "corpus").mkdir()
        (work / "corpus" / "big.txt").write_text(text, encoding="utf-8")
        seconds, _ = timed(build_index, load_corpus(work / "corpus"), work / "index", embedder)
        return seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def helper_pays(size: int) -> dict[str, float]:
    """split_many over documents of essay size, with and without the helper process."""
    import rag.ingest.sentences as sentences
    from rag.ingest.corpus import load_corpus

    essays = [d.text for d in load_corpus(ROOT / "corpus").documents]
    docs = [f"Copy {i}.\n\n{essays[i % len(essays)]}" for i in range(max(1, size // len(essays[0])))]
    with_helper, _ = timed(lambda: list(sentences.split_many(docs)))
    cores = sentences._cores
    sentences._cores = lambda: 1
    try:
        alone, _ = timed(lambda: list(sentences.split_many(docs)))
    finally:
        sentences._cores = cores
    return {"documents": len(docs), "with_helper_s": with_helper, "one_process_s": alone, "cores": cores()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.linear_time")
    parser.add_argument("--mb", default="0.5,1,5", help="sizes for the stage timings, in MB")
    parser.add_argument("--build-mb", default="5", help="sizes for whole builds, in MB ('' for none)")
    parser.add_argument("--helper-mb", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="0.2 MB everywhere (a smoke test)")
    args = parser.parse_args(argv)
    sizes = [0.2] if args.quick else [float(x) for x in args.mb.split(",") if x]
    build_sizes = [0.2] if args.quick else [float(x) for x in args.build_mb.split(",") if x]

    rows, data = [], {"machine": machine(), "stages": [], "builds": []}
    for mb in sizes:
        for kind, text in texts(int(mb * MB)).items():
            t = stage_times(text)
            data["stages"].append({"mb": mb, "kind": kind, **t})
            rows.append([mb, kind, t["sentences"], t["split"] / mb, t["plan"] / mb, t["chunk"] / mb])
    print(table(rows, ["MB", "text", "sentences", "split s/MB", "plan s/MB", "chunk s/MB"]))

    if build_sizes:
        from rag.embed.auto import default_embedder

        embedder = default_embedder()
        embedder.embed_query("warm up")
        rows = []
        for mb in build_sizes:
            for kind, text in texts(int(mb * MB)).items():
                seconds = build_time(text, embedder)
                data["builds"].append({"mb": mb, "kind": kind, "seconds": seconds})
                rows.append([mb, kind, seconds, seconds / mb])
        print()
        print(table(rows, ["MB", "text", "build s", "build s/MB"]))

    helper = helper_pays(int((0.2 if args.quick else args.helper_mb) * MB))
    data["helper"] = helper
    helper_mb = 0.2 if args.quick else args.helper_mb
    print(
        f"\nsplit_many over {helper['documents']} essay-sized documents ({helper_mb} MB, "
        f"{helper['cores']} cores): {helper['with_helper_s']:.1f} s with the helper process, "
        f"{helper['one_process_s']:.1f} s in one process"
    )
    print("wrote", write_json("linear_time", data))
    return data


if __name__ == "__main__":
    main()
