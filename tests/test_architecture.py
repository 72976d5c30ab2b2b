"""The folder tree is the architecture: checked, not just described."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: stages import only downward."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is part of the test extra"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_import_cycles_inside_the_package():
    import grimp

    graph = grimp.build_graph("rag")
    modules = sorted(m for m in graph.modules if m.startswith("rag"))
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("rag") and graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, cycles


def test_modules_stay_small():
    """The package, and the benchmarks, scripts and eval scripts beside it."""
    files = [p for folder in ("rag", "benchmarks", "scripts", "eval") for p in (ROOT / folder).rglob("*.py")]
    assert any(p.parts[-2] == "benchmarks" for p in files) and any(p.parts[-2] == "scripts" for p in files)
    big = {
        str(p.relative_to(ROOT)): n
        for p in files
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not big, big


def _project_files() -> list[Path]:
    """Every file git tracks or would track (not the ignored: .venv, built indexes, benchmark output)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    return [ROOT / name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def test_no_absolute_path_of_this_machine_anywhere():
    """Code, docs, reports, benchmarks and scripts name places relative to the
    project (the shared data folder is ../shared), never where one machine keeps them."""
    machine = f"{ROOT.parent}/"  # the folder this checkout sits in, where ../shared lives too
    if ROOT.parent == ROOT.parent.parent:
        pytest.skip("checked out at the root of the file system")
    found = [
        str(path.relative_to(ROOT))
        for path in _project_files()
        if path.is_file() and machine in path.read_bytes().decode("utf-8", "replace")
    ]
    assert not found, f"{machine} named in {found}"


def test_import_rag_loads_no_model_library_or_gradio():
    code = (
        "import sys, rag; heavy = [m for m in ('torch', 'onnxruntime', 'sentence_transformers', 'transformers', "
        "'gradio', 'faiss', 'numpy') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_public_names_resolve_lazily():
    import rag

    assert rag.Rag.__module__ == "rag.pipeline"
    assert callable(rag.build)
