"""rag.failpoints itself: the spec, exit and pause, and that every point is
documented and placed. The crash tests that use them are in
test_crash_safety.py; the streaming test in test_ui_streaming.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from rag import failpoints
from rag.failpoints import EXIT_CODE, POINTS, failpoint, parse
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

# A process that passes one point three times, saying so after each.
THREE_HITS = (
    "import sys\nfrom rag.failpoints import failpoint\n"
    "for i in range(3):\n"
    "    failpoint('chat.answer.pending')\n"
    "    print('after', i + 1, flush=True)\n"
)


def _run(spec: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, failpoints.ENV: spec}
    return subprocess.run(
        [sys.executable, "-c", THREE_HITS], env=env, input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_spec_names_points_hits_and_actions():
    assert parse("index.build.locked") == {"index.build.locked": (1, "exit")}
    assert parse(" chat.answer.pending@3=pause , index.publish.after_swap ") == {
        "chat.answer.pending": (3, "pause"),
        "index.publish.after_swap": (1, "exit"),
    }
    assert parse("chat.answer.pending@*=pause") == {"chat.answer.pending": (0, "pause")}
    for bad in (
        "index.build.lockd",
        "chat.answer.pending@0",
        "chat.answer.pending@x",
        "chat.answer.pending=crash",
        "chat.answer.pending@*",
    ):  # every hit: only to pause, never to exit
        with pytest.raises(ValueError, match="is not NAME"):
            parse(bad)


def test_unset_or_other_points_do_nothing(monkeypatch):
    monkeypatch.delenv(failpoints.ENV, raising=False)
    failpoint("index.build.locked")
    monkeypatch.setenv(failpoints.ENV, "index.publish.after_swap")
    failpoint("index.build.locked")  # another point: carries on
    with pytest.raises(ValueError, match="unknown failpoint"):
        failpoint("index.build.lockd")


def test_exit_on_the_nth_hit_with_the_distinctive_code():
    first = _run("chat.answer.pending")
    assert first.returncode == EXIT_CODE and first.stdout == ""
    assert first.stderr == "rag: failpoint chat.answer.pending\n"
    third = _run("chat.answer.pending@3")
    assert third.returncode == EXIT_CODE and third.stdout == "after 1\nafter 2\n"


def test_pause_waits_for_stdin_then_carries_on():
    proc = subprocess.Popen(
        [sys.executable, "-c", THREE_HITS],
        cwd=ROOT,
        text=True,
        env={**os.environ, failpoints.ENV: "chat.answer.pending@2=pause"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr.readline() == f"rag: failpoint chat.answer.pending paused (pid {proc.pid})\n"
        assert proc.stdout.readline() == "after 1\n"
        assert proc.poll() is None  # still waiting: the second piece is not done
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.read() == "after 2\nafter 3\n"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_pause_at_every_hit_waits_each_time():
    proc = subprocess.Popen(
        [sys.executable, "-c", THREE_HITS],
        cwd=ROOT,
        text=True,
        env={**os.environ, failpoints.ENV: "chat.answer.pending@*=pause"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for i in range(1, 4):
            assert proc.stderr.readline() == f"rag: failpoint chat.answer.pending paused (pid {proc.pid})\n"
            proc.stdin.write("\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == f"after {i}\n"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_every_point_is_documented_and_placed_once():
    doc = failpoints.__doc__
    calls = []
    for path in (ROOT / "rag").rglob("*.py"):
        calls += re.findall(r"""\bfailpoint\(["']([^"']+)["']\)""", path.read_text(encoding="utf-8"))
    assert sorted(calls) == sorted(POINTS)
    for name in POINTS:
        assert f"``{name}``" in doc
