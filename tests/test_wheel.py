"""rag as a user installs it: a built wheel in a fresh virtual environment,
run from a folder outside the checkout, so nothing in the checkout can be
what makes it work. `rag index`, `rag ask` and `rag serve` must all run
(the chat page is inside the package).

Nothing is downloaded: the wheel is installed with --no-deps, and the fresh
environment sees this environment's packages (the dependencies) through a
.pth file placed after its own site-packages.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.model]

# What a checkout holds beside the package's source, which a build must not need.
NOT_SOURCE = {".venv", ".git", "index", "build", "benchmarks", "corpus", "eval", "tests", "ui", ".pytest_cache"}


def _source_only(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT
    return {n for n in names if n == "__pycache__" or n.endswith(".egg-info") or (top and n in NOT_SOURCE)}


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the fresh environment's bin folder, an empty working folder, its environment variables)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_source_only)
    dist = base / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source],
        base,
        dict(os.environ),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("rag-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every file of the package, modules and data (such as rag/tuning/*.json), and nothing else.
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "rag").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "rag/chat/app.py" in package and package - names == set()
    assert not [n for n in names if n.startswith(("tests/", "ui/", "benchmarks/", "corpus/"))]

    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    done = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel],
        base,
        dict(os.environ),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base, dict(os.environ)
        ).stdout.strip()
    )
    # After the fresh site-packages on sys.path, so the wheel's rag comes first.
    (site / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = base / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    )
    if "RAG_CACHE" in os.environ:  # the onnx export, made once per machine
        env["RAG_CACHE"] = os.environ["RAG_CACHE"]
    return env_dir / "bin", work, env


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    bin_dir, work, env = installed
    where = _run(
        [bin_dir / "python", "-c", "import rag.chat.app, rag.pipeline; print(rag.chat.app.__file__)"], work, env
    )
    assert where.returncode == 0, where.stderr
    found = Path(where.stdout.strip())
    assert found.is_relative_to(bin_dir.parent) and not found.is_relative_to(ROOT)


def test_index_without_a_corpus_says_what_to_pass(installed):
    """Outside a checkout there are no bundled essays: the default corpus is ./corpus."""
    bin_dir, work, env = installed
    result = _run([bin_dir / "rag", "index"], work, env)
    assert result.returncode == 1
    assert result.stderr == (
        f"rag: error: no corpus folder at {work / 'corpus'} (outside a checkout of rag the "
        f"default is ./corpus); pass --corpus FOLDER or set RAG_CORPUS\n"
    )


def test_index_ask_and_serve_from_the_wheel(installed, tmp_path):
    bin_dir, work, env = installed
    corpus = tmp_path / "essays"
    shutil.copytree(CORPUS, corpus)
    built = _run([bin_dir / "rag", "index", "--corpus", corpus, "-q"], work, env)
    assert built.returncode == 0 and built.stderr == "", built.stderr
    assert (work / "index" / "default" / "manifest.json").is_file()  # beside the user, not in the package

    asked = _run([bin_dir / "rag", "ask", "Who is Michael Kofman?"], work, env)
    assert asked.returncode == 0, asked.stderr
    assert "Kofman" in asked.stdout and "[1] Putin Needs an Off-Ramp" in asked.stdout

    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as sink:
        server = subprocess.Popen(
            [bin_dir / "rag", "serve", "--port", str(port)],
            cwd=work,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline, page = time.monotonic() + 120, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        # The port opens inside Gradio's launch; the line follows once launch returns.
        while time.monotonic() < deadline and server.poll() is None and "Serving" not in log.read_text():
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
    out = log.read_text()
    assert "<html" in page.lower(), f"rag serve from the wheel did not come up: {out}"
    assert f"Serving the chat page on http://127.0.0.1:{port}" in out and "Traceback" not in out
