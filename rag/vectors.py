"""FAISS index choice and (de)serialisation, kept apart from the file layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.errors import IndexCorrupt

# Below this many vectors an exact search is both fast and perfect.
EXACT_LIMIT = 200_000


def make_vector_index(vectors: np.ndarray):
    import faiss

    n, dim = vectors.shape
    if n < EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_vector_index(index) -> bytes:
    import faiss

    return faiss.serialize_index(index).tobytes()


def read_vector_index(data: bytes, index_dir: Path, hint: str):
    import faiss

    try:
        return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except RuntimeError as err:
        raise IndexCorrupt(f"{index_dir}/vectors.faiss cannot be read by FAISS; {hint}") from err


def reconstruct_all(index) -> np.ndarray:
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


def search(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ids and inner-product scores, best first."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]
