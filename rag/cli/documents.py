"""``rag add``, ``rag remove`` and ``rag list``: the documents of an index.

All three work on the index's own copy of its documents (rag.index.library);
the corpus folder is never written to. rag.cli.main registers them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rag.cli.options import index_option, model_option
from rag.errors import RagError
from rag.ingest.loaders import SUFFIXES
from rag.pipeline import default_index_dir
from rag.text import safe_json, safe_line, safe_name, valid_text


def _files(paths: tuple[Path, ...]):
    """Each named file, and every document under each named folder, found as `rag index`
    finds a corpus's (rag.ingest.corpus.list_corpus): hidden ones passed over; links out
    of the folder, links to folders, FIFOs and devices skipped with a warning, never opened."""
    from rag.index.library import Incoming
    from rag.ingest.corpus import list_corpus

    out = []
    for path in paths:
        if path.is_dir():
            found, skipped = list_corpus(path)
            for s in skipped:
                click.echo(f"rag: warning: skipped {safe_name(s.path)}: {safe_line(s.reason)}", err=True)
            out += [Incoming(valid_text(p.name), p) for p in found]
        elif path.is_file():
            out.append(Incoming(valid_text(path.name), path))
        else:
            raise RagError(f"{path} is not a file or folder; nothing was added")
    if not out:
        raise RagError(
            f"no file of a type rag reads ({', '.join(SUFFIXES)}) in {', '.join(map(str, paths))}; nothing was added"
        )
    return out


def _ids(ids) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return safe_line(shown)


_ADD_HELP = f"""Add documents to the index: files or folders of {", ".join(SUFFIXES[:-1])} or {SUFFIXES[-1]}.

Only new or changed files are read and embedded. A file that cannot be
added gets one line saying why and changes nothing (exit status 1).
Limits: RAG_MAX_FILE_MB (20 MB a file), RAG_PARSE_SECONDS (60) and
RAG_PARSE_MEMORY_MB (1024) for reading each file.
"""


@click.command(help=_ADD_HELP)  # the file types from the loaders' registry (rag.ingest.loaders)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@model_option
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary.")
def add(paths, index_dir, model_path, quiet) -> None:
    from rag.embed.auto import default_embedder
    from rag.index.library import add_files

    index_dir = index_dir or default_index_dir()
    files = _files(paths)

    def reading(n: int, total: int, name: str) -> None:
        if not quiet:
            click.echo(f"Reading {safe_line(name)} ({n}/{total})", err=True)

    report = add_files(index_dir, files, default_embedder(model_path), progress=not quiet, on_file=reading)
    for refused in report.refused:
        click.echo(f"rag: error: {safe_line(refused.path)}: {safe_line(refused.reason)}; not added", err=True)
    if not quiet:
        parts = []
        if report.added:
            parts.append(f"added {len(report.added)} ({_ids(report.added)})")
        if report.updated:
            parts.append(f"updated {len(report.updated)} ({_ids(report.updated)})")
        if report.unchanged:
            parts.append(f"{len(report.unchanged)} unchanged")
        summary = "; ".join(parts) or "nothing added"
        click.echo(f"{summary[0].upper()}{summary[1:]} in {index_dir}")
    if report.refused:
        sys.exit(1)


@click.command()
@click.argument("doc_ids", nargs=-1, required=True)
@index_option
@model_option
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary.")
def remove(doc_ids, index_dir, model_path, quiet) -> None:
    """Remove documents (by DOC_ID, as `rag list` shows) from the index.

    Removing a document that was added restores the index it was added to.
    A document from the corpus folder stays out of this index until added
    back; the folder itself is never changed.
    """
    from rag.embed.auto import default_embedder
    from rag.index.library import remove_documents

    index_dir = index_dir or default_index_dir()
    report = remove_documents(index_dir, list(doc_ids), default_embedder(model_path), progress=not quiet)
    if not quiet:
        held = report.build.documents if report.build else 0
        click.echo(f"Removed {_ids(report.removed)} from {index_dir} ({held} documents left)")


@click.command(name="list")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def list_command(index_dir, as_json) -> None:
    """List the index's documents: id, title, type, pages or paragraphs, when added."""
    from dataclasses import asdict

    from rag.index.library import entries, read_library

    index_dir = index_dir or default_index_dir()
    library = read_library(index_dir)
    rows = entries(library.documents, library.manifest)
    if as_json:
        click.echo(safe_json({"index": str(index_dir), "documents": [asdict(r) for r in rows]}, indent=1))
        return
    for r in rows:
        size = f"{r.pages} pages, {r.paragraphs} ¶" if r.pages else f"{r.paragraphs} ¶"
        when = f"added {r.added_at}" if r.added_at else "from the corpus folder"
        click.echo(safe_line(f"{r.doc_id}  {r.title}  [{r.kind}, {size}, {when}]"))
    click.echo(f"{len(rows)} documents in {index_dir}")
