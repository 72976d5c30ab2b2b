"""Retrieval on any BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

Documents are chunked and indexed like the essays; a document's rank is the
rank of its best chunk. The index is cached under ``index/beir/`` in a folder
named by a key over everything that shapes it, so a second run does not embed
again, and a changed corpus, model or setting gets an index of its own.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rag.embed.base import Embedder, TokenEmbedder
from rag.errors import EvalDataError
from rag.evaluation.metrics import BEIR_METRICS, ir_evaluate
from rag.index.build import build_index
from rag.index.manifest import FORMAT_VERSION, fingerprint, library_versions
from rag.ingest.chunking import ChunkSettings
from rag.pipeline import Rag
from rag.types import Corpus, Document

DOC_DEPTH = 100


@dataclass(frozen=True)
class BeirSet:
    name: str
    corpus: Corpus
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise EvalDataError(f"BEIR folder is missing {path.name} ({path})")
    rows = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise EvalDataError(f"{path}, line {number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise EvalDataError(f"{path}, line {number}: not valid JSON") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise EvalDataError(f"{path}, line {number}: expected an object with an _id")
            rows.append(row)
    return rows


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise EvalDataError(f"BEIR folder has no qrels for this split ({path})")
    qrels: dict[str, dict[str, int]] = {}
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise EvalDataError(f"{path} is not UTF-8 text (bad byte at offset {err.start})") from None
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if not row or (number == 1 and row[0] == "query-id"):
            continue
        try:
            qid, did, score = row[0], row[1], int(row[2])
        except (IndexError, ValueError):
            raise EvalDataError(f"{path}, line {number}: expected query-id, corpus-id, score") from None
        if score > 0:
            qrels.setdefault(qid, {})[did] = score
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> BeirSet:
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalDataError(f"BEIR folder not found: {folder}")
    docs = []
    for row in _jsonl(folder / "corpus.jsonl"):
        title, body = str(row.get("title") or "").strip(), str(row.get("text") or "")
        text = f"{title}\n\n{body}" if title else body
        if text.strip():
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            docs.append(Document(str(row["_id"]), title or str(row["_id"]), text, f"corpus.jsonl#{row['_id']}", digest))
    if not docs:
        raise EvalDataError(f"{folder}/corpus.jsonl holds no documents")
    queries = {str(r["_id"]): str(r.get("text") or "") for r in _jsonl(folder / "queries.jsonl")}
    qrels = _qrels(folder / "qrels" / f"{split}.tsv")
    known = {d.doc_id for d in docs}
    qrels = {q: {d: s for d, s in rel.items() if d in known} for q, rel in qrels.items() if q in queries}
    qrels = {q: rel for q, rel in qrels.items() if rel}
    if not qrels:
        raise EvalDataError(f"{folder}/qrels/{split}.tsv has no judged query present in queries.jsonl and the corpus")
    return BeirSet(folder.resolve().name, Corpus(tuple(docs), (), str(folder.resolve())), queries, qrels)


def cache_key(corpus: Corpus, embedder: Embedder, settings: ChunkSettings) -> str:
    """A fingerprint over what shapes the index, known before building it."""
    identity = {
        "format_version": FORMAT_VERSION,
        "libraries": library_versions(),
        "model": {"name": embedder.name, "dim": embedder.dim, "normalized": True},
        "chunking": settings.as_dict(),
        "documents": {d.doc_id: {"sha256": d.sha256} for d in corpus.documents},
        "store": {},
    }
    return fingerprint(identity)[:16]


def open_beir(
    data: BeirSet, cache_root: Path, embedder: TokenEmbedder, settings: ChunkSettings, progress: bool = True
) -> Rag:
    index_dir = Path(cache_root) / f"{data.name}-{cache_key(data.corpus, embedder, settings)}"
    index, _ = build_index(data.corpus, index_dir, embedder, settings, progress=progress)
    return Rag(index, embedder)


def rank_documents(rag: Rag, query: str, retriever: str, depth: int = DOC_DEPTH) -> list[str]:
    """Documents in order of their best chunk."""
    hits = rag.search(query, k=depth * 3, retriever=retriever) if query.strip() else []
    ranked: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.chunk.doc_id not in seen:
            seen.add(hit.chunk.doc_id)
            ranked.append(hit.chunk.doc_id)
    return ranked[:depth]


def evaluate_beir(rag: Rag, data: BeirSet, retriever: str, progress: bool = True) -> dict:
    run = {
        qid: rank_documents(rag, data.queries[qid], retriever)
        for qid in tqdm(sorted(data.qrels), desc=f"BEIR {retriever}", disable=not progress, unit="q")
    }
    metrics, _ = ir_evaluate(data.qrels, run, BEIR_METRICS)
    return {
        "dataset": data.name,
        "retriever": retriever,
        "n_queries": len(data.qrels),
        "n_documents": len(data.corpus.documents),
        "n_chunks": len(rag.index.chunks),
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
    }
