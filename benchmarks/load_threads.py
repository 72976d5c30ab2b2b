"""How many torch threads should a server use? Measured, not guessed.

Answers the same questions through the Python API with torch set to 1 and 2
threads, once with the other core idle and once with a busy loop burning it
(what another user, a build or a second request does to a server). Prints a
Markdown table of per-question latency.

    .venv/bin/python benchmarks/load_threads.py [--questions 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "essays_qa.jsonl").read_text().splitlines() if line.strip()]
    return [rows[i % len(rows)]["question"] for i in range(n)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(rag, asked: list[str]) -> list[float]:
    times = []
    for q in asked:
        start = time.perf_counter()
        rag.ask(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    import torch

    from rag.pipeline import Rag

    rag = Rag.open()
    asked = questions(args.questions)
    run(rag, asked[:10])  # warm-up: model load, first-call allocations
    rows = []
    for busy in (False, True):
        burner = None
        if busy:  # one process spinning: the other core is taken
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            for threads in (1, 2):
                torch.set_num_threads(threads)
                times = run(rag, asked)
                rows.append(
                    {
                        "torch threads": threads,
                        "other core": "busy" if busy else "idle",
                        "p50 ms": f"{statistics.median(times):.1f}",
                        "p95 ms": f"{pct(times, 0.95):.1f}",
                        "mean ms": f"{statistics.fmean(times):.1f}",
                    }
                )
        finally:
            if burner:
                burner.kill()
                burner.wait()
    print(
        f"{len(asked)} questions per row, hybrid retriever, k=5; cpus={os.cpu_count()}, "
        f"load average at end {os.getloadavg()[0]:.2f}\n"
    )
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "|".join("---" for _ in cols) + "|")
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
