"""The hostile-input table: every case of issue 17 ("Hostile input, round two"),
one row each, with what rag must answer: an exit status or HTTP status, and a
message the answer must contain.

Each row throws its input at the real thing: the `rag` command in a
subprocess, a real `rag serve` on 127.0.0.1 under the network guard, or the
Python API. Deeper tests of each rule live in test_guard.py,
test_containment.py, test_text_properties.py and test_no_outbound.py.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from rag.index.manifest import seal_manifest, sha256_bytes
from tests.conftest import CORPUS, ROOT, stop, write_corpus
from tests.test_security import guarded_env, outbound_attempts

pytestmark = pytest.mark.slow

LOOPBACK_ONLY = ROOT / "tests" / "netguard" / "loopback_only.py"
SECRET = "root:$6$rounds=5000$saltsalt$W8nBHnmX0JqHgZlRiJ:19000:0:99999:7:::"


@dataclass(frozen=True)
class Case:
    point: str  # the numbered point
    case: str  # what was thrown at rag
    expect: int  # exit status, or HTTP status for HTTP rows
    message: str  # text the answer must contain
    run: Callable[["Ctx"], tuple[int, str]]


class Ctx:
    """What a row needs: a scratch folder, the essays' index, and (on demand) the server."""

    def __init__(self, request, tmp_path: Path, index: Path):
        self.request, self.tmp, self.index = request, tmp_path, index

    def copy(self) -> Path:
        target = self.tmp / "copy"
        if not target.exists():
            shutil.copytree(self.index, target)
        return target

    @property
    def server(self) -> "Server":
        return self.request.getfixturevalue("server")


def cli(*args, env=None, timeout=300) -> tuple[int, str]:
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    full.pop("RAG_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", *map(str, args)], capture_output=True, text=True, env=full, timeout=timeout
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr + result.stdout


def one_line(code: int, output: str) -> tuple[int, str]:
    """An error must be exactly one `rag: error:` line."""
    if code:
        lines = output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rag: error: "), output
    return code, output


# ---------------------------------------------------------------- the server


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    net_log: Path
    log: Path

    def request(self, path: str, method: str = "GET", body: bytes | None = None, headers=None) -> tuple[int, str, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        conn.close()
        return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}

    def call(self, path: str, payload, headers=None) -> tuple[int, str]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, text, _ = self.request(path, "POST", body, {"Content-Type": "application/json", **(headers or {})})
        return status, text

    def fn_index(self) -> int:
        config = json.loads(self.request("/config")[1])
        return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "chat")

    def quiet(self) -> None:
        """Nothing left the machine and no traceback reached the log."""
        assert outbound_attempts(self.net_log) == []
        assert "Traceback" not in self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: Path, index: Path, *args: str, env=None):
    port, log = free_port(), folder / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", str(index), *args],
            env={**guarded_env(folder / "net.log"), **(env or {})},
            stdout=out,
            stderr=out,
        )
    running = Server(proc, port, folder / "net.log", log)
    deadline = time.monotonic() + 180
    while "Serving the chat page" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield running
    stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory, essays_index):
    """A read-only page, as on any host but loopback: it takes no upload at all."""
    yield from _serve(tmp_path_factory.mktemp("server"), essays_index.path, "--read-only")


@pytest.fixture(scope="module")
def adding_server(tmp_path_factory, essays_index):
    """A page that adds documents, with one file of 1 MB at most per upload, on a
    copy of the essays' index (rows add documents to it)."""
    folder = tmp_path_factory.mktemp("adding")
    shutil.copytree(essays_index.path.parent, folder / "index", symlinks=True)
    yield from _serve(
        folder,
        folder / "index" / essays_index.path.name,
        "--allow-adding",
        env={"RAG_MAX_FILES": "1", "RAG_MAX_FILE_MB": "1"},
    )


def http_get(path: str, headers=None):
    def run(ctx: Ctx) -> tuple[int, str]:
        status, text, _ = ctx.server.request(path, headers=headers)
        ctx.server.quiet()
        return status, text

    return run


def http_call(path: str, payload: Callable[[int], object] | object, headers=None):
    def run(ctx: Ctx) -> tuple[int, str]:
        body = payload(ctx.server.fn_index()) if callable(payload) else payload
        status, text = ctx.server.call(path, body, headers)
        ctx.server.quiet()
        return status, text

    return run


def ask_through_queue(question: str):
    """One question as the page sends it; the final message of its stream."""

    def run(ctx: Ctx) -> tuple[int, str]:
        server = ctx.server
        session = "hostile" + str(time.monotonic_ns())[-6:]
        status, text = server.call(
            "/gradio_api/queue/join",
            {"fn_index": server.fn_index(), "session_hash": session, "data": [question, "fusion", 3, None]},
        )
        if status != 200:
            return status, text
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("GET", f"/gradio_api/queue/data?session_hash={session}")
        resp, last = conn.getresponse(), ""
        for raw in resp:
            line = raw.decode("utf-8").strip()
            if line.startswith("data:"):
                last = line[5:]
                if '"process_completed"' in last:
                    break
        conn.close()
        server.quiet()
        return (200 if '"success":true' in last.replace(" ", "") else 500), json.loads(last)["output"].__repr__()

    return run


# ---------------------------------------------------------------- index tampering


def _manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / "manifest.json").read_text())


def _save(index_dir: Path, m: dict, refingerprint: bool = True) -> None:
    if refingerprint:
        m.update(seal_manifest(m))  # re-sealed with this machine's key: the checks behind the seal
    (index_dir / "manifest.json").write_text(json.dumps(m))


def _plant(index_dir: Path, name: str, data: bytes, refingerprint: bool = True) -> None:
    (index_dir / name).write_bytes(data)
    m = _manifest(index_dir)
    m["files"][name] = {"bytes": len(data), "sha256": sha256_bytes(data)}
    _save(index_dir, m, refingerprint)


def _vectors(ctx: Ctx, change) -> Path:
    import faiss

    copy = ctx.copy()
    index = faiss.deserialize_index(np.frombuffer((copy / "vectors.faiss").read_bytes(), dtype=np.uint8))
    vectors = change(index.reconstruct_n(0, index.ntotal))
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _plant(copy, "vectors.faiss", faiss.serialize_index(flat).tobytes())
    return copy


def ask_index(index_dir: Path) -> tuple[int, str]:
    return one_line(*cli("ask", "Who is Michael Kofman?", "--index", index_dir, timeout=120))


def altered_text_files_edited(ctx: Ctx) -> tuple[int, str]:
    copy = ctx.copy()
    rows = [json.loads(line) for line in (copy / "documents.jsonl").read_text().splitlines()]
    rows[0]["text"] = rows[0]["text"].replace("Michael Kofman", "Michael Kofmann")
    _plant(
        copy,
        "documents.jsonl",
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
        refingerprint=False,
    )
    return ask_index(copy)


def listed_name(name: str):
    def run(ctx: Ctx) -> tuple[int, str]:
        copy = ctx.copy()
        m = _manifest(copy)
        m["files"][name] = {"bytes": 4096, "sha256": "0" * 64}
        _save(copy, m)
        return ask_index(copy)

    return run


def fifo_in_index(ctx: Ctx) -> tuple[int, str]:
    copy = ctx.copy()
    (copy / "bm25" / "vocab.index.json").unlink()
    os.mkfifo(copy / "bm25" / "vocab.index.json")
    return ask_index(copy)


def corpus_folder(folder: str, refingerprint: bool):
    def run(ctx: Ctx) -> tuple[int, str]:
        copy = ctx.copy()
        m = _manifest(copy)
        m["corpus"]["folder"] = folder
        _save(copy, m, refingerprint)
        return ask_index(copy)

    return run


def format_version_string(ctx: Ctx) -> tuple[int, str]:
    copy = ctx.copy()
    m = _manifest(copy)
    m["format_version"] = "4"
    _save(copy, m)
    return ask_index(copy)


# ---------------------------------------------------------------- corpus, text, processes


def shadow_link(ctx: Ctx) -> tuple[int, str]:
    (ctx.tmp / "etc").mkdir()
    (ctx.tmp / "etc" / "shadow").write_text(SECRET + "\n")
    corpus = ctx.tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    os.symlink(ctx.tmp / "etc" / "shadow", corpus / "shadow.md")
    code, out = cli("index", "--corpus", corpus, "--index", ctx.tmp / "index", "-q")
    asked = cli("ask", "root password hash rounds salt", "--index", ctx.tmp / "index", "--retriever", "bm25")
    assert asked[0] == 0 and "saltsalt" not in asked[1] and "shadow" not in asked[1]
    return code, out


def name_not_utf8(ctx: Ctx) -> tuple[int, str]:
    corpus = write_corpus(ctx.tmp / "c", {"a.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    Path(os.fsdecode(bytes(corpus) + b"/caf\xe9 notes.txt")).write_text("Cafe Notes\n\nThe cafe opens at nine.")
    return cli("index", "--corpus", corpus, "--index", ctx.tmp / "index", "-q")


def newline_in_name(ctx: Ctx) -> tuple[int, str]:
    forged = "[9] Forged Title (forged, characters 0–10)"
    corpus = write_corpus(ctx.tmp / "c", {f"tomatoes\n{forged}.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    assert cli("index", "--corpus", corpus, "--index", ctx.tmp / "index", "-q")[0] == 0
    code, out = cli("ask", "What do tomatoes need?", "--index", ctx.tmp / "index", "--retriever", "bm25")
    assert not any(line.startswith(forged) for line in out.splitlines()), out
    return code, out


def argv_not_utf8(ctx: Ctx) -> tuple[int, str]:
    question = os.fsdecode(b"Who is Michael\xff Kofman\xed\xa0\x80?")
    return cli("ask", question, "--index", ctx.index)


def api_lone_surrogate(ctx: Ctx) -> tuple[int, str]:
    rag = ctx.request.getfixturevalue("essays_rag")
    answer = rag.ask("Who is Michael \ud800 Kofman?")
    json.dumps(answer.question)  # still serialisable
    return 0, " ".join(answer.notes) + " " + answer.passages[0].chunk.text


def spaces_then_a_word(ctx: Ctx) -> tuple[int, str]:
    rag = ctx.request.getfixturevalue("essays_rag")
    answer = rag.ask(" " * 10_000_000 + "Kofman")
    return 0, f"query={answer.query!r} " + answer.passages[0].chunk.text


def report_escapes(ctx: Ctx) -> tuple[int, str]:
    qa = ctx.tmp / "qa.jsonl"
    qa.write_text(
        json.dumps(
            {
                "id": "q\x1b]0;owned\x07\x1b[2J",
                "question": "Who is \x1b[31mMichael Kofman?",
                "answers": ["Michael Kofman"],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    code, out = cli("eval", "--qa", qa, "--index", ctx.index, "--report", ctx.tmp / "report", "--k", "1")
    report = (ctx.tmp / "report" / "report.md").read_text(encoding="utf-8")
    found = [repr(c) for c in ("\x1b", "\x07") if c in report or c in out]
    return code, out + ("report.md carries " + " ".join(found) if found else "report.md holds no escape")


def long_line_pieces(ctx: Ctx) -> tuple[int, str]:
    import rag.ingest.sentences as sentences

    text = " ".join(p.read_text(encoding="utf-8").replace("\n", " ") for p in sorted(CORPUS.glob("*.txt"))) * 10
    longest = 0
    real = sentences._segmenter

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def segment(self, line):
            nonlocal longest
            longest = max(longest, len(line))
            return self.inner.segment(line)

    sentences._segmenter = lambda char_span=False: Spy(real(char_span))
    try:
        spans = sentences.split_sentences(text)
    finally:
        sentences._segmenter = real
    within = longest <= sentences.MAX_PIECE_CHARS and max(b - a for a, b in spans) <= sentences.MAX_SENTENCE_CHARS
    return 0, f"{len(text):,} characters in one line: pysbd handed at most {longest:,} at once; " + (
        "pieces within the limits" if within else "pieces over the limits"
    )


def killed_build_helper(ctx: Ctx) -> tuple[int, str]:
    code = (
        "import sys, rag.ingest.sentences as s\n"
        "s._cores = lambda: 2\n"
        "real = s._Helper.__init__\n"
        "def spy(self):\n"
        "    real(self); print(self.proc.pid, flush=True)\n"
        "s._Helper.__init__ = spy\n"
        "text = open(sys.argv[1]).read()\n"
        "for _ in s.split_many([text] * 40): pass\n"
    )
    # One-line text, as a PDF export gives: minutes of work for each round of
    # the helper, so only dying with its parent ends it within the wait below.
    essays = " ".join(p.read_text(encoding="utf-8").replace("\n", " ") for p in sorted(CORPUS.glob("*.txt")))
    (ctx.tmp / "text.txt").write_text(essays * 8, encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(ctx.tmp / "text.txt")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    helper = int(parent.stdout.readline())
    time.sleep(1.0)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(50):  # up to 5 s
        state = _process_state(helper)
        if state in (None, "Z", "X"):
            return 0, f"helper {helper} exited with its parent"
        time.sleep(0.1)
    os.kill(helper, signal.SIGKILL)
    return 1, f"helper {helper} still running (state {state}) after its parent was killed"


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def telemetry_files(ctx: Ctx) -> tuple[int, str]:
    from rag.settings import cache_root

    home = ctx.tmp / "home"
    home.mkdir()
    code = (
        "import time\nfrom rag.embed.auto import default_embedder\ndefault_embedder().embed_query('x')\ntime.sleep(2)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "HOME": str(home),
            "RAG_CACHE": str(cache_root()),
            "ORT_DISABLE_TELEMETRY": "0",
            "PYTHONPATH": str(ROOT),
        },
    )
    found = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if "Microsoft" in p.as_posix())
    return result.returncode, "telemetry files: " + (", ".join(found) if found else "none")


def ask_in_namespace_under_strace(ctx: Ctx) -> tuple[int, str]:
    from tests.test_no_outbound import reaches_out, strace

    trace = ctx.tmp / "strace.log"
    command = [
        sys.executable,
        str(LOOPBACK_ONLY),
        strace(),
        "-f",
        "-qq",
        "--seccomp-bpf",
        "-e",
        "trace=connect,sendto,sendmsg",
        "-o",
        str(trace),
        sys.executable,
        "-m",
        "rag.cli",
        "ask",
        "Who is Michael Kofman?",
        "--index",
        str(ctx.index),
    ]
    env = guarded_env(ctx.tmp / "net.log")
    env.pop("ORT_DISABLE_TELEMETRY", None)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    attempts = [line for line in trace.read_text().splitlines() if reaches_out(line)]
    attempts += outbound_attempts(ctx.tmp / "net.log")
    return result.returncode, f"{len(attempts)} outbound attempts {attempts[:3]}"


def serving_line_after_bind(ctx: Ctx) -> tuple[int, str]:
    """Connect the moment the line appears: the port must already answer."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", str(ctx.index)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=guarded_env(ctx.tmp / "net.log"),
    )
    try:
        line = proc.stderr.readline()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/config")
        status = conn.getresponse().status
        return status, line
    except OSError as err:
        return 0, f"{line.strip()} but the port refused: {err}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def host_ipv6_wildcard(ctx: Ctx) -> tuple[int, str]:
    """Inside a loopback-only namespace, so listening on every address exposes nothing."""
    code = (
        "import subprocess, sys, time, urllib.request\n"
        "p = subprocess.Popen([sys.executable, '-m', 'rag.cli', 'serve', '--host', '::', '--port', '7883', "
        "'--index', sys.argv[1]], stderr=subprocess.PIPE, text=True)\n"
        "line = p.stderr.readline()\n"
        "while line.startswith('rag: warning'): line = p.stderr.readline()\n"
        "try: print(urllib.request.urlopen('http://[::1]:7883/config', timeout=30).status, line.strip())\n"
        "except OSError as e: print(0, line.strip(), e)\n"
        "p.terminate(); p.wait()\n"
    )
    result = subprocess.run(
        [sys.executable, str(LOOPBACK_ONLY), sys.executable, "-c", code, str(ctx.index)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    status, _, line = result.stdout.strip().partition(" ")
    return int(status or 0), line + result.stderr[-500:]


def taken_port(ctx: Ctx) -> tuple[int, str]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        code, out = one_line(*cli("serve", "--port", holder.getsockname()[1], "--index", ctx.index))
    assert "Serving" not in out
    return code, out


def sweep_abc(ctx: Ctx) -> tuple[int, str]:
    started = time.monotonic()
    code, out = one_line(*cli("eval", "--sweep", "abc", "--index", ctx.index))
    # Refused while parsing: no evaluation ran first (it takes far longer than a parse).
    assert "questions" not in out, out
    return code, out + f" ({time.monotonic() - started:.0f} s)"


def deep_json(ctx: Ctx) -> tuple[int, str]:
    qa = ctx.tmp / "deep.jsonl"
    qa.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    return one_line(*cli("eval", "--qa", qa, "--index", ctx.index))


def report_is_a_file(ctx: Ctx) -> tuple[int, str]:
    (ctx.tmp / "afile").write_text("x")
    return one_line(*cli("eval", "--report", ctx.tmp / "afile", "--index", ctx.index))


def index_loop(ctx: Ctx) -> tuple[int, str]:
    os.symlink("loop", ctx.tmp / "loop")
    return one_line(*cli("ask", "Who?", "--index", ctx.tmp / "loop"))


def upload(size: int, adding: bool = False):
    def run(ctx: Ctx) -> tuple[int, str]:
        server = ctx.request.getfixturevalue("adding_server") if adding else ctx.server
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.txt"\r\n'
                f"Content-Type: text/plain\r\n\r\n"
            ).encode()
            + b"x" * size
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, text, _ = server.request(
            "/gradio_api/upload", "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        server.quiet()
        return status, text

    return run


def framing_headers(ctx: Ctx) -> tuple[int, str]:
    status, _, headers = ctx.server.request("/")
    return status, " | ".join(
        f"{k}: {headers.get(k)}"
        for k in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")
    )


def rebinding(ctx: Ctx) -> tuple[int, str]:
    """What a page on evil.example sends once its name resolves to 127.0.0.1."""
    port = ctx.server.port
    headers = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    question = {"fn_index": ctx.server.fn_index(), "session_hash": "evil", "data": ["Who?", "fusion", 3, None]}
    return http_call("/gradio_api/queue/join", question, headers)(ctx)


# ---------------------------------------------------------------- round three (issue 24)


class Visitor:
    """One browser on a page: it keeps the upload cookie the page sets (rag.chat.upload_store)."""

    def __init__(self, server: "Server"):
        self.server, self.cookie = server, ""
        _, _, headers = server.request("/config")
        self.cookie = headers.get("set-cookie", "").split(";")[0]

    def post(self, path: str, payload, headers=None) -> tuple[int, str]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, text, _ = self.server.request(
            path, "POST", body, {"Content-Type": "application/json", "Cookie": self.cookie, **(headers or {})}
        )
        return status, text

    def upload(
        self, *files: tuple[str, bytes], disposition: str = 'name="files"; filename="{name}"'
    ) -> tuple[int, str]:
        parts = b"".join(
            f"--b\r\nContent-Disposition: form-data; {disposition.format(name=name)}\r\n\r\n".encode() + data + b"\r\n"
            for name, data in files
        )
        status, text, _ = self.server.request(
            "/gradio_api/upload",
            "POST",
            parts + b"--b--\r\n",
            {"Content-Type": "multipart/form-data; boundary=b", "Cookie": self.cookie},
        )
        return status, text

    def fn(self, api_name: str) -> int:
        config = json.loads(self.server.request("/config")[1])
        return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)

    def queued(self, api_name: str, data: list) -> str:
        """Run an event through the queue as the page does; its final message."""
        session = "r3" + str(time.monotonic_ns())[-8:]
        status, text = self.post(
            "/gradio_api/queue/join", {"fn_index": self.fn(api_name), "session_hash": session, "data": data}
        )
        assert status == 200, text
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=600)
        conn.request("GET", f"/gradio_api/queue/data?session_hash={session}", headers={"Cookie": self.cookie})
        last = ""
        for raw in conn.getresponse():
            line = raw.decode("utf-8").strip()
            if line.startswith("data:") and '"process_completed"' in line:
                last = line[5:]
                break
        conn.close()
        return last

    def add(self, name: str, data: bytes) -> str:
        status, text = self.upload((name, data))
        assert status == 200, text
        ref = {"path": json.loads(text)[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}
        return self.queued("add_documents", [[ref], []])


def file_url_in(path: str, api: str | None = None, make=None):
    """A FileData-shaped value naming a URL or a path, in an event's data (read-only page, under the hook)."""

    def run(ctx: Ctx) -> tuple[int, str]:
        server = ctx.server
        ref = {"path": make, "url": make, "orig_name": "x.txt", "meta": {"_type": "gradio.FileData"}}
        if api is None:
            body = {"fn_index": Visitor(server).fn("search_in"), "session_hash": "s", "data": [[ref]]}
        else:
            body = {"data": [ref, "fusion", 3]}
        status, text = server.call(path, body)
        server.quiet()
        return status, text

    return run


def add_folder_with_links(ctx: Ctx) -> tuple[int, str]:
    """rag add FOLDER: a link to a private file, one to /proc/self/environ, a FIFO; under strace for opens."""
    from tests.test_no_outbound import strace

    (ctx.tmp / "private").mkdir()
    (ctx.tmp / "private" / "secret.txt").write_text(SECRET + "\n")
    folder = write_corpus(ctx.tmp / "drop", {"kettle.txt": "Kettle Care\n\nDescale the kettle once a month."})
    os.symlink(ctx.tmp / "private" / "secret.txt", folder / "secret.txt")
    os.symlink("/proc/self/environ", folder / "environ.txt")
    os.mkfifo(folder / "pipe.txt")
    trace = ctx.tmp / "open.log"
    result = subprocess.run(
        [
            strace(),
            "-f",
            "-qq",
            "-e",
            "trace=open,openat",
            "-o",
            str(trace),
            sys.executable,
            "-m",
            "rag.cli",
            "add",
            str(folder),
            "--index",
            str(ctx.copy()),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    opened = [
        line
        for line in trace.read_text().splitlines()
        if "/environ" in line or (str(ctx.tmp) in line and ("secret" in line or "pipe.txt" in line))
    ]
    listed = cli("list", "--index", ctx.copy())[1]
    assert "kettle" in listed and "secret" not in listed and "environ" not in listed, listed
    assert opened == [], opened
    return result.returncode, result.stderr


def name_not_utf8_fallback_title(ctx: Ctx) -> tuple[int, str]:
    """A name not UTF-8 and no headline in the text: the title comes from the name."""
    corpus = write_corpus(ctx.tmp / "c", {"a.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    Path(os.fsdecode(bytes(corpus) + b"/caf\xe9 notes.txt")).write_text("the cafe opens at nine, and closes late.\n")
    code, out = cli("index", "--corpus", corpus, "--index", ctx.tmp / "index" / "default", "-q")
    left = sorted(p.name for p in (ctx.tmp / "index").iterdir() if ".gen-" in p.name)
    listed = json.loads(cli("list", "--json", "--index", ctx.tmp / "index" / "default")[1])["documents"]
    titles = sorted(d["title"] for d in listed)
    # rag add of such a file too: stored under U+FFFD.
    extra = Path(os.fsdecode(bytes(ctx.tmp) + b"/r\xe9sum\xe9.txt"))
    extra.write_text("plain words about a kettle.\n")
    added = cli("add", extra, "--index", ctx.tmp / "index" / "default", "-q")
    files = [
        d["file"] for d in json.loads(cli("list", "--json", "--index", ctx.tmp / "index" / "default")[1])["documents"]
    ]
    return max(code, added[0]), f"{out} titles={titles} generations={len(left)} files={files}"


def upload_to(path_or_files, expect_json=False, **kw):
    def run(ctx: Ctx) -> tuple[int, str]:
        server = ctx.request.getfixturevalue("adding_server")
        visitor = Visitor(server)
        status, text = visitor.upload(*path_or_files, **kw)
        server.quiet()
        return status, text

    return run


def upload_served_back(ctx: Ctx) -> tuple[int, str]:
    import urllib.parse

    server = ctx.request.getfixturevalue("adding_server")
    visitor = Visitor(server)
    status, text = visitor.upload(("notes.txt", b"private notes"))
    assert status == 200, text
    path = json.loads(text)[0]
    status, text, _ = server.request("/gradio_api/file=" + urllib.parse.quote(path), headers={"Cookie": visitor.cookie})
    server.quiet()
    return status, text


def another_session_searches_and_removes(ctx: Ctx) -> tuple[int, str]:
    server = ctx.request.getfixturevalue("adding_server")
    added = Visitor(server).add(
        "orchard notes.txt",
        b"Orchard Notes\n\nPears ripen off the tree; pick them when the neck yields to a gentle press.\n",
    )
    assert "Added orchard-notes" in added, added
    other = Visitor(server)  # a session that never saw the document added
    listing = json.loads(
        other.post("/gradio_api/run/predict", {"fn_index": other.fn("refresh"), "data": [], "session_hash": "o1"})[1]
    )["data"][0]
    status, _ = other.post(
        "/gradio_api/run/predict",
        {"fn_index": other.fn("search_in"), "data": [["orchard-notes"]], "session_hash": "o1"},
    )
    removed = other.queued("remove_documents", [["orchard-notes"], []])
    server.quiet()
    return status, f"listed: {'Orchard Notes' in listing}; " + removed


def resealed_without_the_key(ctx: Ctx) -> tuple[int, str]:
    """The text edited, its files entries and the fingerprint recomputed; the seal needs the key."""
    from rag.index.manifest import fingerprint

    copy = ctx.copy()
    m = _manifest(copy)
    for name in ("documents.jsonl", "chunks.jsonl"):
        data = (copy / name).read_bytes().replace(b"Michael Kofman", b"Michael Hacked")
        (copy / name).write_bytes(data)
        m["files"][name] = {"bytes": len(data), "sha256": sha256_bytes(data)}
    m["fingerprint"] = fingerprint(m)
    (copy / "manifest.json").write_text(json.dumps(m))
    code, out = ask_index(copy)
    assert "Hacked" not in out
    return code, out


def without_the_key(ctx: Ctx) -> tuple[int, str]:
    return one_line(
        *cli("ask", "Who is Michael Kofman?", "--index", ctx.index, env={"RAG_KEY_FILE": str(ctx.tmp / "no-such.key")})
    )


def preflight(ctx: Ctx) -> tuple[int, str]:
    status, text, headers = ctx.server.request(
        "/gradio_api/queue/join",
        "OPTIONS",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    ctx.server.quiet()
    return (
        status,
        f"{text} | csp: {'content-security-policy' in headers} | "
        f"allow-origin: {headers.get('access-control-allow-origin')}",
    )


def json_question(ctx: Ctx) -> tuple[int, str]:
    # One argument holds at most 128 KiB.
    question = "\x1b]0;owned\x07Who is \x1b[31mMichael Kofman? " + "Kofman " * 15_000
    code, out = cli("ask", "--json", question, "--index", ctx.index)
    asked = json.loads(out[out.index("{") :])["question"]
    escapes = "\x1b" in asked or "\x07" in asked
    return code, f"question: {len(asked)} characters, escapes: {escapes}"


def pickled_weights(ctx: Ctx) -> tuple[int, str]:
    import pickle

    from rag.embed.models import minilm_path

    folder = ctx.tmp / "model"
    shutil.copytree(minilm_path(), folder)
    for name in ("model.safetensors", "model.onnx"):
        (folder / name).unlink(missing_ok=True)
    marker = ctx.tmp / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": Payload()}))
    corpus = write_corpus(ctx.tmp / "c", {"a.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    code, out = one_line(*cli("index", "--corpus", corpus, "--index", ctx.tmp / "i", "--model", folder, "-q"))
    assert not marker.exists() and "weights_only" not in out and "Warning" not in out, out
    return code, out


def index_link_to_a_folder(ctx: Ctx) -> tuple[int, str]:
    (ctx.tmp / "documents").mkdir()
    (ctx.tmp / "documents" / "letter.txt").write_text("Dear reader,\n")
    os.symlink(ctx.tmp / "documents", ctx.tmp / "mine")
    corpus = write_corpus(ctx.tmp / "c", {"a.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    code, out = one_line(*cli("index", "--corpus", corpus, "--index", ctx.tmp / "mine", "-q"))
    assert os.readlink(ctx.tmp / "mine") == str(ctx.tmp / "documents")
    assert sorted(p.name for p in (ctx.tmp / "documents").iterdir()) == ["letter.txt"]
    return code, out


def bidi_on_the_page(ctx: Ctx) -> tuple[int, str]:
    server = ctx.request.getfixturevalue("adding_server")
    visitor = Visitor(server)
    added = visitor.add(
        "vault.txt", "Vault Notes\n\nThe vault code is \u202e4321\u202c, changed every Monday.\n".encode("utf-8")
    )
    assert "Added vault" in added, added
    answer = json.loads(visitor.queued("chat", ["What is the vault code?", "fusion", 3, None]))
    server.quiet()
    # The answer, its sources panel and the inspector: the page's HTML (the JSON record keeps the exact text).
    html = " ".join(v for v in answer["output"]["data"][1:4] if isinstance(v, str))
    assert "4321" in html, html[:2000]
    return (
        200 if answer.get("success") else 500
    ), f"U+202E on the page: {chr(0x202E) in html}; shown as U+FFFD: {'is ' + chr(0xFFFD) + '4321' in html}"


def utf16_corpus(ctx: Ctx) -> tuple[int, str]:
    corpus = write_corpus(
        ctx.tmp / "c",
        {
            "notes.txt": "Kettle Care\n\nDescale the kettle once a month with white vinegar.\n".encode("utf-16"),
            "wide.txt": "Garden Notes\n\nTomatoes need full sun.\n".encode("utf-16-le"),
        },
    )
    code, out = cli("index", "--corpus", corpus, "--index", ctx.tmp / "i", "-q")
    asked = cli("ask", "How often should the kettle be descaled?", "--index", ctx.tmp / "i", "--retriever", "bm25")
    return code, out + asked[1][:300]


CASES = {
    # 1. onnxruntime telemetry
    "1-telemetry-files": Case(
        "1",
        "onnxruntime query with ORT_DISABLE_TELEMETRY=0 in the caller's environment",
        0,
        "telemetry files: none",
        telemetry_files,
    ),
    "1-ask-under-strace": Case(
        "1",
        "rag ask in a loopback-only namespace under strace -f and the hook",
        0,
        "0 outbound attempts",
        ask_in_namespace_under_strace,
    ),
    # 2. the server fetches URLs
    "2-file-url": Case(
        "2",
        "GET /gradio_api/file=http://192.0.2.1/x",
        403,
        "this server fetches no URL",
        http_get("/gradio_api/file=http://192.0.2.1/x"),
    ),
    "2-file-slash-url": Case(
        "2",
        "GET /gradio_api/file/http://192.0.2.1/x",
        403,
        "this server fetches no URL",
        http_get("/gradio_api/file/http://192.0.2.1/x"),
    ),
    "2-private-name": Case(
        "2",
        "GET /gradio_api/file=https://intranet.internal/x (a name, never resolved)",
        403,
        "this server fetches no URL",
        http_get("/gradio_api/file=https://intranet.internal/x"),
    ),
    "2-encoded-url": Case(
        "2",
        "GET /gradio_api/file=http%3A%2F%2F192.0.2.1%2Fx",
        403,
        "this server fetches no URL",
        http_get("/gradio_api/file=http%3A%2F%2F192.0.2.1%2Fx"),
    ),
    "2-proxy": Case(
        "2",
        "GET /gradio_api/proxy=http://192.0.2.1/",
        403,
        "this server fetches no URL",
        http_get("/gradio_api/proxy=http://192.0.2.1/"),
    ),
    "2-cross-site-get": Case(
        "2",
        "GET /gradio_api/file=… with Sec-Fetch-Site: cross-site (an <img> elsewhere)",
        403,
        "cross-site request refused",
        http_get("/gradio_api/file=/tmp/x.png", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}),
    ),
    # 3. symlinks in the corpus
    "3-shadow-link": Case(
        "3",
        "corpus/shadow.md -> a shadow file outside the corpus; rag index, then rag ask",
        0,
        "skipped shadow.md: symbolic link to a file outside the corpus folder",
        shadow_link,
    ),
    # 4. index integrity
    "4-files-edited-to-match": Case(
        "4",
        "documents.jsonl altered and its files entry edited to match",
        1,
        "manifest.json was edited (fingerprint does not match)",
        altered_text_files_edited,
    ),
    "4-nan-vectors": Case(
        "4",
        "NaN vectors, files and fingerprint made to match",
        1,
        "not finite",
        lambda ctx: ask_index(_vectors(ctx, lambda v: np.full_like(v, np.nan))),
    ),
    "4-random-index": Case(
        "4",
        "random vectors, files and fingerprint made to match",
        1,
        "not unit length",
        lambda ctx: ask_index(_vectors(ctx, lambda v: np.random.default_rng(0).normal(size=v.shape))),
    ),
    "4-traversal-name": Case(
        "4",
        "files names bm25/../../../../etc/passwd",
        1,
        "leaves the index folder",
        listed_name("bm25/../../../../../../../etc/passwd"),
    ),
    "4-dev-zero-name": Case(
        "4",
        "files names bm25/../../../../dev/zero",
        1,
        "leaves the index folder",
        listed_name("bm25/../../../../../../../dev/zero"),
    ),
    "4-fifo": Case("4", "bm25/vocab.index.json replaced by a FIFO", 1, "not a regular file", fifo_in_index),
    "4-corpus-root-edited": Case("4", 'corpus.folder edited to "/"', 1, "was edited", corpus_folder("/", False)),
    "4-corpus-root-refingerprinted": Case(
        "4",
        'corpus.folder "/" with the fingerprint recomputed',
        1,
        "holds more than 100,000 files and folders",
        corpus_folder("/", True),
    ),
    # 5. Host, Origin, framing
    "5-rebinding": Case(
        "5",
        "queue/join with Host and Origin evil.example:PORT",
        400,
        "is not an address this server answers to",
        rebinding,
    ),
    "5-cross-origin": Case(
        "5",
        "queue/join with Origin http://evil.example",
        403,
        "cross-origin request refused",
        http_call(
            "/gradio_api/queue/join",
            lambda fn: {"fn_index": fn, "session_hash": "x", "data": ["q", "fusion", 3, None]},
            {"Origin": "http://evil.example"},
        ),
    ),
    "5-framing": Case(
        "5",
        "GET / (may another site frame it?)",
        200,
        "frame-ancestors 'none' | x-frame-options: DENY | x-content-type-options: nosniff | "
        "referrer-policy: no-referrer",
        framing_headers,
    ),
    # 6. quadratic splitting, helpers
    "6-one-line": Case("6", "one line of 330,000 characters to split", 0, "pieces within the limits", long_line_pieces),
    "6-killed-build": Case(
        "6", "SIGKILL to a process whose splitting helper is busy", 0, "exited with its parent", killed_build_helper
    ),
    # 7. low
    "7-zero-byte-upload": Case(
        "7",
        "POST /gradio_api/upload with a zero-byte file to a read-only page",
        413,
        "this server accepts no uploads",
        upload(0),
    ),
    "7-upload-over-bound": Case(
        "7",
        "an upload of 3 MB to a page that adds documents (1 file of 1 MB at most)",
        413,
        "request body over",
        upload(3 << 20, adding=True),
    ),
    "7-name-not-utf8": Case(
        "7",
        "a corpus file named caf\\xe9 notes.txt",
        0,
        "is not UTF-8; it is indexed as caf\ufffd notes",
        name_not_utf8,
    ),
    "7-argv-not-utf8": Case(
        "7",
        "rag ask with \\xff and an encoded surrogate in the question",
        0,
        "bytes that are not UTF-8 text were replaced by \ufffd",
        argv_not_utf8,
    ),
    "7-api-surrogate": Case("7", "Rag.ask with a lone surrogate", 0, "were replaced by \ufffd", api_lone_surrogate),
    "7-queue-surrogate": Case(
        "7",
        "the page's queue with \\ud800 in the question",
        200,
        "were replaced by \ufffd",
        ask_through_queue("Who is Michael \ud800 Kofman?"),
    ),
    "7-report-escapes": Case(
        "7",
        "rag eval --report with ESC and BEL in an eval id and question",
        0,
        "report.md holds no escape",
        report_escapes,
    ),
    "7-newline-in-name": Case(
        "7",
        "text-mode rag ask citing a file whose name holds a newline and a forged line",
        0,
        "tomatoes\u23ce[9] Forged Title",
        newline_in_name,
    ),
    "7-unknown-fn-index": Case(
        "7",
        "queue/join with fn_index 999",
        422,
        "unknown fn_index",
        http_call("/gradio_api/queue/join", {"fn_index": 999, "session_hash": "x", "data": []}),
    ),
    "7-null-data": Case(
        "7",
        "queue/join with data: null",
        422,
        "'data' must be a list",
        http_call("/gradio_api/queue/join", lambda fn: {"fn_index": fn, "session_hash": "x", "data": None}),
    ),
    "7-call-v2": Case(
        "7",
        "POST /gradio_api/call/v2/chat",
        404,
        "not found",
        http_call("/gradio_api/call/v2/chat", {"question": "Who?"}),
    ),
    # 8. misreported user errors
    "8-index-loop": Case("8", "--index pointing at a symlink loop", 2, "is a loop of symbolic links", index_loop),
    "8-proc-self": Case(
        "8",
        "--index /proc/self",
        1,
        "/proc/self is not a rag index",
        lambda ctx: one_line(*cli("ask", "Who?", "--index", "/proc/self")),
    ),
    "8-long-path": Case(
        "8",
        "--index of 5,000 characters",
        2,
        "is too long",
        lambda ctx: one_line(*cli("ask", "Who?", "--index", "a" * 5000)),
    ),
    "8-report-file": Case("8", "--report pointing at a file", 2, "is a file; give a folder", report_is_a_file),
    "8-sweep-abc": Case("8", "--sweep abc", 2, "is not SIZE:OVERLAP pairs", sweep_abc),
    "8-deep-json": Case("8", "an eval line nested 100,000 deep", 1, "JSON nested more than 8 levels deep", deep_json),
    "8-qa-dev-zero": Case(
        "8",
        "--qa /dev/zero",
        1,
        "eval file /dev/zero is not a regular file",
        lambda ctx: one_line(*cli("eval", "--qa", "/dev/zero", "--index", ctx.index)),
    ),
    "8-host-ipv6": Case(
        "8",
        "--host :: (in a loopback-only namespace)",
        200,
        "Serving the chat page on http://[::]:7883",
        host_ipv6_wildcard,
    ),
    "8-taken-port": Case(
        "8", "--port already taken", 1, "is already in use; stop what uses it, or choose another --port", taken_port
    ),
    # 9. cosmetic
    "9-empty-host": Case("9", "--host ''", 2, "'--host': is empty", lambda ctx: one_line(*cli("serve", "--host", ""))),
    "9-serving-after-bind": Case(
        "9",
        "connect the moment 'Serving on' is printed",
        200,
        "Serving the chat page on http://127.0.0.1:",
        serving_line_after_bind,
    ),
    "9-spaces-then-word": Case("9", "10 MB of spaces, then a word", 0, "query='Kofman'", spaces_then_a_word),
    "9-string-format-version": Case(
        "9", 'format_version "4" (a string)', 1, 'format_version "4", not a whole number', format_version_string
    ),
    # issue 24: round three
    "24.1-url-in-a-call": Case(
        "24.1",
        "POST /gradio_api/call/chat with a FileData naming http://93.184.215.14/x",
        403,
        "this server fetches no URL",
        file_url_in("/gradio_api/call/chat", "chat", "http://93.184.215.14/x"),
    ),
    "24.1-path-never-uploaded": Case(
        "24.1",
        "run/predict of Search in with a FileData naming /etc/hostname",
        403,
        "only as uploaded to this page",
        file_url_in("/gradio_api/run/predict", None, "/etc/hostname"),
    ),
    "24.2-add-folder-links": Case(
        "24.2",
        "rag add FOLDER holding links to a private file and /proc/self/environ, and a FIFO",
        0,
        "skipped environ.txt: symbolic link to a file outside the corpus folder",
        add_folder_with_links,
    ),
    "24.3-name-not-utf8-title": Case(
        "24.3",
        "a corpus file named caf\\xe9 notes.txt with no headline, then rag add of r\\xe9sum\\xe9.txt",
        0,
        "titles=['Caf\ufffd notes', 'Garden Notes Today'] "
        "generations=1 files=['a.txt', 'caf\ufffd notes.txt', 'r\ufffdsum\ufffd.txt']",
        name_not_utf8_fallback_title,
    ),
    "24.4-zero-byte-upload": Case(
        "24.4",
        "a zero-byte upload to a page that adds documents",
        400,
        "empty.txt is empty (0 bytes)",
        upload_to([("empty.txt", b"")]),
    ),
    "24.4-over-count": Case(
        "24.4",
        "two files in one upload where RAG_MAX_FILES is 1",
        413,
        "more than 1 files in one upload",
        upload_to([("a.txt", b"a"), ("b.txt", b"b")]),
    ),
    "24.4-served-back": Case(
        "24.4", "GET /gradio_api/file=<a file just uploaded>", 403, "uploaded files are not served", upload_served_back
    ),
    "24.5-another-session": Case(
        "24.5",
        "a document added in one session; another lists it, searches in it, removes it",
        200,
        "listed: True; ",
        another_session_searches_and_removes,
    ),
    "24.6-resealed-text": Case(
        "24.6",
        "documents.jsonl and chunks.jsonl edited, files table and fingerprint recomputed, no key",
        1,
        "was changed or sealed elsewhere",
        resealed_without_the_key,
    ),
    "24.6-no-key": Case(
        "24.6",
        "an index opened where its key is not (RAG_KEY_FILE elsewhere)",
        1,
        "is sealed with a key this machine does not have",
        without_the_key,
    ),
    "24.7-empty-data": Case(
        "24.7",
        "run/predict of Search in with data []",
        422,
        "must hold 1 value for this event",
        http_call("/gradio_api/run/predict", {"fn_index": 0, "data": [], "session_hash": "x"}),
    ),
    "24.7-wrong-type": Case(
        "24.7",
        "run/predict of Search in with data [5]",
        422,
        "must be a list of text",
        http_call("/gradio_api/run/predict", {"fn_index": 0, "data": [5], "session_hash": "x"}),
    ),
    "24.7-part-without-name": Case(
        "24.7",
        "a multipart part without a file name",
        400,
        "needs a file name",
        upload_to([("x", b"hello")], disposition='name="files"'),
    ),
    "24.8-preflight": Case(
        "24.8",
        "OPTIONS /gradio_api/queue/join with Origin http://evil.example",
        403,
        'cross-origin request refused"} | csp: True | allow-origin: None',
        preflight,
    ),
    "24.10-json-question": Case(
        "24.10", "rag ask --json with escapes and 105,000 characters", 0, "escapes: False", json_question
    ),
    "24.11-pickled-weights": Case(
        "24.11",
        "a model folder whose pytorch_model.bin runs code when unpickled",
        1,
        "holds objects other than tensors",
        pickled_weights,
    ),
    "24.12-index-link": Case(
        "24.12",
        "--index LINK, LINK a symlink to a folder of other files",
        1,
        "holds files but is not a rag index",
        index_link_to_a_folder,
    ),
    "24.13-bidi": Case(
        "24.13",
        "a document with U+202E, quoted on the page",
        200,
        "U+202E on the page: False; shown as U+FFFD: True",
        bidi_on_the_page,
    ),
    "24.14-utf16": Case(
        "24.14",
        "UTF-16 with a byte-order mark, and UTF-16LE without",
        0,
        "skipped wide.txt: binary file (contains NUL bytes); it looks like UTF-16LE text",
        utf16_corpus,
    ),
}


@pytest.mark.parametrize("row", list(CASES), ids=list(CASES))
def test_hostile_input(row, request, tmp_path, essays_index):
    case = CASES[row]
    code, text = case.run(Ctx(request, tmp_path, essays_index.path))
    assert (code, case.message in text) == (case.expect, True), f"{case.case}: got {code}: {text[-1500:]}"
