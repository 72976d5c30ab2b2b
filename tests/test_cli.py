"""The `rag` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, write_corpus

RAG = [sys.executable, "-m", "rag.cli"]


def run(*args, env=None, timeout=180):
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    full_env.pop("RAG_DEBUG", None)
    return subprocess.run([*RAG, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def one_line_error(result, code=1):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.unit
@pytest.mark.parametrize("cmd", [[], ["index"], ["ask"]])
def test_help_everywhere(cmd):
    result = run(*cmd, "--help")
    assert result.returncode == 0 and "Usage: " in result.stdout and "--help" in result.stdout


def test_ask_json_shape_and_offsets(essays_index):
    result = run("ask", "--json", "Who is Michael Kofman?", "--index", str(essays_index.path))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout
    assert set(payload) == {"question", "answer", "abstained", "form", "caution", "citations", "passages"}
    assert payload["question"] == "Who is Michael Kofman?"
    assert isinstance(payload["answer"], str) and isinstance(payload["abstained"], bool)
    texts = {p.name.removesuffix(".txt"): p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
    for c in payload["citations"]:
        assert set(c) == {"n", "doc_id", "title", "start", "end", "quote", "paragraph", "page", "page_end", "headings"}
        assert texts[c["doc_id"]][c["start"] : c["end"]] == c["quote"]
        # Where it starts, for people: paragraphs are separated by blank lines; .txt has no pages.
        assert c["paragraph"] == len(re.findall(r"\n[ \t]*\n\s*", texts[c["doc_id"]][: c["start"]])) + 1
        assert c["page"] is None
    for p in payload["passages"]:
        assert set(p) == {"doc_id", "title", "start", "end", "score", "text"}
        assert texts[p["doc_id"]][p["start"] : p["end"]] == p["text"]
        assert isinstance(p["score"], float)
    top = payload["passages"][0]
    assert top["title"] == "Putin Needs an Off-Ramp" and "Michael Kofman" in top["text"]


@pytest.mark.model
def test_index_then_ask_in_text_mode(tmp_path):
    corpus = write_corpus(
        tmp_path / "c",
        {"a.txt": "Garden Notes Today\n\nTomatoes need full sun and steady water.", "bad.txt": b"caf\xe9 \xff"},
    )
    index_dir = tmp_path / "idx"
    built = run(
        "index",
        "--corpus",
        str(corpus),
        "--index",
        str(index_dir),
        "--chunk-size",
        "200",
        "--chunk-overlap",
        "20",
        "-q",
    )
    assert built.returncode == 0, built.stderr
    assert "skipped bad.txt: not UTF-8" in built.stderr
    again = run(
        "index", "--corpus", str(corpus), "--index", str(index_dir), "--chunk-size", "200", "--chunk-overlap", "20"
    )
    assert "up to date" in again.stdout
    asked = run("ask", "What do tomatoes need?", "--index", str(index_dir), "--retriever", "bm25")
    assert asked.returncode == 0, asked.stderr
    assert "Tomatoes need full sun" in asked.stdout and "[1]" in asked.stdout


@pytest.mark.unit
def test_user_errors_are_one_line_exit_1(tmp_path):
    line = one_line_error(run("ask", "anything", "--index", str(tmp_path / "missing")))
    assert "no index at" in line and "rag index" in line
    (tmp_path / "empty").mkdir()
    line = one_line_error(run("index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i")))
    assert "no usable document" in line


def test_empty_question_is_a_user_error(essays_index):
    line = one_line_error(run("ask", "   ", "--index", str(essays_index.path)))
    assert "question is empty" in line


@pytest.mark.unit
@pytest.mark.parametrize(
    "args, named",
    [
        (["ask"], "Missing argument 'QUESTION'"),
        (["ask", "q", "--k", "0"], "'--k'"),
        (["ask", "q", "--retriever", "magic"], "'--retriever'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["index", "--chunk-size", "x"], "'--chunk-size'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, named):
    line = one_line_error(run(*args), code=2)
    assert named in line and "--help" in line


def test_damaged_index_is_one_line(tmp_path, essays_index):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(essays_index.path, copy)
    (copy / "chunks.jsonl").write_bytes(b"{broken")
    line = one_line_error(run("ask", "Who?", "--index", str(copy)))
    assert "chunks.jsonl" in line and "rag index" in line


def test_info_lists_what_is_registered_and_the_index(essays_index, tmp_path):
    from rag.ingest.loaders import LOADERS
    from rag.retrieval.registry import RETRIEVERS

    result = run("info", "--json", "--index", str(essays_index.path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["retrievers"]] == list(RETRIEVERS) != []
    assert {s for r in data["readers"] for s in r["suffixes"]} == {s for loader in LOADERS for s in loader.suffixes}
    assert {m["key"] for m in data["models"]} == {"mpnet", "minilm"}
    from rag.retrieval.candidates import STORES

    assert [s["name"] for s in data["stores"]] == list(STORES) and {"local", "milvus"} <= set(STORES)
    manifest = json.loads((essays_index.path / "manifest.json").read_text())
    assert data["index"]["model"] == manifest["model"]["name"] and data["index"]["documents"] == 2
    assert data["index"]["store"] == "local"
    # Without an index it still lists what is registered, and says why there is no index.
    text = run("info", "--index", str(tmp_path / "none"))
    assert text.returncode == 0 and "fusion" in text.stdout and ".pdf" in text.stdout and "milvus" in text.stdout
    assert "no index at" in text.stdout and "rag index --index" in text.stdout
