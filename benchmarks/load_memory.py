"""Memory stays flat across many questions: RSS of one process asking through
the Python API (the path the page and the CLI share).

Asks N questions (the eval set's, cycled, each made unique so nothing could be
served from a cache) and samples this process's resident set size every 100;
growth is measured from the end of a warm-up to the end.

    .venv/bin/python benchmarks/load_memory.py [--questions 1000] [--warmup 100]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size from /proc, in MiB (no psutil needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "essays_qa.jsonl").read_text().splitlines() if line.strip()]
    return [f"{rows[i % len(rows)]['question']} ({i})" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is what rag serve uses)")
    args = parser.parse_args()
    import torch

    from rag.pipeline import Rag

    torch.set_num_threads(args.threads)
    rag = Rag.open()
    samples = []
    start = time.perf_counter()
    for i, q in enumerate(questions(args.questions), start=1):
        for retriever in ("hybrid",):
            rag.ask(q, retriever=retriever)
        if i % 100 == 0 or i == args.warmup:
            gc.collect()
            samples.append((i, rss_mib()))
    elapsed = time.perf_counter() - start
    warm = next(r for i, r in samples if i >= args.warmup)
    final = samples[-1][1]
    print(
        json.dumps(
            {
                "path": "python-api",
                "questions": args.questions,
                "warmup": args.warmup,
                "rss_after_warmup_mib": round(warm, 1),
                "rss_end_mib": round(final, 1),
                "growth_pct": round(100 * (final - warm) / warm, 2),
                "seconds": round(elapsed, 1),
                "samples": [(i, round(r, 1)) for i, r in samples],
            }
        )
    )


if __name__ == "__main__":
    main()
