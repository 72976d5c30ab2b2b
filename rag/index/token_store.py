"""The word-piece vectors of a corpus, stored compactly and decoded per question.

MaxSim (rag.retrieval.scoring) compares each question word piece with every
word piece of the candidate sentences, so the index keeps one contextual
vector per word piece of the corpus: about 234,000 per MB of text
(SciFact abstracts, all-mpnet-base-v2), 360 MB per MB as float16. Two codecs:

- ``f16``: the vectors as float16, for corpora under PQ_MIN_TOKENS word
  pieces (a quarter of a MB of text), where they cost little and a codebook
  would have few vectors to learn from;
- ``pq``: product quantisation (FAISS's ProductQuantizer, the library's own
  well-tested k-means and codes): PQ_M sub-vectors of 768 / PQ_M dimensions,
  each replaced by the nearest of 256 centroids, so a word piece is PQ_M
  bytes. The codebook is learned once, at an index's first build, from up to
  PQ_TRAIN word pieces, and kept by later builds of the same index, which
  encode only new word pieces.
benchmarks/corpus_scale.py measures the size, time and answers of both.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

F16, PQ = "f16", "pq"
PQ_MIN_TOKENS = 65_536
PQ_M = 64
PQ_BITS = 8
PQ_TRAIN = 16_384  # 64 per centroid, FAISS's own floor is 39
PQ_ITERATIONS = 12
PQ_SEED = 1234


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_view(data: bytes) -> np.ndarray:
    """An .npy file's array read in place from its bytes (read-only), not copied
    out as np.load does: the word-piece codes are most of a big index (120 MB at
    5,183 abstracts). Object arrays are refused, as np.load(allow_pickle=False) does."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        return np.load(io.BytesIO(data), allow_pickle=False)
    if dtype.hasobject:
        raise ValueError("an array of objects is not an index array")
    count = int(np.prod(shape, dtype=np.int64))
    array = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    return array.reshape(shape, order="F" if fortran else "C")


class Codebook:
    """A trained product quantiser: encode float vectors to codes and back."""

    def __init__(self, centroids: np.ndarray):
        import faiss

        m, k, dsub = centroids.shape
        if k != 1 << PQ_BITS or not np.isfinite(centroids).all():
            raise ValueError("the word-piece codebook is malformed")
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        self.pq: Any = faiss.ProductQuantizer(m * dsub, m, PQ_BITS)  # faiss's stubs miss decode's return
        faiss.copy_array_to_vector(self.centroids.ravel(), self.pq.centroids)
        self.dim = m * dsub

    @classmethod
    def train(cls, vectors: np.ndarray) -> "Codebook":
        import faiss

        dim = vectors.shape[1]
        rng = np.random.default_rng(PQ_SEED)
        sample = (
            vectors if len(vectors) <= PQ_TRAIN else vectors[np.sort(rng.choice(len(vectors), PQ_TRAIN, replace=False))]
        )
        pq = faiss.ProductQuantizer(dim, PQ_M, PQ_BITS)
        pq.cp.seed = PQ_SEED  # the same corpus gives the same codebook
        pq.cp.niter = PQ_ITERATIONS
        pq.train(np.ascontiguousarray(sample, dtype=np.float32))
        centroids = faiss.vector_to_array(pq.centroids).reshape(PQ_M, 1 << PQ_BITS, dim // PQ_M)
        return cls(centroids)

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        if len(vectors) == 0:
            return np.zeros((0, self.pq.code_size), dtype=np.uint8)
        return self.pq.compute_codes(np.ascontiguousarray(vectors, dtype=np.float32))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        if len(codes) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.pq.decode(np.ascontiguousarray(codes, dtype=np.uint8))


class TokenStore:
    """Every word piece's vector, by codec; ``rows`` decodes the ones a question needs."""

    def __init__(self, codec: str, data: np.ndarray, codebook: Codebook | None = None):
        if codec not in (F16, PQ) or (codec == PQ) != (codebook is not None):
            raise ValueError(f"unknown word-piece codec {codec!r}")
        self.codec, self.data, self.codebook = codec, data, codebook

    def __len__(self) -> int:
        return len(self.data)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """float32 vectors of the word pieces at ``index``."""
        picked = self.data[index]
        return picked.astype(np.float32) if self.codebook is None else self.codebook.decode(picked)  # None: F16

    def take(self, index: np.ndarray) -> "TokenStore":
        return TokenStore(self.codec, self.data[index], self.codebook)

    def files(self) -> dict[str, bytes]:
        if self.codebook is None:  # F16 (__init__ holds the two together)
            return {"token_vectors.npy": _npy(self.data)}
        return {"token_codes.npy": _npy(self.data), "token_codebook.npy": _npy(self.codebook.centroids)}

    @staticmethod
    def load(read, listed) -> "TokenStore":
        """From an index's files: ``read(name)`` gives a checked file's bytes, ``listed(name)`` whether it exists."""

        def array(name: str) -> np.ndarray:
            return npy_view(read(name))

        if listed("token_codes.npy"):
            return TokenStore(PQ, array("token_codes.npy"), Codebook(array("token_codebook.npy")))
        return TokenStore(F16, array("token_vectors.npy"))


def store_for(pieces: list[np.ndarray], old: Codebook | None) -> TokenStore:
    """The store for ``pieces`` (each sentence's word-piece vectors: float16
    rows, or uint8 codes of ``old``'s codebook when reused)."""
    total = sum(len(p) for p in pieces)
    floats = [p for p in pieces if p.dtype != np.uint8]
    # k-means needs at least one training vector per centroid (faiss refuses fewer).
    if old is None and total < max(PQ_MIN_TOKENS, 1 << PQ_BITS):
        dim = floats[0].shape[1] if floats else 0
        return TokenStore(F16, np.concatenate(floats).astype(np.float16) if floats else np.zeros((0, dim), np.float16))
    if old is None:
        old = Codebook.train(np.concatenate(floats))
    codes = [p if p.dtype == np.uint8 else old.encode(p) for p in pieces]
    data = np.concatenate(codes) if codes else np.zeros((0, old.pq.code_size), dtype=np.uint8)
    return TokenStore(PQ, data, old)
