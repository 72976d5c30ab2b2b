"""Adding, changing and removing documents: only new chunks are embedded.

Builds an index of N SciFact abstracts, then adds one, edits one, removes
one, timing each rebuild and counting embedded vs reused chunks, against a
forced full rebuild of the same corpus.
"""

from __future__ import annotations

import argparse
import shutil

from benchmarks.common import OUT, machine, table, timed, write_json
from benchmarks.peer import make_corpus


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.incremental")
    parser.add_argument("--docs", type=int, default=300)
    args = parser.parse_args(argv)

    from rag.embed.auto import default_embedder
    from rag.index.build import build_index
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus

    work = OUT / "incremental"
    corpus_dir, index_dir = work / "corpus", work / "index"
    if work.exists():  # the first build must start from nothing, not from the last run's index
        shutil.rmtree(work)
    make_corpus(corpus_dir, args.docs + 1)
    extra = sorted(corpus_dir.iterdir())[-1]
    held_back = extra.read_text(encoding="utf-8")
    extra.unlink()
    model = default_embedder()
    model.embed_query("warm up")

    def build(force=False):
        seconds, (index, report) = timed(
            build_index, load_corpus(corpus_dir), index_dir, model, ChunkSettings(), force=force
        )
        return {
            "seconds": seconds,
            "chunks": report.chunks,
            "embedded": report.embedded,
            "reused": report.reused,
            "vectors": index.manifest["store"]["vectors"],
            "manifest_documents": len(index.manifest["documents"]),
        }

    steps = {"first build": build()}
    steps["no change"] = build()
    extra.write_text(held_back, encoding="utf-8")
    steps["add 1 document"] = build()
    first = sorted(corpus_dir.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nAn added closing sentence.\n", encoding="utf-8")
    steps["change 1 document"] = build()
    sorted(corpus_dir.iterdir())[1].unlink()
    steps["remove 1 document"] = build()
    steps["full rebuild (forced)"] = build(force=True)
    print(
        table(
            [
                [k, v["seconds"], v["chunks"], v["embedded"], v["reused"], v["manifest_documents"]]
                for k, v in steps.items()
            ],
            ["step", "seconds", "chunks", "embedded", "reused", "manifest docs"],
        )
    )
    data = {"machine": machine(), "documents": args.docs, "steps": steps}
    print("wrote", write_json("incremental", data))
    return data


if __name__ == "__main__":
    main()
