"""What tests/test_no_outbound.py runs inside its loopback-only namespace.

    python watched_session.py serve INDEX SECONDS     # rag serve for SECONDS, asking a few questions
    python watched_session.py index CORPUS INDEX     # rag index, timed

Prints one JSON line with what happened. Both run ``python -m rag.cli``
(whatever sitecustomize and strace watch applies to it and its children).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

QUESTIONS = ("Who is Michael Kofman?", "What did he say next?", "What is the best recipe for sourdough bread?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(base: str, fn_index: int, question: str) -> str:
    """One question through the queue, as the page sends it; the final SSE message."""
    session = uuid.uuid4().hex[:11]
    body = json.dumps(
        {
            "data": [question, "fusion", 3, None],
            "fn_index": fn_index,
            "session_hash": session,
            "event_data": None,
            "trigger_id": None,
        }
    ).encode()
    request = urllib.request.Request(f"{base}/gradio_api/queue/join", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        json.loads(resp.read())
    last = ""
    with urllib.request.urlopen(f"{base}/gradio_api/queue/data?session_hash={session}", timeout=120) as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("data:"):
                last = line[5:]
                if '"process_completed"' in last:
                    break
    return last


def chat_fn_index(base: str) -> int:
    with urllib.request.urlopen(f"{base}/config", timeout=30) as resp:
        config = json.loads(resp.read())
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "chat")


def serve(index: str, seconds: float) -> dict:
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", index],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    answers = []
    try:
        while True:
            if proc.poll() is not None:
                return {"error": f"rag serve exited {proc.returncode}: {proc.stderr.read()[-2000:]}"}
            try:
                fn_index = chat_fn_index(base)
                break
            except OSError:
                time.sleep(0.5)
        for i, question in enumerate(QUESTIONS):
            # Spread over the run: onnxruntime's telemetry woke 10-14 s after import.
            time.sleep(max(0.0, started + (i + 1) * seconds / (len(QUESTIONS) + 1) - time.monotonic()))
            answers.append(ask(base, fn_index, question))
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"seconds": time.monotonic() - started, "alive_at_end": alive, "answers": answers}


def index(corpus: str, index_dir: str) -> dict:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", "--corpus", corpus, "--index", index_dir, "-q"],
        capture_output=True,
        text=True,
    )
    return {
        "seconds": time.monotonic() - started,
        "returncode": result.returncode,
        "stderr": result.stderr[-2000:],
        "built": (Path(index_dir) / "manifest.json").exists(),
    }


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    outcome = serve(rest[0], float(rest[1])) if kind == "serve" else index(rest[0], rest[1])
    print(json.dumps(outcome))
