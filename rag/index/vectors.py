"""FAISS index choice and (de)serialisation, kept apart from the file layout.

Index by size (figures from benchmarks/RESULTS.md, 384-d, one thread):
- below EXACT_LIMIT vectors, ``IndexFlatIP``: exact, no training, and a
  query scans everything in about 2 ms at the limit;
- above it, ``IndexIVFFlat`` (inner product): vectors are bucketed by a
  k-means coarse quantizer and a query scans ``nprobe`` buckets. Chosen over
  HNSW because it builds in about two minutes rather than many at 1M on two
  cores, stores no graph (less memory) and supports ``remove_ids``. nprobe
  is set so a query scans about 8k vectors, which held recall@10 ≥ 0.95
  against exact search. Every build trains its quantizer afresh: reusing the
  previous one saved 5–7 s of a 100k rebuild and ~45 s at 1M
  (benchmarks/RESULTS.md), a small share of what embedding and BM25 take
  there, for code that never ran below EXACT_LIMIT.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorrupt

# Below this many vectors an exact search is both fast and perfect.
EXACT_LIMIT = 50_000
# k-means sees at most this many training points per list: enough for
# stable centroids, and it bounds training time at 1M vectors.
TRAIN_POINTS_PER_LIST = 64
SEED = 1234


def ivf_lists(n: int) -> int:
    """Number of inverted lists: about 2·√n, a power of two."""
    return 2 ** max(4, round(math.log2(2 * math.sqrt(max(n, 1)))))


# Vectors a query scans at least: with ~8k candidates recall@10 against exact
# search stayed ≥ 0.95 from 100k to 1M (benchmarks/RESULTS.md, nprobe sweep),
# and scanning them takes about a millisecond on one core.
SCAN_AT_LEAST = 8192


def ivf_nprobe(nlist: int, n: int) -> int:
    """Lists scanned per query: enough lists to cover SCAN_AT_LEAST vectors, at least 16."""
    per_list = max(n / max(nlist, 1), 1.0)
    return int(min(nlist, max(16, math.ceil(SCAN_AT_LEAST / per_list))))


def make_vector_index(vectors: np.ndarray):
    """A searchable index of ``vectors`` (unit length), row i = id i."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n < EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
        if n:
            index.add(vectors)
        return index
    nlist = ivf_lists(n)
    ivf: Any = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = min(n, nlist * TRAIN_POINTS_PER_LIST)
    rows = np.sort(np.random.default_rng(SEED).choice(n, sample, replace=False))
    ivf.cp.seed = SEED
    ivf.train(vectors[rows])
    ivf.nprobe = ivf_nprobe(ivf.nlist, n)
    ivf.add(vectors)
    # Lets reconstruct_all() return row i, which rebuilds use to reuse vectors.
    ivf.make_direct_map()
    return ivf


def describe(index) -> dict:
    """Parameters that shape search results, for the manifest."""
    params: dict[str, Any] = {"type": type(index).__name__}
    if hasattr(index, "nlist"):
        params.update(nlist=int(index.nlist), nprobe=int(index.nprobe))
    return params


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
