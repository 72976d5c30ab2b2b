"""Timing, memory, machine facts and output shared by every benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
# The shared data folder sits beside the project (../shared), wherever it is checked out.
SCIFACT = Path(os.environ.get("SCIFACT_DIR") or ROOT.parent / "shared" / "data" / "scifact")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError, ValueError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    versions = {}
    for name in (
        "torch",
        "sentence-transformers",
        "onnxruntime",
        "faiss-cpu",
        "bm25s",
        "langchain-community",
        "langchain-huggingface",
        "numpy",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
        "versions": versions,
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
    }


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "n": len(ms)}


def median(values) -> float:
    return float(statistics.median(values))


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(target: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MiB) and exit status of one Python child.

    ``target`` is ``["-m", module, *args]`` or ``[script, *args]``; it runs
    under benchmarks.measure, which records the child's own peak memory.
    """
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        argv = [sys.executable, "-m", "benchmarks.measure", rss.name, *target]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - start
        peak = float(Path(rss.name).read_text() or "nan")
    return wall, peak, proc.returncode, proc.stdout.decode(errors="replace")


@contextlib.contextmanager
def busy_core(enabled: bool = True):
    """Keep one core busy with a spinning child process, as another
    engineer's test run would, to see how each side degrades."""
    if not enabled:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        yield
    finally:
        proc.kill()
        proc.wait()


def write_json(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=float))
    return path


def table(rows: list[list], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def scifact_corpus(limit: int | None = None) -> list[dict]:
    rows = []
    with (SCIFACT / "corpus.jsonl").open() as handle:
        for line in handle:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def scifact_queries(split: str = "test") -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries that have relevance judgements in ``split``, and the judgements."""
    qrels: dict[str, dict[str, int]] = {}
    with (SCIFACT / "qrels" / f"{split}.tsv").open() as handle:
        next(handle)
        for line in handle:
            qid, did, score = line.split()
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with (SCIFACT / "queries.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return queries, qrels


def scifact_texts(limit: int | None = None) -> tuple[list[str], list[str]]:
    """Document ids and "title text" strings, as BEIR evaluates SciFact."""
    rows = scifact_corpus(limit)
    return [r["_id"] for r in rows], [f"{r['title']} {r['text']}".strip() for r in rows]
