"""``rag info``: what this rag can use (embedding models, retrievers,
answerability models, post-compose steps, document readers, all from their
registries) and what an index holds."""

from __future__ import annotations

from pathlib import Path

import click

from rag.cli.options import index_option
from rag.text import safe_json, safe_line


def _index_summary(index_dir: Path) -> dict:
    """The index's model, size and fingerprint, or why there is none to show."""
    from rag.errors import RagError
    from rag.index.load import load_index

    try:
        index = load_index(index_dir)
    except RagError as err:
        return {"folder": str(index_dir), "error": str(err)}
    from rag.index.stores import spec_of

    manifest = index.manifest
    return {
        "folder": str(index_dir),
        "model": manifest["model"]["name"],
        "dim": manifest["model"]["dim"],
        "documents": manifest["counts"]["documents"],
        "chunks": manifest["counts"]["chunks"],
        "built_at": manifest.get("built_at", ""),
        "fingerprint": index.fingerprint,
        "store": str(spec_of(manifest)),
    }


def registered() -> dict:
    from rag.answer.registry import ANSWERABILITY, DEFAULT_ANSWERABILITY, STEPS
    from rag.embed.models import MODELS, default_model_key, mpnet_installed
    from rag.ingest.loaders import LOADERS
    from rag.retrieval.base import REGISTERED
    from rag.retrieval.candidates import STORES
    from rag.retrieval.registry import RETRIEVERS
    from rag.settings import settings, tuning_for

    default = default_model_key()
    models = [
        {
            "key": m.key,
            "name": m.name,
            "description": m.description,
            "default": m.key == default,
            "installed": m.key != "mpnet" or mpnet_installed(),
            "fitted": tuning_for(m.name) is not None,
        }
        for m in MODELS.values()
    ]
    retrievers = [{"name": n, "description": REGISTERED[n].description} for n in RETRIEVERS]
    readers = [{"kind": r.kind, "suffixes": list(r.suffixes)} for r in LOADERS]
    configured = settings()
    chosen = configured.answerability or DEFAULT_ANSWERABILITY
    answerability = [
        {"name": a.name, "description": a.description, "chosen": a.name == chosen} for a in ANSWERABILITY.values()
    ]
    steps = [
        {"name": s.name, "description": s.description, "chosen": s.name in (configured.steps or ())}
        for s in STEPS.values()
    ]
    stores = [{"name": name, "description": description} for name, (description, _) in STORES.items()]
    return {
        "models": models,
        "retrievers": retrievers,
        "answerability": answerability,
        "steps": steps,
        "stores": stores,
        "readers": readers,
    }


@click.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(index_dir, as_json) -> None:
    """Show the embedding models, retrievers, answerability models, post-compose steps, candidate stores
    and document readers rag has, and the index's model, size and store.

    Models other than these work too: give --model a local sentence-transformers folder.
    """
    from rag.pipeline import default_index_dir

    data = {**registered(), "index": _index_summary(index_dir or default_index_dir())}
    if as_json:
        click.echo(safe_json(data, indent=1))
        return
    lines = ["Embedding models (--model; or any local sentence-transformers folder):"]
    for m in data["models"]:
        marks = [
            w
            for w, on in (
                ("default", m["default"]),
                ("not installed", not m["installed"]),
                ("answer weights fitted", m["fitted"]),
            )
            if on
        ]
        lines.append(f"  {m['key']:<8} {m['description']} [{', '.join(marks)}]")
    lines.append("Retrievers (--retriever):")
    lines += [f"  {r['name']:<8} {r['description']}" for r in data["retrievers"]]
    lines.append("Answerability models (RAG_ANSWERABILITY):")
    lines += [f"  {a['name']:<8} {a['description']}{' [chosen]' if a['chosen'] else ''}" for a in data["answerability"]]
    lines.append("Post-compose steps (RAG_STEPS, comma-separated; none by default):")
    lines += [f"  {s['name']:<8} {s['description']}{' [chosen]' if s['chosen'] else ''}" for s in data["steps"]]
    lines += ["  (none registered)"] if not data["steps"] else []
    lines.append("Candidate stores (rag index --store; env RAG_STORE):")
    lines += [f"  {s['name']:<8} {s['description']}" for s in data["stores"]]
    lines.append("Document readers (rag index, rag add):")
    lines += [f"  {r['kind']:<8} {' '.join(r['suffixes'])}" for r in data["readers"]]
    index = data["index"]
    if "error" in index:
        lines.append(f"Index {index['folder']}: {index['error']}")
    else:
        lines.append(
            f"Index {index['folder']}: {index['documents']} documents, {index['chunks']} chunks, "
            f"model {index['model']} ({index['dim']} dimensions), built {index['built_at']}, "
            f"fingerprint {index['fingerprint'][:16]}, candidates from the {index['store']} store"
        )
    click.echo("\n".join(safe_line(line) for line in lines))
