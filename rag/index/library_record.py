"""How added and removed documents are written in (and read from) the manifest.

Under ``corpus``: ``added`` (one record per added document, sorted by id) and
``removed`` (ids of corpus-folder documents taken out), each only when not
empty, so an index that was never changed by ``rag add``/``rag remove`` has
the manifest it always had, and removing what was added restores it exactly.
"""

from __future__ import annotations

from dataclasses import asdict

from rag.types import Added, Corpus

_FIELDS = ("doc_id", "file", "kind", "source_sha256", "added_at")


def library_record(corpus: Corpus) -> dict:
    record: dict = {}
    if corpus.added:
        record["added"] = [asdict(a) for a in sorted(corpus.added, key=lambda a: a.doc_id)]
    if corpus.removed:
        record["removed"] = sorted(set(corpus.removed))
    return record


def read_record(manifest: dict) -> tuple[tuple[Added, ...], tuple[str, ...]]:
    """(added, removed) from a manifest; a manifest from before ``rag add`` has neither."""
    corpus = manifest.get("corpus") or {}
    added = tuple(Added(**{k: str(row[k]) for k in _FIELDS}) for row in corpus.get("added") or ())
    removed = tuple(str(d) for d in corpus.get("removed") or ())
    return added, removed
