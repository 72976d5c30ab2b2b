"""Evaluate retrieval over a grid of chunk sizes and overlaps."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tqdm import tqdm

from rag.embed.base import TokenEmbedder
from rag.evaluation.qa import QAItem
from rag.evaluation.runner import evaluate
from rag.index.build import build_index
from rag.ingest.chunking import ChunkSettings
from rag.pipeline import Rag
from rag.types import Corpus

DEFAULT_GRID = ((300, 0), (300, 50), (500, 0), (500, 100), (800, 0), (800, 100), (800, 200), (1200, 100), (1200, 300))
SWEEP_METRICS = ("hit@1", "mrr@10", "ndcg@10", "quote_hit")


def parse_grid(text: str) -> tuple[tuple[int, int], ...]:
    """ "300:50,800:100" → ((300, 50), (800, 100))."""
    pairs = []
    for part in text.split(","):
        size, _, overlap = part.strip().partition(":")
        pairs.append((int(size), int(overlap or 0)))
    return tuple(pairs)


def sweep(
    corpus: Corpus,
    items: list[QAItem],
    qa_name: str,
    embedder: TokenEmbedder,
    retrievers: tuple[str, ...],
    k: int,
    grid=DEFAULT_GRID,
    progress: bool = True,
) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-sweep-") as tmp:
        for size, overlap in tqdm(grid, desc="sweep", disable=not progress):
            settings = ChunkSettings(size, overlap)
            index, _ = build_index(corpus, Path(tmp) / f"s{size}-o{overlap}", embedder, settings)
            rag = Rag(index, embedder)
            for retriever in retrievers:
                result = evaluate(rag, items, qa_name, retriever, k)
                rows.append(
                    {
                        "chunk_size": size,
                        "overlap": overlap,
                        "chunks": len(index.chunks),
                        "retriever": retriever,
                        **{m: f"{result.metrics[m]:.3f}" for m in SWEEP_METRICS},
                    }
                )
    return rows
