"""Nothing leaves or enters that should not: no outbound connection from the
CLI, no pickle executed from an index folder, no terminal escape sequence
from corpus text or file names, no live Markdown or HTML in eval reports."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorrupt, RagError
from rag.index.load import load_index
from rag.index.manifest import seal_manifest, sha256_bytes
from tests.conftest import CORPUS, ROOT, write_corpus
from tests.test_cli import one_line_error, run

NETGUARD = Path(__file__).parent / "netguard"
# Variables that make libraries stay offline. The guard tests drop them: rag
# itself must set what it needs, not the caller's environment.
OFFLINE_VARS = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "GRADIO_ANALYTICS_ENABLED",
    "HF_DATASETS_OFFLINE",
    "DO_NOT_TRACK",
)


def guarded_env(log: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS and k != "RAG_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["RAG_NETGUARD_LOG"] = str(log)
    return env


def outbound_attempts(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    assert any(line.startswith("armed ") for line in lines), "the guard was not loaded in the subprocess"
    return [line for line in lines if not line.startswith("armed ")]


# ---------------------------------------------------------------- network


@pytest.mark.unit
def test_netguard_catches_an_outbound_attempt(tmp_path):
    """The guard itself works: otherwise the tests below could not fail."""
    log = tmp_path / "net.log"
    code = (
        "import socket\n"
        "for target in [('192.0.2.1', 80), ('huggingface.co', 443)]:\n"
        "    try: socket.create_connection(target, timeout=1)\n"
        "    except OSError as e: print('refused', e)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "socket.create_connection(s.getsockname(), timeout=1).close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=guarded_env(log), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    attempts = outbound_attempts(log)
    assert len(attempts) == 2 and "192.0.2.1" in attempts[0] and "huggingface.co" in attempts[1]


@pytest.mark.model
def test_cli_makes_no_outbound_connection(tmp_path):
    log = tmp_path / "net.log"
    env = guarded_env(log)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index"
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"id": "a", "question": "Who is Michael Kofman?", "answers": ["Putin Needs an Off-Ramp"]}) + "\n",
        encoding="utf-8",
    )
    for args in (
        ["index", "--corpus", str(corpus), "--index", str(index_dir), "-q"],
        ["ask", "Who is Michael Kofman?", "--index", str(index_dir)],
        ["ask", "--json", "Who is Michael Kofman?", "--index", str(index_dir), "--retriever", "dense"],
        ["eval", "--qa", str(qa), "--index", str(index_dir), "--report", str(tmp_path / "report")],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
        )
        assert result.returncode == 0, (args, result.stderr)
    assert outbound_attempts(log) == []


# ---------------------------------------------------------------- no unpickling


class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_npy(path: Path, marker: Path) -> bytes:
    np.save(path, np.array([_Payload(marker), 1], dtype=object), allow_pickle=True)
    return path.read_bytes()


def _plant(index_dir: Path, name: str, data: bytes) -> None:
    """Replace a file and make the manifest's checksum agree, so only the loader stands in the way."""
    (index_dir / name).write_bytes(data)
    path = index_dir / "manifest.json"
    m = json.loads(path.read_text())
    m["files"][name] = {"bytes": len(data), "sha256": sha256_bytes(data)}
    m.update(seal_manifest(m))  # re-sealed with this machine's key: the checks behind the seal
    path.write_text(json.dumps(m))


@pytest.mark.unit
def test_payload_is_live(tmp_path):
    """Control: the payload does run when something unpickles it."""
    marker = tmp_path / "ran"
    data = _pickle_npy(tmp_path / "p.npy", marker)
    np.load(tmp_path / "p.npy", allow_pickle=True)
    assert marker.exists()
    marker.unlink()
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists() and data


@pytest.mark.parametrize(
    "name",
    [
        "bm25/data.csc.index.npy",
        "bm25/indices.csc.index.npy",
        "bm25/indptr.csc.index.npy",
        "bm25/vocab.index.json",
        "bm25/params.index.json",
        "vectors.faiss",
        "chunks.jsonl",
        "documents.jsonl",
        "sentence_vectors.npy",
        "token_ids.npy",
        "token_vectors.npy",
        "sentences.npy",
    ],
)
def test_loader_never_unpickles(tmp_path, essays_index, name):
    copy = tmp_path / "copy"
    shutil.copytree(essays_index.path, copy)
    marker = tmp_path / "executed"
    if name.endswith(".npy"):
        data = _pickle_npy(tmp_path / "payload.npy", marker)
    else:
        data = pickle.dumps(_Payload(marker), protocol=2)
    _plant(copy, name, data)
    with pytest.raises(RagError):
        load_index(copy)
    assert not marker.exists()


def test_cli_refuses_pickled_bm25_array_without_running_it(tmp_path, essays_index):
    copy = tmp_path / "copy"
    shutil.copytree(essays_index.path, copy)
    marker = tmp_path / "executed"
    _plant(copy, "bm25/data.csc.index.npy", _pickle_npy(tmp_path / "payload.npy", marker))
    line = one_line_error(run("ask", "Who is Michael Kofman?", "--index", str(copy)))
    assert "bm25 cannot be read" in line and "rag index" in line
    assert not marker.exists()
    with pytest.raises(IndexCorrupt):
        load_index(copy)


def test_unlisted_pickles_in_the_index_folder_are_never_read(tmp_path, essays_index):
    copy = tmp_path / "copy"
    shutil.copytree(essays_index.path, copy)
    marker = tmp_path / "executed"
    # Names bm25s would read for other methods or with load_corpus=True, and a stray pickle.
    _pickle_npy(copy / "bm25" / "nonoccurrence_array.index.npy", marker)
    (copy / "bm25" / "corpus.jsonl").write_bytes(pickle.dumps(_Payload(marker)))
    (copy / "index.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    assert len(load_index(copy).chunks) == len(essays_index.chunks)
    assert not marker.exists()


# ---------------------------------------------------------------- terminal


ESCAPES = ("\x1b", "\x07", "\x9b", "\x9d", "\x7f", "\u202e")


def _assert_no_escapes(text: str, where: str) -> None:
    found = [repr(c) for c in ESCAPES if c in text]
    assert not found, f"{where} carries {found}"


@pytest.mark.model
def test_cli_output_carries_no_terminal_escape(tmp_path):
    evil_name = "\x1b]0;owned\x07evil\x1b[2J"
    corpus = write_corpus(
        tmp_path / "c",
        {
            f"{evil_name}.txt": "Tomato Growing \x1b[31mGuide\x1b[0m\n\nTomatoes need "
            "\x1b]52;c;cm0gLXJmIH4=\x07full sun \x9b2J and steady \u202eretaw\u202c water every day.",
            "\x1b[5mbad.txt": "Caf\xe9".encode("latin-1"),
        },
    )
    index_dir = tmp_path / "index"
    built = run("index", "--corpus", str(corpus), "--index", str(index_dir))
    assert built.returncode == 0, built.stderr
    assert "skipped \ufffd[5mbad.txt: not UTF-8" in built.stderr
    _assert_no_escapes(built.stdout + built.stderr, "rag index")

    asked = run("ask", "What do tomatoes need? \x1b[8m", "--index", str(index_dir), "--retriever", "bm25")
    assert asked.returncode == 0, asked.stderr
    assert "Tomatoes need" in asked.stdout and "\ufffd]0;owned\ufffdevil" in asked.stdout
    _assert_no_escapes(asked.stdout + asked.stderr, "rag ask")

    as_json = run("ask", "--json", "What do tomatoes need?", "--index", str(index_dir), "--retriever", "bm25")
    assert as_json.returncode == 0, as_json.stderr
    _assert_no_escapes(as_json.stdout + as_json.stderr, "rag ask --json")
    payload = json.loads(as_json.stdout)  # escaped, not lost: JSON readers get the exact text back
    document = load_index(index_dir).documents[evil_name]
    quote = payload["citations"][0]
    assert quote["doc_id"] == evil_name and "\x9b2J" in quote["quote"]
    assert document.text[quote["start"] : quote["end"]] == quote["quote"]

    failed = run("ask", "Who?", "--index", str(tmp_path / "\x1b]0;x\x07idx"))
    _assert_no_escapes(one_line_error(failed), "error line")


# ---------------------------------------------------------------- eval report


MARKUP = (
    "The tag <script>alert(1)</script> sits beside ![pixel](http://evil.example/p.png) and "
    "[a link](http://evil.example/) and <img src=x onerror=alert(2)> and **bold** and `code` | pipe."
)


def test_eval_report_renders_corpus_and_eval_markup_inert(tmp_path, embedder):
    from markdown_it import MarkdownIt

    from rag.index.build import build_index
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus

    corpus = write_corpus(tmp_path / "c", {"markup.txt": f"Markup Essay Title\n\n{MARKUP}\n\nTomatoes need sun."})
    index_dir = tmp_path / "index"
    build_index(load_corpus(corpus), index_dir, embedder, ChunkSettings())
    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "id": "x`<img src=q onerror=alert(3)>`",
            "question": "What about <script>alert(4)</script> and "
            "![p](http://evil.example/q.png) [l](http://evil.example/)?",
            "answers": [MARKUP],
        },
        {"id": "out", "question": "<b>Unrelated</b> weather on Mars?", "answers": []},
    ]
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = tmp_path / "report"
    result = run("eval", "--qa", str(qa), "--index", str(index_dir), "--report", str(report), "--k", "1")
    assert result.returncode == 0, result.stderr
    text = (report / "report.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    for tag in ("<script", "<img src=x", "<img src=q", "<a ", "<b>", "<strong>bold"):
        assert tag not in rendered, f"{tag} is live in the rendered report"
    assert '<img src="hit_at_k.png"' in rendered  # the report's own plot is still there
    # Shown as the literal text it is: the question, and the corpus markup the answer quotes.
    assert "What about &lt;script&gt;alert(4)&lt;/script&gt; and ![p](http://evil.example/q.png)" in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
