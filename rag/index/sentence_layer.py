"""The sentence layer of an index: what quotations are chosen from.

For each unit (a sentence of prose, or a whole heading, code block or table
row: rag.ingest.units): its span, kind, the heading it stands under, the
chunk it belongs to, its own vector and its contextual word-piece vectors
for term-level matching (rag.index.token_store). Its "with previous" and
"with next" vectors (an answer often leans on the sentence before it) are
the normalised sums of neighbouring sentence vectors, computed for the
sentences a question scores: embedding the joined text instead tripled the
build's model work and scored no better on the eval set (hit@1 0.780
embedded, 0.793 summed). What a question's scoring needs of the whole
corpus (word-piece document frequencies, the corpus's words and stems) is
counted at build time, so opening an index reads no text to count it.
"""

from __future__ import annotations

import bisect
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.index.token_store import Codebook, TokenStore, store_for
from rag.ingest.sentences import split_many
from rag.ingest.units import headings_of, units_of
from rag.types import BLOCK_KINDS, PARAGRAPH, PROSE, WHOLE, Chunk, Document

# Beyond this many units an index serves passages without sentence scoring.
SENTENCE_LIMIT = 2_000_000
FILES = {
    "sentences": "sentences.npy",
    "docs": "sentence_docs.json",
    "vectors": "sentence_vectors.npy",
    "token_ids": "token_ids.npy",
    "token_offsets": "token_offsets.npy",
    "df": "token_df.npy",
    "terms": "terms.json",
}


@dataclass(frozen=True)
class Sentence:
    sentence_id: int
    doc_id: str
    start: int
    end: int
    chunk_id: int
    kind: str = PARAGRAPH
    heading: int = -1  # the sentence id of the heading it stands under; -1 for none

    @property
    def quotable(self) -> bool:
        return self.kind in PROSE or self.kind in WHOLE


@dataclass
class SentenceLayer:
    sentences: list[Sentence]
    vectors: np.ndarray  # [n, dim] float32, unit length
    tokens: TokenStore  # [T, dim] word-piece vectors, unit length
    token_ids: np.ndarray  # [T] wordpiece ids
    token_offsets: np.ndarray  # [n + 1] sentence i owns tokens[off[i]:off[i+1]]
    df: np.ndarray  # [vocabulary] in how many units each word piece occurs
    words: frozenset[str] = frozenset()  # every word of the corpus, lower-cased
    stems: frozenset[str] = frozenset()  # every content stem of the corpus's units

    def __post_init__(self) -> None:
        n = self.n = len(self.sentences)
        docs = [s.doc_id for s in self.sentences]
        same_prev = np.zeros(n, dtype=bool)
        same_prev[1:] = [a == b for a, b in zip(docs[1:], docs[:-1])]
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = same_prev[1:]
        # Each sentence's predecessor and successor in its document (itself at an edge).
        self.prev_id = np.where(same_prev, np.arange(n) - 1, np.arange(n))
        self.next_id = np.where(same_next, np.arange(n) + 1, np.arange(n))
        # How typical a sentence is of the whole corpus: "hub" sentences that
        # resemble everything would otherwise top every ranking.
        centroid = self.vectors.mean(axis=0) if n else np.zeros(self.vectors.shape[1], np.float32)
        self.hubness = self.vectors @ (centroid / (float(np.linalg.norm(centroid)) or 1.0))
        self.by_chunk: dict[int, list[int]] = {}
        self.by_doc: dict[str, range] = {}
        for s in self.sentences:
            self.by_chunk.setdefault(s.chunk_id, []).append(s.sentence_id)
            first = self.by_doc.get(s.doc_id)
            self.by_doc[s.doc_id] = range(first.start if first else s.sentence_id, s.sentence_id + 1)
        self.quotable = np.array([s.quotable for s in self.sentences], dtype=bool)
        self.heading_of = np.array([s.heading for s in self.sentences], dtype=np.int64)
        self._norms: dict[str, np.ndarray] = {}

    def neighbour_scores(self, ids: np.ndarray, side: str, dense: np.ndarray) -> np.ndarray:
        """Cosine of the question with each sentence joined with its previous (or
        next) one, from ``dense`` (every sentence's cosine with it): the joined
        vector's dot product is the sum of the two, so only its length is new,
        and that is computed once per sentence. Equal to ``neighbour_vectors(ids, side) @ q``
        without reading two vectors per sentence for every question."""
        other = self.prev_id[ids] if side == "prev" else self.next_id[ids]
        joined = dense[ids] + np.where(other != ids, dense[other], 0.0)
        return (joined / self._joined_norms(side, ids)).astype(np.float32)

    def _joined_norms(self, side: str, ids: np.ndarray) -> np.ndarray:
        """The lengths of sentences ``ids`` joined with their neighbours on ``side``,
        computed the first time a question reads them: opening the index does
        not pay for a corpus's every sentence (0.15 s at 1,200 abstracts)."""
        norms = self._norms.get(side)
        if norms is None:
            norms = self._norms[side] = np.full(self.n, np.nan, dtype=np.float32)
        missing = ids[np.isnan(norms[ids])]
        for at in range(0, missing.size, 8192):  # bounded memory when a fit reads every sentence
            part = missing[at : at + 8192]
            other = self.prev_id[part] if side == "prev" else self.next_id[part]
            joined = self.vectors[part] + np.where((other != part)[:, None], self.vectors[other], 0.0)
            norms[part] = np.maximum(np.linalg.norm(joined, axis=1), 1e-12)
        return norms[ids]

    def neighbour_vectors(self, ids: np.ndarray, side: str) -> np.ndarray:
        """Unit vectors of each sentence joined with its previous (or next) one in its document."""
        other = self.prev_id[ids] if side == "prev" else self.next_id[ids]
        joined = self.vectors[ids] + np.where((other != ids)[:, None], self.vectors[other], 0.0)
        return joined / np.maximum(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12)

    def token_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded word-piece vectors of sentences ``ids`` ([T', dim] float32) and
        where each sentence's rows start ([len(ids) + 1])."""
        index, offsets = self.token_index(ids)
        return self.tokens.rows(index), offsets

    def token_index(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the word pieces of sentences ``ids`` are in ``tokens`` ([T'])
        and where each sentence's start in that list ([len(ids) + 1])."""
        starts, ends = self.token_offsets[ids], self.token_offsets[ids + 1]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        # Sentence i's rows are starts[i] onwards: its place in the list plus a shift of its own.
        index = np.repeat(starts - offsets[:-1], ends - starts) + np.arange(int(offsets[-1]), dtype=np.int64)
        return index.astype(np.int64, copy=False), offsets

    def token_id_rows(self, ids: np.ndarray) -> list[np.ndarray]:
        return [self.token_ids[self.token_offsets[i] : self.token_offsets[i + 1]] for i in ids]


def _chunk_of(start: int, end: int, doc_chunks: list[Chunk], starts: list[int] | None = None) -> int:
    """The chunk sharing most characters with ``start:end`` (the first on a tie).

    Only the chunks around the span are compared: a document's chunks are in
    order, so those further away share less (a scan of all of them made a
    one-document corpus quadratic: 15 s for 2 MB). ``starts``: the chunks'
    start offsets, passed in when called for many spans of one document.
    """
    starts = starts if starts is not None else [c.start for c in doc_chunks]
    after = bisect.bisect_left(starts, end)  # chunks from here on start at or after the span's end
    first = after
    while first > 0 and doc_chunks[first - 1].end > start:
        first -= 1
    best, best_overlap = doc_chunks[0].chunk_id, -1
    for c in doc_chunks[max(0, first - 1) : after + 1]:
        shared = min(end, c.end) - max(start, c.start)
        if shared > best_overlap:
            best, best_overlap = c.chunk_id, shared
    return best


def plan_sentences(
    documents: tuple[Document, ...],
    chunks: list[Chunk],
    known: dict[str, list[tuple[int, int]]] | None = None,
    progress: bool = False,
) -> list[Sentence] | None:
    """Every unit of the corpus (rag.ingest.units) with its kind, heading and
    chunk, or None when there are more than SENTENCE_LIMIT (then no sentence
    layer). ``known`` holds the sentence spans of documents split before, by sha256."""
    known = known or {}
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    starts = {doc_id: [c.start for c in items] for doc_id, items in by_doc.items()}
    # Lazily, in document order: a corpus over the limit stops being split there.
    split = split_many([d.text for d in documents if d.sha256 not in known])
    sentences: list[Sentence] = []
    walk: Any = documents
    if progress:
        from tqdm import tqdm

        walk = tqdm(documents, desc="Splitting sentences", unit="doc")
    for doc in walk:
        units = units_of(doc, known[doc.sha256] if doc.sha256 in known else next(split))
        base = len(sentences)
        for unit, heading in zip(units, headings_of(doc, units)):
            chunk = _chunk_of(unit.start, unit.end, by_doc[doc.doc_id], starts[doc.doc_id])
            sentences.append(
                Sentence(
                    len(sentences),
                    doc.doc_id,
                    unit.start,
                    unit.end,
                    chunk,
                    unit.kind,
                    base + heading if heading >= 0 else -1,
                )
            )
        if len(sentences) > SENTENCE_LIMIT:
            if progress:
                walk.close()
            return None
    return sentences


def chunk_vectors_from_sentences(
    chunks: list[Chunk], sentences: list[Sentence], state_sums: dict[int, np.ndarray], dim: int
) -> np.ndarray:
    """Each chunk's vector as the normalised sum of its sentences' token states.

    A mean-pooled model's passage vector is the normalised mean of its token
    states; here each sentence's states come from encoding the sentence alone,
    so one forward pass over the sentences gives both layers and the chunk
    pass (a third to a half of the model's work in a build) is saved.
    Measured against encoding every chunk: dense hit@1 on the essays 0.537
    against 0.463 (nothing is cut at the model's 256-token limit); SciFact
    nDCG@10, whole abstracts as passages, 0.635 against 0.645.
    A sentence cut by a chunk boundary counts by the share of it inside. A
    chunk with no sentence (none found in its text) gets a zero row here,
    which the caller fills by encoding it.
    """
    overlapping = SentencesByDoc(sentences)
    out = np.zeros((len(chunks), dim), dtype=np.float32)
    for row, c in enumerate(chunks):
        total = np.zeros(dim, dtype=np.float32)
        for s in overlapping(c):
            shared = min(s.end, c.end) - max(s.start, c.start)
            total += state_sums[s.sentence_id] * (shared / (s.end - s.start))
        out[row] = total / max(float(np.linalg.norm(total)), 1e-12)
    return out


class SentencesByDoc:
    """The sentences that overlap a chunk, found by bisection (a document's
    sentences are in order and do not overlap)."""

    def __init__(self, sentences: list[Sentence]):
        self._docs: dict[str, list[Sentence]] = {}
        for s in sentences:
            self._docs.setdefault(s.doc_id, []).append(s)
        self._ends = {doc_id: [s.end for s in items] for doc_id, items in self._docs.items()}

    def __call__(self, chunk: Chunk) -> list[Sentence]:
        items = self._docs.get(chunk.doc_id, [])
        i = bisect.bisect_right(self._ends.get(chunk.doc_id, []), chunk.start)
        found = []
        while i < len(items) and items[i].start < chunk.end:
            found.append(items[i])
            i += 1
        return found


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def sentence_layer_files(
    sentences: list[Sentence],
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    dim: int,
    documents: dict[str, Document],
    codebook: Codebook | None = None,
) -> dict[str, bytes]:
    """The layer's files; ``entries[i]`` is sentence i's (word-piece ids, word-piece
    vectors (float) or codes of ``codebook``, vector)."""
    from rag.index.lexical import content_stems
    from rag.words import vocabulary

    offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
    for i, (ids, _, _) in enumerate(entries):
        offsets[i + 1] = offsets[i] + len(ids)
    order = list(dict.fromkeys(s.doc_id for s in sentences))
    at = {d: k for k, d in enumerate(order)}
    kinds = {k: i for i, k in enumerate(BLOCK_KINDS)}
    rows = np.array(
        [[at[s.doc_id], s.start, s.end, s.chunk_id, kinds[s.kind], s.heading] for s in sentences], dtype=np.int64
    ).reshape(len(sentences), 6)
    token_ids = np.concatenate([e[0] for e in entries]).astype(np.int32) if entries else np.zeros(0, np.int32)
    df = np.zeros(int(token_ids.max()) + 1 if token_ids.size else 1, dtype=np.int32)
    for ids, _, _ in entries:
        df[np.unique(ids)] += 1
    store = store_for([e[1] for e in entries], codebook)
    texts = [documents[s.doc_id].text[s.start : s.end] for s in sentences]
    terms = {
        "words": sorted(vocabulary(d.text for d in documents.values())),
        "stems": sorted(set().union(*(content_stems(t) for t in texts)) if texts else set()),
    }
    return {
        FILES["sentences"]: _npy(rows),
        FILES["docs"]: json.dumps(order, ensure_ascii=False).encode("utf-8"),
        FILES["vectors"]: _npy(
            np.stack([e[2] for e in entries]).astype(np.float16) if entries else np.zeros((0, dim), np.float16)
        ),
        FILES["token_ids"]: _npy(token_ids),
        FILES["token_offsets"]: _npy(offsets),
        FILES["df"]: _npy(df),
        FILES["terms"]: json.dumps(terms, ensure_ascii=False).encode("utf-8"),
        **store.files(),
    }


def entries_by_span(layer: SentenceLayer, sha256_of: dict[str, str]) -> dict[tuple[str, int, int], tuple]:
    """An existing layer's sentences keyed by (document sha256, start, end), for
    reuse by a rebuild: word-piece codes when its store is quantised (rebuilds
    keep its codebook), else float16 vectors."""
    out = {}
    for s in layer.sentences:
        a, b = int(layer.token_offsets[s.sentence_id]), int(layer.token_offsets[s.sentence_id + 1])
        out[(sha256_of[s.doc_id], s.start, s.end)] = (
            layer.token_ids[a:b],
            layer.tokens.data[a:b],
            layer.vectors[s.sentence_id],
        )
    return out


def load_sentence_layer(read, listed, documents: dict[str, Document], n_chunks: int) -> SentenceLayer:
    """``read(name)`` returns a checked file's bytes, ``listed(name)`` whether the
    index has it; raises ValueError on any inconsistency."""

    def array(key: str) -> np.ndarray:
        return np.load(io.BytesIO(read(FILES[key])), allow_pickle=False)

    rows, order = array("sentences"), json.loads(read(FILES["docs"]).decode("utf-8"))
    shaped = rows.ndim == 2 and rows.shape[1] == 6 and rows.dtype.kind in "iu"
    if not shaped or not all(isinstance(d, str) and d in documents for d in order):
        raise ValueError("sentence records are malformed")
    n = len(rows)
    # Checked as arrays: a record at a time took 0.1 s at 1,200 abstracts, on every open.
    doc, start, end, chunk, kind, heading = (rows[:, c].astype(np.int64) for c in range(6))
    lengths = np.array([len(documents[d].text) for d in order] + [0], dtype=np.int64)
    good = (0 <= doc) & (doc < len(order)) & (0 <= kind) & (kind < len(BLOCK_KINDS))
    good &= (0 <= chunk) & (chunk < n_chunks) & (-1 <= heading) & (heading < n)
    good &= (0 <= start) & (start < end) & (end <= lengths[np.where(good, doc, len(order))])
    if not good.all():
        raise ValueError(f"sentence record {int(np.flatnonzero(~good)[0])} does not match its document")
    sentences = [
        Sentence(i, order[d], a, b, c, BLOCK_KINDS[k], h)
        for i, (d, a, b, c, k, h) in enumerate(zip(*(x.tolist() for x in (doc, start, end, chunk, kind, heading))))
    ]
    vectors = array("vectors").astype(np.float32)
    offsets, token_ids = array("token_offsets"), array("token_ids")
    tokens = TokenStore.load(read, listed)
    if not (len(vectors) == n and len(offsets) == n + 1 and int(offsets[-1]) == len(tokens) == len(token_ids)):
        raise ValueError("sentence arrays disagree in length")
    terms = json.loads(read(FILES["terms"]).decode("utf-8"))
    return SentenceLayer(
        sentences,
        vectors,
        tokens,
        token_ids,
        offsets,
        array("df"),
        frozenset(terms["words"]),
        frozenset(terms["stems"]),
    )
