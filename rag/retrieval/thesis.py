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
from rag.retrieval.parts import header_sentences, part_sentences
from rag.types import Document

# The opening quarter of a document's body counts as early; hand-set, not
# measured (the weight of "early", thesis_early, was chosen on eval/dev_qa.jsonl).
EARLY_SHARE = 0.25
_RECOMMENDS = re.compile(r"\b(should|must|need to|needs to|have to|has to|ought to|it is time to)\b", re.I)


def _z(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - float(x.mean())) / std if std > 1e-9 else np.zeros_like(x)


def thesis_evidence(layer: SentenceLayer, documents: Mapping[str, Document]) -> dict[str, np.ndarray]:
    """Per sentence: "summary" (closeness to the document's summary line or
    centroid), "early" (1 at a body's start, falling to 0 after EARLY_SHARE) and
    "recommends" (0 or 1); header sentences get zeros, and are flagged in "header"."""
    n = layer.n
    out = {k: np.zeros(n, dtype=np.float32) for k in ("summary", "early", "recommends", "header")}
    header = set(header_sentences(layer, documents))
    subtitles = set(part_sentences("subtitle", layer, documents))
    by_doc: dict[str, list[int]] = {}
    for s in layer.sentences:
        by_doc.setdefault(s.doc_id, []).append(s.sentence_id)
    vectors = layer.vectors.astype(np.float32)
    for doc_id, ids in by_doc.items():
        body = np.array([i for i in ids if i not in header], dtype=np.int64)
        if body.size == 0:
            continue
        summary_ids = [i for i in ids if i in subtitles]
        anchor = vectors[summary_ids].sum(axis=0) if summary_ids else vectors[body].sum(axis=0)
        anchor = anchor / max(float(np.linalg.norm(anchor)), 1e-12)
        out["summary"][body] = _z(vectors[body] @ anchor)
        position = (np.arange(body.size) + 0.5) / body.size
        out["early"][body] = np.maximum(0.0, 1.0 - position / EARLY_SHARE)
        text = documents[doc_id].text
        out["recommends"][body] = [bool(_RECOMMENDS.search(text[layer.sentences[i].start:layer.sentences[i].end]))
                                   for i in body]
    out["header"][sorted(header)] = 1.0
    return out
