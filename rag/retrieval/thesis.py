"""How likely each sentence states its document's thesis, for broad questions
("What is the main argument of each essay?", "Summarize the report").

Such a question names no words of its answer, so its own vector says little;
evidence of a thesis comes from the document itself:
- closeness to the document's own summary line, the subtitle under its
  headline, or, without one, to the centroid of its sentences (what the
  document is mostly about);
- position: an argument is usually stated early;
- a recommendation's form: a sentence that says what should or must be done.
Each is z-normalised within its document; header lines themselves (the
headline, the subtitle, credits) are never candidates, only evidence.
"""

from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from rag.index.sentence_layer import SentenceLayer
from rag.retrieval.parts import part_sentences
from rag.types import PROSE, Document

# The opening quarter of a document's body counts as early; hand-set, not
# measured (the weight of "early", thesis_early, was chosen on eval/dev_qa.jsonl).
EARLY_SHARE = 0.25
MIN_WORDS = 6  # a thesis is a sentence, not a fragment (")", "4. This document")
# A thesis is a whole statement: it ends with a stop, not a question mark nor
# nothing at all (a figure's axis labels, a command, a title read as prose).
_STATES = re.compile(r"[.!][\"'”’)\]]*\s*$")
_RECOMMENDS = re.compile(r"\b(should|must|need to|needs to|have to|has to|ought to|it is time to)\b", re.I)


def _z(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - float(x.mean())) / std if std > 1e-9 else np.zeros_like(x)


def thesis_body(layer: SentenceLayer, doc: Document, header: set[int]) -> np.ndarray:
    """The sentences of a document that may state its thesis: prose of at
    least MIN_WORDS words that ends as a statement does, outside the header."""
    r = layer.by_doc.get(doc.doc_id, range(0))
    out = []
    for i in r:
        s = layer.sentences[i]
        text = doc.text[s.start : s.end]
        if i not in header and s.kind in PROSE and len(text.split()) >= MIN_WORDS and _STATES.search(text):
            out.append(i)
    return np.array(out, dtype=np.int64)


def thesis_evidence(
    layer: SentenceLayer, documents: Mapping[str, Document], doc_id: str, header: set[int]
) -> dict[str, np.ndarray]:
    """Per sentence of ``doc_id`` (indexed from its first): "summary"
    (closeness to the document's summary line or centroid), "early" (1 at a
    body's start, falling to 0 after EARLY_SHARE) and "recommends" (0 or 1);
    sentences outside its thesis body (header lines, headings, code, a
    question, a fragment) get -inf summary, so they are never its thesis."""
    r = layer.by_doc[doc_id]
    n = len(r)
    out = {k: np.zeros(n, dtype=np.float32) for k in ("summary", "early", "recommends")}
    doc = documents[doc_id]
    body = thesis_body(layer, doc, header)
    out["summary"][:] = -np.inf
    if body.size == 0:
        return out
    subtitles = set(part_sentences("subtitle", layer, documents, (doc_id,)))
    vectors = layer.vectors
    summary_ids = sorted(subtitles)
    anchor = vectors[summary_ids].sum(axis=0) if summary_ids else vectors[body].sum(axis=0)
    anchor = anchor / max(float(np.linalg.norm(anchor)), 1e-12)
    local = body - r.start
    out["summary"][local] = _z(vectors[body] @ anchor)
    position = (np.arange(body.size) + 0.5) / body.size
    out["early"][local] = np.maximum(0.0, 1.0 - position / EARLY_SHARE)
    out["recommends"][local] = [
        bool(_RECOMMENDS.search(doc.text[layer.sentences[i].start : layer.sentences[i].end])) for i in body
    ]
    return out
