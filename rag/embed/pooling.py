"""Pooling and batching shared by the torch and onnxruntime backends: a
padded batch's hidden states in, unit vectors and token vectors out."""

from __future__ import annotations

from typing import Sequence, cast

import numpy as np

from rag.embed.base import TokenEmbedding


def token_embeddings(ids: np.ndarray, mask: np.ndarray, hidden: np.ndarray) -> list[TokenEmbedding]:
    """A padded batch's outputs (ids, attention mask, last hidden state) per text."""
    # The mask as float32: an integer mask would make every product float64
    # (a question's vector then upcast the corpus's matrices it meets).
    hidden = np.asarray(hidden, dtype=np.float32) * mask[:, :, None].astype(np.float32)
    totals = hidden.sum(axis=1)
    # Mean pooling then L2 normalisation, as sentence-transformers does, is
    # the normalised sum.
    vectors = totals / np.clip(np.linalg.norm(totals, axis=1, keepdims=True), 1e-12, None)
    units = (hidden / np.clip(np.linalg.norm(hidden, axis=2, keepdims=True), 1e-12, None)).astype(np.float16)
    lengths = mask.sum(axis=1)
    # Padding is at the end of each row.
    return [
        TokenEmbedding(ids[row, :n].astype(np.int32), units[row, :n], vectors[row], totals[row])
        for row, n in enumerate(lengths.tolist())
    ]


def pooled_vectors(mask: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Mean pooling and L2 normalisation of a padded batch, as sentence-transformers does."""
    weights = mask[:, :, None].astype(np.float32)
    pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def length_sorted_batches(items: Sequence, batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of similar length (little compute lost to padding).

    Items are texts, or better their word-piece ids: sorted by characters,
    sentences were padded to 1.7× their word pieces, by word pieces to 1.2×."""
    order = np.argsort([-len(t) for t in items], kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(items), batch_size)]


def _run_batches(work, batches: list, streams: int, progress: bool, desc: str):
    """``work(rows)`` for every batch, in order, on ``streams`` threads.

    Parallel streams pay where each forward runs single-threaded (see
    SentenceTransformerEmbedder._streams): torch releases the GIL inside
    its kernels."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(batches), desc=desc, unit="batch")
    try:
        if streams <= 1 or len(batches) < 2:
            results = map(work, batches)
            for rows, result in zip(batches, results):
                yield rows, result
                if bar is not None:
                    bar.update()
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(streams, thread_name_prefix="rag-embed") as pool:
            for rows, result in zip(batches, pool.map(work, batches)):
                yield rows, result
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()


def pooled_pass(forward, items: list, dim: int, batch_size: int, progress: bool, streams: int = 1) -> np.ndarray:
    """Unit mean-pooled vector of every item (texts, or word-piece id rows),
    ``forward`` (a batch of items → ids, mask, hidden) run over length-sorted
    batches; the input order is kept."""

    def work(rows):
        _, mask, hidden = forward([items[i] for i in rows])
        return pooled_vectors(mask, hidden)

    out = np.empty((len(items), dim), dtype=np.float32)
    for rows, vectors in _run_batches(work, length_sorted_batches(items, batch_size), streams, progress, "Embedding"):
        out[rows] = vectors
    return out


def sentence_pass(forward, items: list, batch_size: int, progress: bool, streams: int = 1) -> list[TokenEmbedding]:
    """TokenEmbedding of every item (texts, or word-piece id rows), ``forward``
    (a batch of items → ids, mask, hidden) run over length-sorted batches; the
    input order is kept."""

    def work(rows):
        return token_embeddings(*forward([items[i] for i in rows]))

    result: list[TokenEmbedding | None] = [None] * len(items)
    batches = length_sorted_batches(items, batch_size)
    for rows, embedded in _run_batches(work, batches, streams, progress, "Embedding sentences"):
        for row, item in zip(rows, embedded):
            result[row] = item
    return cast("list[TokenEmbedding]", result)  # every row is filled
