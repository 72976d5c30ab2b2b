"""The ``milvus`` candidate store: the three candidate searches answered by Milvus.

Milvus holds a copy of the index's sentence vectors, chunk vectors and
chunk stems (rag.index.stores.milvus, which also keeps it in line and checks
it); this module only searches it. The rows' keys (document, span, vector
hash) are mapped back to the index's own sentence and chunk ids, so an index
narrowed to some documents (rag.index.subset) reads the same collections
with a filter on their document ids. Inside such a subset BM25 keeps the
whole collection's statistics (the local store recounts them over the
subset): the candidates may differ a little, never the scores, which are
computed from the index's files (rag.retrieval.scoring).
"""

from __future__ import annotations

import numpy as np

from rag.retrieval.store_registry import Query, register


@register(
    "milvus",
    "Milvus (the milvus extra): Milvus Lite in a .db file, or a server at http://HOST:PORT; "
    "dense and BM25 searches of its copy of the index",
)
class MilvusStore:
    name = "milvus"

    def __init__(self, index):
        from rag.index.stores.milvus import index_keys, open_checked

        self.index, self.copy = index, open_checked(index)
        keys = index_keys(index)
        self.ids = {kind: {key: i for i, key in enumerate(keys[kind])} for kind in keys}
        whole = set(index.documents) == set(index.manifest["documents"])
        self.filter = "" if whole else self._only(list(index.documents))

    @staticmethod
    def _only(doc_ids: list[str]) -> str:
        from rag.index.stores.milvus import quoted

        return f"doc_id in [{', '.join(quoted(d) for d in doc_ids)}]"

    def _dense(self, k: int) -> dict:
        from rag.index.stores.milvus import HNSW_EF

        # A server's HNSW searches a list of at least HNSW_EF (and k); Lite's FLAT is exact.
        return {"metric_type": "IP", **({} if self.copy.spec.lite else {"params": {"ef": max(k, HNSW_EF)}})}

    def _search(self, kind: str, data, field: str, k: int, params: dict) -> np.ndarray:
        """The index's ids of the ``k`` best rows of one search (keys it does not hold are dropped)."""
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        hits = self.copy.client.search(
            self.copy.name(kind),
            data=[data],
            anns_field=field,
            limit=min(k, 16384),
            filter=self.filter,
            search_params=params,
            output_fields=[],
        )
        known = self.ids[kind]
        return np.array([known[h["id"]] for h in hits[0] if h["id"] in known], dtype=np.int64)

    def sentences(self, query: Query, k: int) -> np.ndarray:
        return self._search("sentences", np.asarray(query.vector, dtype=np.float32), "vector", k, self._dense(k))

    def passages(self, query: Query, k: int) -> np.ndarray:
        from rag.index.lexical import question_stems

        dense = self._search("chunks", np.asarray(query.vector, dtype=np.float32), "vector", k, self._dense(k))
        stems = question_stems(query.text)
        if not stems:  # a question of stop words only: BM25 has nothing to match
            return dense
        bm25 = self._search("chunks", " ".join(stems), "sparse", k, {"metric_type": "BM25"})
        return np.union1d(dense, bm25)
