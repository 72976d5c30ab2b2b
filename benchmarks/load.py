"""Load test of the chat page through the Gradio queue, as a browser uses it.

Each simulated session has its own session hash and asks its questions one
after another, like a person: ``POST /gradio_api/queue/join`` with the chat
event's ``fn_index`` and ``trigger_id`` (read from ``/config``), then the
session's server-sent events from ``GET /gradio_api/queue/data`` until that
event completes. All sessions run at once. Every request must either succeed
(with citations that are verbatim spans of the indexed essays) or be refused
with Gradio's explicit "queue full" (HTTP 503); anything else is a failure.

Bounded: a fixed number of requests, each with a time limit, then it stops.
Loopback only: it starts `rag serve` itself on 127.0.0.1, or targets --url,
which must be a loopback address.

    .venv/bin/python benchmarks/load.py                       # 50 sessions x 4 questions
    .venv/bin/python benchmarks/load.py --memory 1000         # server RSS across 1000 questions
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
REQUEST_LIMIT_S = 300.0  # one question, queue wait included


@dataclass
class Outcome:
    kind: str  # "ok", "queue_full" or "failed"
    latency_ms: float
    detail: str = ""
    data: list | None = field(default=None, repr=False)  # the page's outputs, for tests


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def as_dict(self) -> dict:
        ok = sorted(o.latency_ms for o in self.of("ok"))
        return {
            "requests": len(self.outcomes),
            "ok": len(ok),
            "queue_full": len(self.of("queue_full")),
            "failed": len(self.of("failed")),
            "failures": [o.detail for o in self.of("failed")][:5],
            "p50_ms": round(percentile(ok, 0.50), 1) if ok else None,
            "p95_ms": round(percentile(ok, 0.95), 1) if ok else None,
            "max_ms": round(ok[-1], 1) if ok else None,
            "wall_s": round(self.wall_s, 1),
            "answers_per_s": round(len(ok) / self.wall_s, 2) if self.wall_s else None,
        }


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def eval_questions() -> list[str]:
    rows = (json.loads(line) for line in (ROOT / "eval" / "essays_qa.jsonl").read_text().splitlines() if line.strip())
    return [r["question"] for r in rows]


def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"load.py only targets loopback addresses, not {host!r}")


def chat_event(config: dict) -> tuple[int, int]:
    """The chat event's fn_index and the trigger (the textbox's submit), as the page sends them."""
    for dep in config["dependencies"]:
        if dep.get("api_name") == "chat":
            return dep["id"], dep["targets"][0][0]
    raise SystemExit("the page has no event with api_name 'chat'")


def check_record(data: list, documents: dict) -> str | None:
    """Why an answer is wrong, or None: every citation must be the essay's text at its offsets."""
    record = next((d for d in data if isinstance(d, dict) and "citations" in d), None)
    if record is None:
        return "no answer record in the output"
    for c in record["citations"]:
        doc = documents.get(c["doc_id"])
        if doc is None or doc.text[c["start"] : c["end"]] != c["quote"]:
            return f"citation [{c['n']}] is not verbatim"
    return None


async def ask_once(
    client, base: str, fn_index: int, trigger: int, session_hash: str, question: str, documents: dict
) -> Outcome:
    start = time.perf_counter()
    elapsed = lambda: (time.perf_counter() - start) * 1000  # noqa: E731
    body = {
        "data": [question, "hybrid", 5, None],
        "event_data": None,
        "fn_index": fn_index,
        "trigger_id": trigger,
        "session_hash": session_hash,
    }
    try:
        joined = await client.post(f"{base}/gradio_api/queue/join", json=body)
        if joined.status_code == 503 and "Queue is full" in joined.text:
            return Outcome("queue_full", elapsed())
        if joined.status_code != 200:
            return Outcome("failed", elapsed(), f"join: HTTP {joined.status_code} {joined.text[:120]}")
        event_id = joined.json()["event_id"]
        async with client.stream(
            "GET", f"{base}/gradio_api/queue/data", params={"session_hash": session_hash}
        ) as stream:
            if stream.status_code != 200:
                return Outcome("failed", elapsed(), f"stream: HTTP {stream.status_code}")
            async for line in stream.aiter_lines():
                if not line.startswith("data: "):
                    continue
                msg = json.loads(line[6:])
                if msg.get("event_id") not in (None, event_id):
                    continue
                if msg.get("msg") == "process_completed":
                    if not msg.get("success"):
                        return Outcome("failed", elapsed(), f"error: {str(msg.get('output'))[:120]}")
                    data = msg["output"]["data"]
                    wrong = check_record(data, documents)
                    return Outcome("failed", elapsed(), wrong, data) if wrong else Outcome("ok", elapsed(), "", data)
                if msg.get("msg") == "close_stream":
                    break
        return Outcome("failed", elapsed(), "stream ended without a result")
    except Exception as err:
        return Outcome("failed", elapsed(), f"{type(err).__name__}: {err}")


async def run_load(
    base: str,
    sessions: int,
    per_session: int,
    documents: dict,
    questions: list[str] | None = None,
    concurrency: int | None = None,
    on_answer=None,
    keep_data: bool = False,
) -> Summary:
    """``sessions`` sessions of ``per_session`` questions each; at most ``concurrency`` sessions at once."""
    import httpx

    require_loopback(base)
    questions = questions or eval_questions()
    limits = httpx.Limits(max_connections=2 * sessions + 10, max_keepalive_connections=2 * sessions + 10)
    summary = Summary()
    gate = asyncio.Semaphore(concurrency or sessions)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(REQUEST_LIMIT_S, connect=10), limits=limits, trust_env=False
    ) as client:
        config = (await client.get(f"{base}/config")).json()
        fn_index, trigger = chat_event(config)

        async def session(n: int) -> None:
            async with gate:
                session_hash = uuid.uuid4().hex[:11]
                for i in range(per_session):
                    q = questions[(n * per_session + i) % len(questions)]
                    outcome = await asyncio.wait_for(
                        ask_once(client, base, fn_index, trigger, session_hash, q, documents), REQUEST_LIMIT_S + 30
                    )
                    if not keep_data:
                        outcome.data = None  # 1,000 answers' HTML would inflate the client, not the server
                    summary.outcomes.append(outcome)
                    if on_answer:
                        on_answer(len(summary.outcomes))

        start = time.perf_counter()
        await asyncio.gather(*(session(n) for n in range(sessions)))
        summary.wall_s = time.perf_counter() - start
    return summary


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used (all its threads): what the answers cost, whatever else the
    machine runs. On a shared machine wall-clock latency says more about the neighbours."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(port: int, variant: str | None = None, index_dir: str | Path | None = None) -> subprocess.Popen:
    """A real `rag serve` on 127.0.0.1:port (or serve_variant.py with ``variant``
    settings such as "threads=2,concurrency=1,queue=16"), waited for until it answers."""
    import urllib.request

    if variant:
        knobs = [f"--{part.strip()}".replace("=", " ").split() for part in variant.split(",")]
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "serve_variant.py"),
            "--port",
            str(port),
            *[word for knob in knobs for word in knob],
        ]
    else:
        cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if index_dir:
        cmd += ["--index", str(index_dir)]
    # The checkout this script is in, whichever rag is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("rag serve did not start within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--questions", type=int, default=4, help="questions per session, asked one after another")
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="instead: N questions (sessions of --questions each, --concurrency at once), sampling the server's RSS",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="sessions at once in --memory mode")
    parser.add_argument("--warmup", type=int, default=100, help="questions before the first RSS sample (--memory)")
    parser.add_argument("--url", help="an already running page on a loopback address (default: start rag serve)")
    parser.add_argument(
        "--variant", help="start serve_variant.py with these settings instead, e.g. threads=2,concurrency=1,queue=16"
    )
    args = parser.parse_args()

    from rag.index.load import load_index
    from rag.pipeline import default_index_dir

    documents = load_index(default_index_dir()).documents
    proc = None
    if args.url:
        require_loopback(args.url)
        base = args.url.rstrip("/")
    else:
        port = free_port()
        proc = start_server(port, args.variant)
        base = f"http://127.0.0.1:{port}"
    try:
        if args.memory:
            samples: list[tuple[int, float]] = []

            def sample(done: int) -> None:
                if proc and (done == args.warmup or done % 100 == 0):
                    samples.append((done, rss_mib(proc.pid)))

            sessions = -(-args.memory // args.questions)
            summary = asyncio.run(
                run_load(base, sessions, args.questions, documents, concurrency=args.concurrency, on_answer=sample)
            )
            result = {"mode": "memory", **summary.as_dict(), "sessions": sessions, "concurrency": args.concurrency}
            if samples:
                warm = next(r for n, r in samples if n >= args.warmup)
                result.update(
                    rss_after_warmup_mib=round(warm, 1),
                    rss_end_mib=round(samples[-1][1], 1),
                    growth_pct=round(100 * (samples[-1][1] - warm) / warm, 2),
                    samples=[(n, round(r, 1)) for n, r in samples],
                )
        else:
            rss_before = rss_mib(proc.pid) if proc else None
            cpu_before = cpu_s(proc.pid) if proc else None
            load_before = os.getloadavg()[0]
            summary = asyncio.run(run_load(base, args.sessions, args.questions, documents))
            result = {
                "mode": "load",
                "variant": args.variant or "rag serve",
                "sessions": args.sessions,
                "per_session": args.questions,
                **summary.as_dict(),
                "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            }
            if proc:
                used = cpu_s(proc.pid) - cpu_before
                result.update(
                    server_rss_before_mib=round(rss_before, 1),
                    server_rss_after_mib=round(rss_mib(proc.pid), 1),
                    server_cpu_s=round(used, 1),
                    server_cpu_ms_per_answer=round(1000 * used / max(1, summary.as_dict()["ok"]), 1),
                )
    finally:
        if proc:
            stop_server(proc)
    print(json.dumps(result))
    if result["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
