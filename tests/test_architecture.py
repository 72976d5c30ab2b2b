"""The folder tree is the architecture: checked, not just described."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "rag").rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not big, big


def test_import_rag_loads_no_model_library_or_gradio():
    code = ("import sys, rag; heavy = [m for m in ('torch', 'onnxruntime', 'sentence_transformers', 'transformers', "
            "'gradio', 'faiss', 'numpy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_public_names_resolve_lazily():
    import rag

    assert rag.Rag.__module__ == "rag.pipeline"
    assert callable(rag.build)
