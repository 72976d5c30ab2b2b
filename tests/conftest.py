"""Shared fixtures: the real bundled model, loaded once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder():
    """The default model (all-mpnet-base-v2) as `rag` runs it: onnxruntime for
    queries and these small builds. Its torch path is tested in test_embed_fast."""
    from rag.embed.auto import default_embedder

    model = default_embedder()
    model.embed_query("warm up")  # load once, here, not inside a timed test
    return model


@pytest.fixture(scope="session")
def essays_index(tmp_path_factory, embedder):
    """The two bundled essays, built once into a session folder."""
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus
    from rag.index.build import build_index

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
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


def start_page(rag):
    """The chat page for ``rag`` on a free loopback port, started as ``rag serve`` starts it."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from rag.chat.serve import start

    demo, url = start(rag, "127.0.0.1", None, block=False, quiet=True)
    return demo, url


def launch_chromium(playwright):
    """Debian's Chromium (Playwright cannot download browsers here), headless."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                      headless=True, args=BROWSER_ARGS)
