"""``rag check``: read and hash every document of an index's corpus folder.

Opening an index compares the folder by file sizes and times only
(rag.index.freshness); this reads each file as `rag index` would and compares
its text's sha256 with the index's, for the doubt that an edit kept both.
"""

from __future__ import annotations

from pathlib import Path

import click

from rag.cli.options import index_option
from rag.text import safe_line


@click.command()
@index_option
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Corpus folder to compare with. [default: the one the index was built from]",
)
def check(index_dir, corpus_dir) -> None:
    """Check that the index still matches its corpus folder, reading every file.

    Exits 0 when every document's text is the one indexed, 1 (with what
    differs and the command that fixes it) when not.
    """
    from rag.errors import RagError
    from rag.index.library import expected_documents
    from rag.index.load import load_index, rebuild_hint
    from rag.index.manifest import Expected, check_manifest
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import default_index_dir

    index_dir = Path(index_dir or default_index_dir())
    index = load_index(index_dir)
    folder = corpus_dir or (index.manifest.get("corpus") or {}).get("folder")
    if not folder or not Path(folder).is_dir():
        raise RagError(f"{index_dir} names no corpus folder that exists ({folder or 'none'}); give one with --corpus")
    current = expected_documents(index.manifest, {d.doc_id: d.sha256 for d in load_corpus(folder).documents})
    check_manifest(index.manifest, index_dir, Expected(documents=current), rebuild_hint(index_dir))
    click.echo(safe_line(f"{index_dir} matches {folder}: {len(current)} documents, every text as indexed"))
