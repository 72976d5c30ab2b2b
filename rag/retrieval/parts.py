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
        after = [(a, b) for a, b in doc_lines[titles[0] + 1:]
                 if not is_furniture(doc.text[a:b]) and (start is None or b <= start)] if titles else []
        return after[:1]
    if part == "credit":
        return [(a, b) for a, b in doc_lines
                if b - a <= 120 and CREDIT_LINE.search(doc.text[a:b]) and not NOT_SUBTITLE.search(doc.text[a:b])]
    if part == "dateline":
        return [(a, b) for a, b in doc_lines if b - a <= 120 and DATELINE.search(doc.text[a:b])][:1]
    raise ValueError(f"unknown part {part!r}")


def part_sentences(part: str, layer: SentenceLayer, documents: Mapping[str, Document]) -> list[int]:
    """The sentence ids that make up ``part`` in every document, in corpus order."""
    spans = {doc_id: _part_spans(part, doc) for doc_id, doc in documents.items()}
    return [s.sentence_id for s in layer.sentences
            if any(a <= s.start and s.end <= b for a, b in spans.get(s.doc_id, ()))]


def header_sentences(layer: SentenceLayer, documents: Mapping[str, Document]) -> list[int]:
    """The sentence ids of every document's header: the short lines above its
    first paragraph of prose (headline, rubric, subtitle, credit, dateline)."""
    ids: list[int] = []
    for doc_id, doc in documents.items():
        end = prose_start(doc) or 0
        ids.extend(s.sentence_id for s in layer.sentences if s.doc_id == doc_id and s.end <= end)
    return ids


def ranked_parts(part: str, layer: SentenceLayer, documents: Mapping[str, Document], score: np.ndarray,
                 every: bool, within: Sequence[str] = ()) -> list[list[int]]:
    """The sentence ids of ``part``, grouped by document, the document the
    question matches best (by its best sentence ``score``) first; only that
    document's unless ``every``; only the documents ``within`` when given."""
    by_doc: dict[str, list[int]] = {}
    for i in part_sentences(part, layer, documents):
        doc_id = layer.sentences[i].doc_id
        if not within or doc_id in within:
            by_doc.setdefault(doc_id, []).append(i)
    best_in_doc: dict[str, float] = {}
    for s in layer.sentences:
        best_in_doc[s.doc_id] = max(best_in_doc.get(s.doc_id, -np.inf), float(score[s.sentence_id]))
    ranked = sorted(by_doc.values(), key=lambda ids: -best_in_doc[layer.sentences[ids[0]].doc_id])
    return ranked if every else ranked[:1]
