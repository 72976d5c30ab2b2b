"""`rag ... | head` ends quietly, as Unix tools do: status 0 or 141
(128 + SIGPIPE), nothing on stderr, never "BrokenPipeError"."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

RAG = [sys.executable, "-m", "rag.cli"]


def _env() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_DEBUG", None)
    return env


def _into_a_closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run rag with stdout a pipe whose reader has already gone: its first
    line fails for certain (with `| head` it depends on who runs first)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*RAG, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=_env(), timeout=300
        )
    finally:
        os.close(write_end)


@pytest.fixture(scope="module")
def tiny_qa(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa") / "qa.jsonl"
    rows = [
        {"id": "kofman", "question": "Who is Michael Kofman?", "answers": ["Michael Kofman"]},
        {"id": "bread", "question": "What is the best recipe for sourdough bread?", "answers": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ask_into_a_closed_pipe_ends_quietly(essays_index):
    result = _into_a_closed_pipe(["ask", "Who is Michael Kofman?", "--index", str(essays_index.path)])
    assert (result.returncode, result.stderr) == (141, "")


def test_eval_into_a_closed_pipe_ends_quietly(essays_index, tiny_qa):
    result = _into_a_closed_pipe(["eval", "--qa", str(tiny_qa), "--index", str(essays_index.path)])
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.parametrize("verb", ["ask", "eval"])
def test_piped_into_head_in_a_shell(essays_index, tiny_qa, verb):
    args = ["ask", "Who is Michael Kofman?"] if verb == "ask" else ["eval", "--qa", str(tiny_qa)]
    command = shlex.join([*RAG, *args, "--index", str(essays_index.path)])
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert result.returncode in (0, 141) and result.stderr == ""
    assert len(result.stdout.splitlines()) == 1 and result.stdout.strip()


@pytest.mark.unit
def test_a_broken_pipe_elsewhere_is_still_reported(monkeypatch):
    """Only a reader that stopped reading is quiet; any other BrokenPipeError is a bug, reported as one."""
    from click.testing import CliRunner

    import rag.pipeline
    from rag.cli.main import main

    def broken(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(rag.pipeline.Rag, "open", broken)
    result = CliRunner().invoke(main, ["ask", "Who is Michael Kofman?"])
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "rag: error: internal error: BrokenPipeError: [Errno 32] Broken pipe (set RAG_DEBUG=1 for details)"
    )
