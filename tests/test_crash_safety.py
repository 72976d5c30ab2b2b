"""`kill -9` of a real `rag index` at many moments, and two real builds at once.

After every kill the previous index must load (every file checked against the
manifest, every chunk against its document) and the next build must succeed
and clean up what the killed one left behind.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.index.build import build_index
from rag.index.load import load_index
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow

# Big chunks: few vectors to embed for the first build, but enough text that
# writing a generation (JSON lines, BM25, checksums, fsyncs) takes a while.
SETTINGS = ChunkSettings(4000, 0)
NAME = "big"


def _cmd(corpus: Path, index_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index_dir),
            "--chunk-size", str(SETTINGS.chunk_size), "--chunk-overlap", str(SETTINGS.chunk_overlap), "-q", *extra]


def _env() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAG_DEBUG", None)
    return env


@pytest.fixture(scope="module")
def big(tmp_path_factory, embedder):
    """40 generated essays and their index, built once in-process."""
    root = tmp_path_factory.mktemp("crash")
    corpus = root / "corpus"
    corpus.mkdir()
    rng = random.Random(7)
    words = (CORPUS / "putin-needs-an-off-ramp.txt").read_text(encoding="utf-8").split()
    for i in range(40):
        text = " ".join(rng.choice(words) for _ in range(800))
        (corpus / f"essay-{i:02d}.txt").write_text(f"Essay Number {i} Title\n\n{text}", encoding="utf-8")
    index_dir = root / "index" / NAME
    build_index(load_corpus(corpus), index_dir, embedder, SETTINGS)
    return corpus, index_dir


def _gen_entries(parent: Path) -> set[str]:
    return {n for n in os.listdir(parent) if n.startswith(f".{NAME}.") and not n.endswith(".lock")}


def _wait_for(proc: subprocess.Popen, ready, limit: float = 120.0) -> bool:
    """Poll every millisecond until ``ready()``; False if the build ended first."""
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.001)
    return False


def _new_text(round_: int) -> str:
    return f"Fresh Essay Round {round_}\n\nGardens need water in round {round_}. Tomatoes need sun."


# (kill point, extra delay range in seconds after it). "lock": the build holds
# the lock (loading the old index, the model, embedding); "staging": its new
# generation folder has just appeared; random delays spread the kills over the
# embedding, the writing of the files and the swap.
KILL_POINTS = [
    ("lock", (0.0, 0.0)),
    ("lock", (0.2, 2.0)),
    ("staging", (0.0, 0.0)),
    ("staging", (0.0, 0.03)),
    ("staging", (0.01, 0.08)),
    ("staging", (0.0, 0.2)),
    ("lock", (0.5, 4.0)),
]


def test_kill_9_at_any_moment_leaves_the_previous_index(big):
    corpus, index_dir = big
    parent = index_dir.parent
    rng = random.Random(2026)
    published = load_index(index_dir)
    new_path = corpus / "fresh.txt"
    killed_mid_write = 0
    for round_, (point, (lo, hi)) in enumerate(KILL_POINTS):
        new_path.write_text(_new_text(round_), encoding="utf-8")  # every round has work to do
        current = os.readlink(index_dir)
        stale = _gen_entries(parent)  # left by the previous kill; this build removes them first
        before = published.fingerprint
        proc = subprocess.Popen(_cmd(corpus, index_dir), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        lock = parent / f".{NAME}.lock"
        if point == "lock":
            reached = _wait_for(proc, lambda: lock.read_text().strip() == f"pid {proc.pid}")
        else:
            reached = _wait_for(proc, lambda: any(".gen-" in n for n in _gen_entries(parent) - stale))
        assert reached, f"round {round_}: build ended before {point}: {proc.stderr.read().decode()}"
        time.sleep(rng.uniform(lo, hi))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()

        loaded = load_index(index_dir)  # checks every file and every chunk offset
        if loaded.fingerprint == before:
            assert loaded.documents.get("fresh") == published.documents.get("fresh")
        else:  # the kill came after the swap: then it is the complete new index
            assert loaded.documents["fresh"].text == _new_text(round_)
        if hi == 0:  # killed the moment the lock or the staging folder appeared: nothing published
            assert proc.returncode == -signal.SIGKILL and loaded.fingerprint == before
        if loaded.fingerprint == before and point == "staging":
            assert _gen_entries(parent) - stale - {current}, "the killed build's staging folder should be left"
            killed_mid_write += 1
        published = loaded
    assert killed_mid_write >= 1

    # The next build succeeds, publishes the last corpus and removes every leftover.
    done = subprocess.run(_cmd(corpus, index_dir), env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = load_index(index_dir)
    assert final.documents["fresh"].text == _new_text(len(KILL_POINTS) - 1)
    assert _gen_entries(parent) == {os.readlink(index_dir)}
    assert lock.read_text() == ""  # released, and the kernel dropped the killed builds' locks


def test_two_builds_at_once_one_builds_the_other_is_refused_or_finds_it_done(tmp_path, essays_index):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index" / "default"
    index_dir.parent.mkdir()
    # Start from a copy of a built index so that both builds load and check it.
    shutil.copytree(essays_index.path.resolve(), index_dir.parent / ".default.gen-copy")
    os.symlink(".default.gen-copy", index_dir)
    with open(corpus / "garden.txt", "w", encoding="utf-8") as f:
        f.write("Garden Notes Today\n\nTomatoes need full sun and steady water.")
    cmd = [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index_dir)]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    outcomes = []
    for code, out, err in results:
        assert "Traceback" not in err
        if code == 0 and out.startswith("Indexed 3 documents"):
            outcomes.append("built")
        elif code == 0 and "is up to date" in out:
            outcomes.append("up to date")  # started after the other one had finished
        else:
            # "by pid N", or "by another process" when it read the lock file in the
            # instant between the holder emptying it and writing its pid.
            assert code == 1 and err.strip().startswith("rag: error: ") and "is being built by " in err, err
            assert len(err.strip().splitlines()) == 1
            outcomes.append("refused")
    assert sorted(outcomes) in (["built", "refused"], ["built", "up to date"]), outcomes
    index = load_index(index_dir)
    assert sorted(index.documents) == ["garden", *sorted(p.stem for p in CORPUS.glob("*.txt"))]
    assert _gen_entries_named(index_dir) == {os.readlink(index_dir)}


def test_build_refused_while_another_holds_the_lock(tmp_path, essays_index):
    """Deterministic half of the above: a real build started while the lock is held is refused, and
    leaves the index as it was."""
    from rag.index.generations import build_lock

    index_dir = tmp_path / "index" / "default"
    index_dir.parent.mkdir()
    shutil.copytree(essays_index.path.resolve(), index_dir.parent / ".default.gen-copy")
    os.symlink(".default.gen-copy", index_dir)
    before = load_index(index_dir).fingerprint
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from rag.index.build import build_lock\n"
         "with build_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(120)",
         str(index_dir)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = subprocess.run(
            [sys.executable, "-m", "rag.cli", "index", "--corpus", str(CORPUS), "--index", str(index_dir), "--force"],
            env=_env(), capture_output=True, text=True, timeout=300)
        assert result.returncode == 1
        assert result.stderr.strip() == f"rag: error: {index_dir} is being built by pid {holder.pid}; wait for it to finish"
    finally:
        holder.kill()
        holder.wait()
    assert load_index(index_dir).fingerprint == before
    with build_lock(index_dir):  # the kernel released the dead holder's lock
        pass


def _gen_entries_named(index_dir: Path) -> set[str]:
    return {n for n in os.listdir(index_dir.parent) if n.startswith(f".{index_dir.name}.") and not n.endswith(".lock")}


def test_loading_while_builds_swap_the_index(tmp_path, essays_index):
    """A reader (a server reloading, `rag ask`) must never see half of one
    generation and half of the next while a real build process swaps them."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index" / "default"
    index_dir.parent.mkdir()
    shutil.copytree(essays_index.path.resolve(), index_dir.parent / ".default.gen-copy")
    os.symlink(".default.gen-copy", index_dir)
    # Each round changes one document, so consecutive generations differ in every file.
    builder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom pathlib import Path\nfrom rag.pipeline import build\n"
        "corpus, index = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "for i in range(8):\n"
        "    (corpus / 'extra.txt').write_text(f'Extra Essay Title\\n\\nRound {i} ' + 'words ' * (50 + i * 40))\n"
        "    build(corpus, index)\n"
        "    print('built', i, flush=True)\n"), str(corpus), str(index_dir)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, loads, errors = set(), 0, []
    while builder.poll() is None:
        try:
            seen.add(load_index(index_dir).fingerprint)
        except Exception as err:  # noqa: BLE001 - any failure is the finding
            errors.append(f"{type(err).__name__}: {err}")
        loads += 1
        time.sleep(0.002)  # leave the shared cores to the builder
    out, err = builder.communicate()
    assert builder.returncode == 0, err
    assert out.count("built") == 8
    assert errors == [], f"{len(errors)} of {loads} loads failed: {errors[:3]}"
    assert len(seen) >= 3  # the loads really did straddle several swaps


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
