"""Copies of an index's candidate search kept in an engine outside rag (today: Milvus).

The index's own files stay the source of truth. A store other than ``local``
holds a copy of what the three candidate searches read (sentence vectors,
chunk vectors, chunk words for BM25: rag.retrieval.candidates), keyed by ids
that do not change while the unit does not; the manifest's ``store`` section
names the store (``candidates``) and records what it must hold
(``candidates_store``: target, collections, counts, a fingerprint of the ids),
so opening the index can check the copy against it.
"""

from __future__ import annotations

from rag.settings import LOCAL, StoreSpec

# The manifest's store section: which store answers candidate searches, and what it holds.
NAME_KEY = "candidates"
RECORD_KEY = "candidates_store"


def spec_of(manifest: dict | None) -> StoreSpec:
    """The store an index's manifest names (local when it names none)."""
    store = (manifest or {}).get("store") or {}
    name = str(store.get(NAME_KEY) or "local")
    if name == "local":
        return LOCAL
    return StoreSpec(name, str((store.get(RECORD_KEY) or {}).get("target", "")))


__all__ = ["LOCAL", "NAME_KEY", "RECORD_KEY", "StoreSpec", "spec_of"]
