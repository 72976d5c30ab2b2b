"""How likely each sentence states its document's thesis, for broad questions
("What is the main argument of each essay?", "Summarize the report").

Such a question names no words of its answer, so its own vector says little;
evidence of a thesis comes from the document itself:
- closeness to the document's own summary line, the subtitle under its
  headline when it reads as one (a statement, not an author, a version, a
  badge or a heading: real documents put those there), or, without one, to
  its title together with the centroid of its sentences (what the document
  says it is about, and what it is mostly about; on realdocs_dev the title
  put the zoo paper's abstract 3rd rather than unranked, eval/README.md);
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
from rag.types import HEADING, PROSE, Document

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


def _standfirst(text: str) -> bool:
    """Whether a line under the title reads as a standfirst (a statement in
    prose) rather than an author, a version, a badge, a heading or a question."""
    words = text.split()
    long = [w for w in words if sum(c.isalpha() for c in w) > 3]
    lower = sum(w[0].islower() for w in long)
    return len(words) >= MIN_WORDS and not text.rstrip().endswith("?") and lower * 2 >= len(long)


def _title_unit(layer: SentenceLayer, doc: Document) -> int | None:
    """The unit that is the document's title: its first heading (an FAQ's first question is none)."""
    for i in layer.by_doc.get(doc.doc_id, range(0)):
        if layer.sentences[i].kind == HEADING:
            return i
    return None


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
    summary_ids = sorted(
        i for i in subtitles if _standfirst(doc.text[layer.sentences[i].start : layer.sentences[i].end])
    )
    centroid = vectors[body].sum(axis=0)
    title = _title_unit(layer, doc)
    if summary_ids:
        anchor = vectors[summary_ids].sum(axis=0)
    elif title is not None:
        # What a document is about is what its title says, as its sentences bear it out.
        anchor = vectors[title] + centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    else:
        anchor = centroid
    anchor = anchor / max(float(np.linalg.norm(anchor)), 1e-12)
    local = body - r.start
    out["summary"][local] = _z(vectors[body] @ anchor)
    position = (np.arange(body.size) + 0.5) / body.size
    out["early"][local] = np.maximum(0.0, 1.0 - position / EARLY_SHARE)
    out["recommends"][local] = [
        bool(_RECOMMENDS.search(doc.text[layer.sentences[i].start : layer.sentences[i].end])) for i in body
    ]
    return out
