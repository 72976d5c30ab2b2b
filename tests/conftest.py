"""Shared fixtures: the real bundled model, loaded once per test session."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
MODEL_FIXTURES = frozenset({"embedder", "essays_index", "essays_rag"})


def pytest_collection_modifyitems(config, items):
    """The tiers (pyproject.toml): a test that takes the model's fixtures is a
    `model` test, one that takes the browser's a `browser` test, whatever its
    marks say; one of those marked `unit` is a mistake, refused here."""
    wrong = []
    for item in items:
        names = set(item.fixturenames)
        if names & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("unit") and (item.get_closest_marker("model") or item.get_closest_marker("browser")):
            wrong.append(item.nodeid)
    if wrong:
        raise pytest.UsageError(f"marked unit but needs the model or a browser: {', '.join(wrong)}")


@pytest.fixture(scope="session")
def embedder():
    """The default model (all-mpnet-base-v2) as the chat page runs it:
    onnxruntime for these small builds, and questions on torch in bfloat16
    where the CPU has it (FastEmbedder.keep_warm, which the page calls;
    elsewhere, and with RAG_BF16=0, onnxruntime). Set here, once, so that
    every test sees the same path whichever test starts a page first.
    Its other paths are tested in test_embed_fast and test_query_bf16."""
    from rag.embed.auto import default_embedder

    model = default_embedder()
    model.keep_warm()
    model.embed_query("warm up")  # load once, here, not inside a timed test
    return model


@pytest.fixture(scope="session")
def essays_index(tmp_path_factory, embedder):
    """The two bundled essays, built once into a session folder."""
    from rag.index.build import build_index
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus

    base = tmp_path_factory.mktemp("essays")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    index, _ = build_index(load_corpus(corpus), base / "index" / "default", embedder, ChunkSettings())
    return index


@pytest.fixture(scope="session")
def essays_rag(essays_index, embedder):
    from rag.pipeline import Rag

    return Rag(essays_index, embedder)


def write_corpus(folder: Path, files: dict[str, bytes | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def start_page(rag):
    """The chat page for ``rag`` on a free loopback port, started as ``rag serve`` starts it."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from rag.chat.serve import start

    demo, url = start(rag, "127.0.0.1", None, block=False, quiet=True)
    return demo, url


def stop(proc, timeout: float = 20) -> None:
    """Stop a server the test started: SIGTERM, then SIGKILL if it does not exit in ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch_chromium(playwright):
    """Debian's Chromium (Playwright cannot download browsers here), headless."""
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True, args=BROWSER_ARGS
    )


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module that asks for it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


class Paused:
    """A process run with pause failpoints (rag/failpoints.py): wait until it
    reaches each, then release it or kill it. Its stderr is read on a thread,
    so a chatty process never blocks on a full pipe."""

    def __init__(self, cmd: list[str], env: dict, **popen):
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.other: list[str] = []  # what else it wrote to stderr, for failure messages
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def reached(self, point: str, timeout: float = 240) -> None:
        """Block until the process pauses at ``point`` (bounded: a hung process fails the test)."""
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith("rag: failpoint "):
                assert line == f"rag: failpoint {point} paused (pid {self.proc.pid})\n", line
                return
            assert line, f"the process ended before {point}: {''.join(self.other)}"
            self.other.append(line)

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Let it run to the end; its exit status and stdout."""
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        return self.proc.wait(timeout=timeout), out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
