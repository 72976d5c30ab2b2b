"""A document's layout (rag.ingest.layout) as sentence ids of the index's
sentence layer: its header, its subtitle, its closing paragraph, a part a
question asks for."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rag.index.sentence_layer import SentenceLayer
from rag.ingest.layout import CREDIT_LINE, DATELINE, NOT_SUBTITLE, is_furniture, lines, prose_start
from rag.types import Document


def _part_spans(part: str, doc: Document) -> list[tuple[int, int]]:
    doc_lines = lines(doc)
    titles = [i for i, (a, b) in enumerate(doc_lines) if doc.text[a:b].strip() == doc.title]
    if part == "title":
        return [doc_lines[i] for i in titles[:1]]
    if part == "subtitle":
        start = prose_start(doc)
        after = (
            [
                (a, b)
                for a, b in doc_lines[titles[0] + 1 :]
                if not is_furniture(doc.text[a:b]) and (start is None or b <= start)
            ]
            if titles
            else []
        )
        return after[:1]
    if part == "credit":
        return [
            (a, b)
            for a, b in doc_lines
            if b - a <= 120 and CREDIT_LINE.search(doc.text[a:b]) and not NOT_SUBTITLE.search(doc.text[a:b])
        ]
    if part == "dateline":
        return [(a, b) for a, b in doc_lines if b - a <= 120 and DATELINE.search(doc.text[a:b])][:1]
    raise ValueError(f"unknown part {part!r}")


def _of(layer: SentenceLayer, doc_id: str) -> list:
    r = layer.by_doc.get(doc_id, range(0))
    return layer.sentences[r.start : r.stop]


def part_sentences(
    part: str, layer: SentenceLayer, documents: Mapping[str, Document], within: Sequence[str] = ()
) -> list[int]:
    """The sentence ids that make up ``part`` in every document (or those ``within``), in corpus order."""
    out = []
    for doc_id, doc in documents.items():
        if within and doc_id not in within:
            continue
        spans = _part_spans(part, doc)
        out += [s.sentence_id for s in _of(layer, doc_id) if any(a <= s.start and s.end <= b for a, b in spans)]
    return out


def header_of(layer: SentenceLayer, doc: Document) -> list[int]:
    """The sentence ids of a document's header: the short lines above its
    first paragraph of prose (headline, rubric, subtitle, credit, dateline)."""
    end = prose_start(doc) or 0
    return [s.sentence_id for s in _of(layer, doc.doc_id) if s.end <= end]


def header_sentences(layer: SentenceLayer, documents: Mapping[str, Document]) -> list[int]:
    """The header sentence ids of every document."""
    return [i for doc in documents.values() for i in header_of(layer, doc)]


def ranked_parts(
    part: str,
    layer: SentenceLayer,
    documents: Mapping[str, Document],
    score: np.ndarray,
    every: bool,
    within: Sequence[str] = (),
) -> list[list[int]]:
    """The sentence ids of ``part``, grouped by document, the document the
    question matches best (by its best sentence ``score``) first; only that
    document's unless ``every``; only the documents ``within`` when given."""
    # Only documents with a scored sentence can match best: the others are not asked about.
    scored = {doc_id for doc_id, r in layer.by_doc.items() if np.isfinite(score[r.start : r.stop]).any()}
    by_doc: dict[str, list[int]] = {}
    for i in part_sentences(part, layer, documents, tuple(within) or tuple(scored)):
        by_doc.setdefault(layer.sentences[i].doc_id, []).append(i)
    best_in_doc = {d: float(score[layer.by_doc[d].start : layer.by_doc[d].stop].max()) for d in by_doc}
    ranked = sorted(by_doc.values(), key=lambda ids: -best_in_doc[layer.sentences[ids[0]].doc_id])
    return ranked if every else ranked[:1]
