"""The page as a stranger on the network would probe it: a real `rag serve`
subprocess on 127.0.0.1, under the network guard, asked over HTTP."""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT, stop
from tests.test_security import guarded_env, outbound_attempts

pytestmark = pytest.mark.slow


def load_bench():
    """benchmarks/load.py (not a package): its queue client is what a browser does."""
    spec = importlib.util.spec_from_file_location("rag_bench_load", ROOT / "benchmarks" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server(tmp_path_factory, essays_index):
    """`rag serve --read-only` with default settings but the port, under the network guard."""
    bench = load_bench()
    log = tmp_path_factory.mktemp("net") / "net.log"
    port = bench.free_port()
    # --read-only: a page on loopback may add documents (tests/test_documents_page.py); this one may not.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "serve",
            "--port",
            str(port),
            "--read-only",
            "--index",
            str(essays_index.path),
        ],
        env=guarded_env(log),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with urllib.request.urlopen(f"{base}/config", timeout=2):
                break
        except OSError:
            assert time.monotonic() < deadline, "rag serve did not start"
            time.sleep(0.3)
    yield proc, base, port, log, bench
    stop(proc)


def get(port: int, path: str, method: str = "GET", body: bytes | None = None, headers=None):
    """A raw request: http.client sends the path as written (no `..` clean-up on our side)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_binds_loopback_only_by_default(server):
    _, _, port, _, _ = server
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=/tmp/gradio/../../etc/passwd",
        f"/gradio_api/file={CORPUS / 'putin-needs-an-off-ramp.txt'}",
        f"/gradio_api/file={ROOT / 'pyproject.toml'}",
        f"/gradio_api/file={ROOT / 'index' / 'README.md'}",
        "/file=/etc/passwd",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    ],
)
def test_no_file_beyond_the_apps_assets(server, path):
    _, _, port, _, _ = server
    status, body = get(port, path)
    assert status in (403, 404), (status, body[:200])
    assert b"root:" not in body and b"Putin" not in body and b"[project]" not in body


def test_uploads_are_refused(server):
    """The page takes no files; Gradio's upload route would otherwise store and serve them."""
    _, _, port, _, _ = server
    boundary = "rag-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.html"\r\n'
        f"Content-Type: text/html\r\n\r\n<script>alert(1)</script>\r\n--{boundary}--\r\n"
    ).encode()
    status, data = get(
        port, "/gradio_api/upload", "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 413, (status, data[:200])


@pytest.mark.parametrize("path", ["/gradio_api/api/chat", "/gradio_api/run/chat", "/gradio_api/run/predict"])
def test_no_request_skips_the_queue(server, path):
    _, _, port, _, bench = server
    fn_index, _ = bench.chat_event(json.loads(get(port, "/config")[1]))
    body = {"data": ["Who is Michael Kofman?", "hybrid", 5, None], "fn_index": fn_index}
    status, data = get(port, path, "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert status == 404 and b"join the queue" in data, (status, data[:200])


def test_monitoring_is_off(server):
    _, _, port, _, _ = server
    status, data = get(port, "/monitoring")
    assert (status in (403, 404) and b"Monitoring is not enabled" in data) or status == 404


def test_no_outbound_connection_while_serving(server, essays_index):
    proc, base, _, log, bench = server
    summary = asyncio.run(bench.run_load(base, sessions=2, per_session=2, documents=essays_index.documents))
    assert [o.kind for o in summary.outcomes] == ["ok"] * 4, summary.as_dict()
    assert proc.poll() is None
    assert outbound_attempts(log) == []


def test_exposed_host_is_warned_about(tmp_path, essays_index):
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the warning is printed
    # before the bind fails, and nothing is ever exposed by this test.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "serve",
            "--host",
            "192.0.2.1",
            "--port",
            "7999",
            "--index",
            str(essays_index.path),
        ],
        env=guarded_env(tmp_path / "net.log"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "rag: warning: serving on 192.0.2.1, reachable from other machines" in result.stderr
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("rag: error: ")
    assert outbound_attempts(tmp_path / "net.log") == []


# ---------------------------------------------------------------- bad input in the page


def ask_page(server, question: str, documents):
    """One question through the queue, as the browser sends it; the page's outputs as JSON text."""
    import uuid

    import httpx

    _, base, _, _, bench = server

    async def go():
        async with httpx.AsyncClient(trust_env=False, timeout=120) as client:
            fn_index, trigger = bench.chat_event((await client.get(f"{base}/config")).json())
            return await bench.ask_once(client, base, fn_index, trigger, uuid.uuid4().hex[:11], question, documents)

    outcome = asyncio.run(go())
    assert outcome.data is not None, outcome  # an answer or a message, never an error event
    return outcome, json.dumps(outcome.data, ensure_ascii=False)


@pytest.mark.parametrize("question", ["", "   ", "\x00\x1b\x07 \t"])
def test_empty_question_gets_a_clear_message_in_the_page(server, essays_index, question):
    _, shown = ask_page(server, question, essays_index.documents)
    assert "the question is empty" in shown and "Traceback" not in shown


def test_huge_question_is_answered_and_the_page_says_it_was_shortened(server, essays_index):
    outcome, shown = ask_page(server, "Who is Michael Kofman? " * 4348, essays_index.documents)  # 100,004 chars
    assert outcome.kind == "ok", outcome.detail
    assert "the question was shortened to its first" in shown and "Kofman" in shown


def test_control_characters_are_removed_and_the_page_says_so(server, essays_index):
    outcome, shown = ask_page(server, "\x00Who is\x1b[31m Michael\x07 Kofman?\x00", essays_index.documents)
    assert outcome.kind == "ok", outcome.detail
    assert "control characters were removed from the question" in shown


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_serve_refuses_a_missing_or_damaged_index_in_one_line(tmp_path, essays_index, damage):
    import shutil

    index_dir = tmp_path / "index"
    if damage == "corrupt":
        shutil.copytree(essays_index.path, index_dir)
        (index_dir / "vectors.faiss").write_bytes(b"\x00" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "serve", "--port", "0", "--index", str(index_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("rag: error: "), result.stderr
    assert "rag index" in lines[0]
