"""The default model (all-mpnet-base-v2) against the MiniLM pipeline, on the
bundled essays: warm `Rag.ask` latency and a cold whole-process `rag ask`.

    .venv/bin/python -m benchmarks models [--rounds 3] [--cold-runs 5]
    .venv/bin/python -m benchmarks models --baseline-commit 80c8d86

Cold runs are on the onnxruntime path. Warm processes call Rag.keep_warm
first, as `rag serve` does (questions then run on torch in bfloat16 where the
CPU has it; rag.embed.query_bf16), except "mpnet, no keep_warm" and the
baseline commit, which has no such call. Sides alternate: warm runs are child
processes taking turns round by round (each answers the same questions, after
three warm-up questions); cold runs alternate too. Figures are medians, and
ratios mpnet / MiniLM. ``--baseline-commit`` also times the MiniLM pipeline of
that commit (checked out into a temporary git worktree), i.e. "today's
pipeline" as it was before the answers rework.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, write_json

QA = ROOT / "eval" / "check_qa.jsonl"
WARM = r"""
import json, sys, time
try:
    from rag.embed.auto import default_embedder
    from rag.pipeline import Rag
except ImportError:  # a baseline commit from before the package move
    from rag.embed import default_embedder
    from rag.api import Rag
rag = Rag.open(sys.argv[1], default_embedder(sys.argv[2] or None))
questions = json.loads(sys.argv[3])
if sys.argv[4] == "keep_warm":
    rag.keep_warm()  # as the chat page does before its port opens
for q in questions[:3]:
    rag.ask(q + " (warm-up)")
times = []
for q in questions:
    start = time.perf_counter(); rag.ask(q); times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def _env(pythonpath: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "HF_HUB_OFFLINE": "1"}
    if pythonpath != ROOT:
        # A baseline checkout keeps its own ONNX export: ours replaces older
        # export versions in a shared cache, and each side would redo the other's.
        env["RAG_CACHE"] = str(pythonpath.parent / "baseline-cache")
    return env


def _build(checkout: Path, index: Path, model: str | None) -> None:
    args = [sys.executable, "-m", "rag.cli", "index", "--index", str(index), "--quiet"]
    env = _env(checkout)
    if model:
        env["RAG_MODEL"] = model
    subprocess.run(args, cwd=checkout, env=env, check=True)


def _warm(checkout: Path, index: Path, model: str | None, questions: list[str], keep_warm: bool) -> list[float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            WARM,
            str(index),
            model or "",
            json.dumps(questions),
            "keep_warm" if keep_warm else "plain",
        ],
        cwd=tempfile.gettempdir(),
        env=_env(checkout),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cold(checkout: Path, index: Path, model: str | None) -> float:
    env = _env(checkout)
    if model:
        env["RAG_MODEL"] = model
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "Who is Michael Kofman?", "--index", str(index)],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--baseline-commit", default=None)
    args = parser.parse_args(argv)
    questions = [json.loads(line)["question"] for line in QA.read_text().splitlines() if line.strip()]
    questions = questions[: args.questions]
    with tempfile.TemporaryDirectory(prefix="rag-bench-models-") as tmp:
        tmp = Path(tmp)
        # name: checkout, index, model, and whether the process calls Rag.keep_warm
        # (as `rag serve` does) before its questions; a cold run is the same either way.
        sides = {
            "mpnet": (ROOT, tmp / "mpnet", "mpnet", True),
            "minilm": (ROOT, tmp / "minilm", "minilm", True),
            "mpnet, no keep_warm": (ROOT, tmp / "mpnet", "mpnet", False),
        }
        if args.baseline_commit:
            tree = tmp / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), args.baseline_commit],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            sides["minilm@" + args.baseline_commit] = (tree, tmp / "baseline-index", None, False)
        coldsides = [name for name in sides if sides[name][3] or name.startswith("minilm@")]
        try:
            for name in coldsides:
                checkout, index, model, _ = sides[name]
                _build(checkout, index, model)
                _cold(checkout, index, model)  # the first run pays one-time work (ONNX export)
            warm = {name: [] for name in sides}
            cold = {name: [] for name in coldsides}
            for round_ in range(args.rounds):
                order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
                for name in order:
                    checkout, index, model, keep_warm = sides[name]
                    warm[name] += _warm(checkout, index, model, questions, keep_warm)
            for run in range(args.cold_runs):
                order = coldsides if run % 2 == 0 else list(reversed(coldsides))
                for name in order:
                    cold[name].append(_cold(*sides[name][:3]))
        finally:
            if args.baseline_commit:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT, capture_output=True
                )
    rows = {
        name: {
            "warm_ask_p50_ms": round(1000 * statistics.median(warm[name]), 1),
            "warm_ask_p95_ms": round(1000 * sorted(warm[name])[int(0.95 * (len(warm[name]) - 1))], 1),
            "cold_ask_p50_s": round(statistics.median(cold.get(name) or cold["mpnet"]), 2),
        }
        for name in sides
    }
    print("| pipeline | warm Rag.ask p50 (ms) | p95 (ms) | cold rag ask p50 (s) |\n|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['warm_ask_p50_ms']} | {row['warm_ask_p95_ms']} | {row['cold_ask_p50_s']} |")
    for name in sides:
        if name != "mpnet":
            print(
                f"mpnet / {name}: warm {rows['mpnet']['warm_ask_p50_ms'] / rows[name]['warm_ask_p50_ms']:.2f}x, "
                f"cold {rows['mpnet']['cold_ask_p50_s'] / rows[name]['cold_ask_p50_s']:.2f}x"
            )
    write_json(
        "models",
        {
            "rows": rows,
            "questions": len(questions),
            "rounds": args.rounds,
            "cold_runs": args.cold_runs,
            "baseline_commit": args.baseline_commit,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
