"""What `rag eval` does, kept out of cli.py so the CLI stays a thin shell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from rag.embed.base import TokenEmbedder
from rag.errors import CorpusError
from rag.evaluation.qa import load_qa
from rag.evaluation.report import comparison_text, load_baseline, metrics_table, table, write_report
from rag.evaluation.runner import evaluate, qa_label
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.pipeline import DEFAULT_RETRIEVER, Rag, default_index_dir, project_root
from rag.retrieval.registry import RETRIEVERS
from rag.text import safe, safe_json, safe_name

DEFAULT_QA = "eval/essays_qa.jsonl"
# MiniLM reads at most 256 word pieces, about 1,000 characters of an
# abstract: longer chunks would be cut, shorter ones split abstracts for nothing.
BEIR_CHUNKS = ChunkSettings(1000, 100)


def _progress() -> bool:
    return sys.stderr.isatty()


def run_qa(qa_path, index_dir, embedder: TokenEmbedder, retrievers, k, as_json, report_dir, baseline_path, sweep_grid):
    """``sweep_grid``: (size, overlap) pairs, already checked (rag.cli.options.check_sweep)."""
    from rag.evaluation.sweep import sweep

    qa_path = Path(qa_path or project_root() / DEFAULT_QA)
    if report_dir:
        # Now, not after the evaluation: a folder that cannot be made fails at once.
        Path(report_dir).mkdir(parents=True, exist_ok=True)
    rag = Rag.open(index_dir, embedder)
    items = load_qa(qa_path, rag.index.documents)
    label = qa_label(qa_path)
    baseline = load_baseline(baseline_path) if baseline_path else None
    scored = RETRIEVERS if report_dir else retrievers
    results = [evaluate(rag, items, label, r, k, progress=_progress()) for r in scored]
    chosen = [r for r in results if r.retriever in retrievers]
    sweep_rows = None
    if sweep_grid:
        folder = rag.index.manifest.get("corpus", {}).get("folder")
        if not folder or not Path(folder).is_dir():
            raise CorpusError(f"the sweep needs the corpus folder the index was built from ({folder})")
        sweep_rows = sweep(load_corpus(folder), items, label, embedder, RETRIEVERS, k, tuple(sweep_grid), _progress())
    if report_dir:
        m = rag.index.manifest
        settings = {
            "eval set": label,
            "index": _shown(Path(index_dir or default_index_dir())),
            "fingerprint": m["fingerprint"][:16],
            "model": m["model"]["name"],
            "chunk_size": m["chunking"]["chunk_size"],
            "chunk_overlap": m["chunking"]["chunk_overlap"],
            "chunks": m["counts"]["chunks"],
            "k": k,
            "command": "rag eval " + " ".join(sys.argv[2:]),
        }
        path = write_report(
            report_dir,
            results,
            retrievers[0] if len(retrievers) == 1 else DEFAULT_RETRIEVER,
            settings,
            sweep_rows,
            baseline,
        )
        click.echo(f"Wrote {safe_name(str(path))}", err=True)
    if as_json:
        payload = chosen[0].to_json() if len(chosen) == 1 else {"runs": [r.to_json() for r in chosen]}
        click.echo(safe_json(payload, indent=1))
        return
    # Labels and question ids come from the eval file: terminal-safe them.
    click.echo(f"{safe_name(label)}: {items and len(items)} questions, {sum(i.answerable for i in items)} answerable\n")
    click.echo(metrics_table(chosen))
    if sweep_rows:
        click.echo("\nChunk sweep:\n" + table(sweep_rows, list(sweep_rows[0])))
    if baseline:
        for r in chosen:
            click.echo(safe(f"\nAgainst the baseline ({r.retriever}):\n" + comparison_text(r, baseline)))


def run_beir(folder, split, retrievers, embedder: TokenEmbedder, chunk_size, chunk_overlap, as_json):
    from rag.evaluation.beir import evaluate_beir, load_beir, open_beir

    defaults = BEIR_CHUNKS
    settings = ChunkSettings(
        chunk_size or defaults.chunk_size, defaults.chunk_overlap if chunk_overlap is None else chunk_overlap
    )
    data = load_beir(folder, split)
    rag = open_beir(data, project_root() / "index" / "beir", embedder, settings, progress=True)
    results = [evaluate_beir(rag, data, r, progress=_progress()) for r in retrievers]
    for r in results:
        r.update(split=split, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    if as_json:
        click.echo(safe_json(results[0] if len(results) == 1 else {"runs": results}, indent=1))
        return
    first = results[0]
    heading = f"{data.name} ({split}): {first['n_queries']} queries, {first['n_documents']} documents"
    click.echo(safe_name(heading) + "\n")
    click.echo(
        table(
            [{"retriever": r["retriever"], **{m: f"{v:.3f}" for m, v in r["metrics"].items()}} for r in results],
            ["retriever", "ndcg@10", "recall@100", "mrr@10"],
        )
    )


def _shown(path: Path) -> str:
    """``path`` as a report records it: relative to the project when inside it,
    so that a committed report names no folder of the machine it ran on
    (the link itself: resolving it would name the generation behind it)."""
    try:
        return Path(os.path.abspath(path)).relative_to(project_root()).as_posix()
    except ValueError:
        return str(path)
