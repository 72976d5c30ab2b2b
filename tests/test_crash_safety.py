"""A real `rag index` stopped at each moment of a build, two builds at once,
and readers during a build, made deterministic with failpoints (rag/failpoints.py):
the build exits (os._exit, nothing cleaned up) or pauses at a named point
instead of being killed after a guessed delay.

After every stop the previous index, or the whole new one, must load (every
file checked against the manifest, every chunk against its document), and
the next build must succeed and remove what the stopped one left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.failpoints import ENV, EXIT_CODE
from rag.index.build import build_index
from rag.index.generations import MANIFEST, build_lock
from rag.index.load import load_index
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from tests.conftest import CORPUS, Paused

pytestmark = pytest.mark.slow

# The moments of a build, in order (rag.failpoints.POINTS says what each is).
BUILD_POINTS = (
    "index.build.locked",
    "index.build.files_written",
    "index.build.manifest_written",
    "index.publish.before_swap",
    "index.publish.after_swap",
)
FRESH = "Fresh Essay Title\n\nGardens need water in the dry weeks. Tomatoes need sun."


def _env(failpoint: str | None = None) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_DEBUG", None)
    env.pop(ENV, None)
    if failpoint:
        env[ENV] = failpoint
    return env


def _cmd(corpus: Path, index_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index_dir), *extra]


def _build(corpus: Path, index_dir: Path, failpoint: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(corpus, index_dir), env=_env(failpoint), capture_output=True, text=True, timeout=300)


def _paused(corpus: Path, index_dir: Path, points: str) -> Paused:
    """A build running with pause failpoints."""
    return Paused(_cmd(corpus, index_dir), _env(points))


@pytest.fixture
def copied(tmp_path, essays_index):
    """The bundled essays and a copy of their built index, as a build leaves them (a link to a generation)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index" / "default"
    index_dir.parent.mkdir()
    shutil.copytree(essays_index.path.resolve(), index_dir.parent / ".default.gen-copy")
    os.symlink(".default.gen-copy", index_dir)
    return corpus, index_dir


def _leftovers(index_dir: Path) -> set[str]:
    """What builds of this index keep beside it, the current generation included."""
    return {n for n in os.listdir(index_dir.parent) if n.startswith(f".{index_dir.name}.") and not n.endswith(".lock")}


def _assert_next_build_publishes_and_cleans_up(corpus: Path, index_dir: Path) -> None:
    done = _build(corpus, index_dir)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    final = load_index(index_dir)
    assert final.documents["fresh"].text == FRESH
    assert _leftovers(index_dir) == {os.readlink(index_dir)}
    assert (index_dir.parent / ".default.lock").read_text() == ""  # released


@pytest.mark.parametrize("point", BUILD_POINTS)
def test_a_build_stopped_at_each_moment_leaves_a_whole_index(copied, point):
    corpus, index_dir = copied
    before = load_index(index_dir)
    old = os.readlink(index_dir)
    (corpus / "fresh.txt").write_text(FRESH, encoding="utf-8")
    stopped = _build(corpus, index_dir, point)
    assert stopped.returncode == EXIT_CODE, stopped.stderr
    assert stopped.stderr.endswith(f"rag: failpoint {point}\n")

    loaded = load_index(index_dir)  # checks every file and every chunk offset
    left = _leftovers(index_dir) - {os.readlink(index_dir)}
    staging = [n for n in left if n.startswith(".default.gen-") and (index_dir.parent / n).is_dir()]
    if point == "index.publish.after_swap":  # published: the whole new index; the old one is not yet removed
        assert loaded.documents["fresh"].text == FRESH and loaded.fingerprint != before.fingerprint
        assert left == {old}
    else:  # not published: exactly the previous index
        assert os.readlink(index_dir) == old and loaded.fingerprint == before.fingerprint
        assert "fresh" not in loaded.documents
        if point == "index.build.locked":
            assert left == set()
        else:
            assert len(staging) == 1, left
            has_manifest = (index_dir.parent / staging[0] / MANIFEST).is_file()
            assert has_manifest == (point != "index.build.files_written")
            links = left - set(staging)
            if point == "index.publish.before_swap":  # the link to swap in, pointing at the new generation
                (link,) = links
                assert link.startswith(".default.link-") and os.readlink(index_dir.parent / link) == staging[0]
            else:
                assert links == set()
    _assert_next_build_publishes_and_cleans_up(corpus, index_dir)


def test_kill_9_while_the_new_generation_is_written(copied):
    """One real signal: `kill -9` (what docs/operating.md promises survives) while the
    build is paused with its files half-published, lock held."""
    corpus, index_dir = copied
    before = load_index(index_dir).fingerprint
    (corpus / "fresh.txt").write_text(FRESH, encoding="utf-8")
    build = _paused(corpus, index_dir, "index.build.files_written=pause")
    try:
        build.reached("index.build.files_written")
        os.kill(build.proc.pid, signal.SIGKILL)
        assert build.proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        build.kill()
    assert load_index(index_dir).fingerprint == before
    assert any(n.startswith(".default.gen-") for n in _leftovers(index_dir) - {os.readlink(index_dir)})
    with build_lock(index_dir):  # the kernel released the killed build's lock
        pass
    _assert_next_build_publishes_and_cleans_up(corpus, index_dir)


def test_a_second_build_while_one_holds_the_lock_is_refused_with_its_pid(copied):
    corpus, index_dir = copied
    before = load_index(index_dir).fingerprint
    (corpus / "fresh.txt").write_text(FRESH, encoding="utf-8")
    first = _paused(corpus, index_dir, "index.build.locked=pause")
    try:
        first.reached("index.build.locked")
        second = _build(corpus, index_dir)
        assert second.returncode == 1
        pid = first.proc.pid
        assert second.stderr == f"rag: error: {index_dir} is being built by pid {pid}; wait for it to finish\n"
        assert load_index(index_dir).fingerprint == before
        first.release()
        code, out = first.finish()
    finally:
        first.kill()
    assert code == 0 and out.startswith("Indexed 3 documents"), out
    third = _build(corpus, index_dir)
    assert third.returncode == 0 and "is up to date" in third.stdout, third.stderr
    index = load_index(index_dir)
    assert sorted(index.documents) == ["fresh", *sorted(p.stem for p in CORPUS.glob("*.txt"))]
    assert _leftovers(index_dir) == {os.readlink(index_dir)}


def test_a_reader_at_every_moment_of_a_build_sees_one_whole_generation(copied):
    """A server reloading or a `rag ask` that loads while a build runs reads
    the old index until the link is swapped, the whole new one after, never a mix."""
    corpus, index_dir = copied
    before = load_index(index_dir).fingerprint
    (corpus / "fresh.txt").write_text(FRESH, encoding="utf-8")
    points = BUILD_POINTS[1:]
    build = _paused(corpus, index_dir, ",".join(f"{p}=pause" for p in points))
    try:
        for point in points:
            build.reached(point)
            seen = load_index(index_dir)
            if point == "index.publish.after_swap":
                assert seen.fingerprint != before and seen.documents["fresh"].text == FRESH
            else:
                assert seen.fingerprint == before and "fresh" not in seen.documents
            build.release()
        code, _ = build.finish()
    finally:
        build.kill()
    assert code == 0
    assert load_index(index_dir).documents["fresh"].text == FRESH
    assert _leftovers(index_dir) == {os.readlink(index_dir)}


def test_a_build_never_touches_a_neighbouring_index_or_a_users_folder(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    small = ChunkSettings(2000, 0)
    parent = tmp_path / "index"
    build_index(load_corpus(corpus), parent / "a.b", embedder, small)  # `.a.b.gen-*` starts with `.a.`
    neighbour = load_index(parent / "a.b").fingerprint
    build_index(load_corpus(corpus), parent / "a", embedder, small)
    build_index(load_corpus(corpus), parent / "a", embedder, small, force=True)
    assert load_index(parent / "a.b").fingerprint == neighbour

    # A user who keeps the index elsewhere and links to it: the rebuild replaces
    # the link, the user's own folder is left alone.
    mine = tmp_path / "my-index-folder"
    shutil.copytree((parent / "a").resolve(), mine)
    (mine / "my-notes.txt").write_text("keep me")
    link = parent / "linked"
    os.symlink(mine, link)
    build_index(load_corpus(corpus), link, embedder, small, force=True)
    assert (mine / "my-notes.txt").read_text() == "keep me" and (mine / "manifest.json").is_file()
    assert load_index(link).chunks
