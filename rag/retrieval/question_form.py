"""The parts of an essay around its argument: headline, subtitle, photo
credit, dateline.

A reader asks about them ("What is the headline?", "Who took the photo?",
"When was it published?") in words that resemble none of them, so
similarity cannot find them; their place in the document can. Each is found
from the text alone: the headline is the document's title
(rag.ingest.corpus.find_title), the subtitle the line after it, a photo credit a
short line naming an agency or a "Source:", the dateline a short line that
opens with "Published" (or "Posted", "Updated").
"""

from __future__ import annotations

import re

import numpy as np

from rag.ingest.layout import (
    CREDIT_LINE, DATELINE, NOT_SUBTITLE, is_furniture, lines, prose_start,
)
from rag.words import STOPWORDS
from rag.index.lexical import stem_words
from rag.index.sentence_layer import SentenceLayer
from rag.types import Document

_SUBTITLE_Q = re.compile(
    r"\b(subtitle|sub-?headline|subheading|standfirst|dek|tagline|strapline)\b"
    r"|\b(summary|line|sentence|text)\b[^?]*\b(beneath|below|under|after)\b[^?]*\b(headline|title)\b",
    re.I,
)
_PICTURE = r"(photo|photograph|picture|image|illustration)s?"
_CREDIT_Q = re.compile(
    rf"\bphotographer\b|\b{_PICTURE}\b[^?]*\b(credit(ed|s)?|source|took|taken|shot|by|from)\b"
    rf"|\b(credit(ed|s)?|source|took|taken|shot)\b[^?]*\b{_PICTURE}\b",
    re.I,
)
_DATELINE_Q = re.compile(
    r"\bwhen\b[^?]*\b(published|posted|written|dated|released|came out)\b"
    r"|\b(publication|posting) date\b|\bdate of (publication|posting)\b"
    r"|\b(what|which) (date|day)\b[^?]*\b(published|posted|dated)\b",
    re.I,
)
# How an essay ends: "How does the commentary conclude?", "What conclusion
# does the author reach?". Only with the essay or its author as the subject:
# "When will the war end?" and "What conclusions were drawn?" are not about
# the essay's closing paragraph.
_DOC = r"(essay|commentary|article|piece|op-ed|column|author|writer)"
_ENDING_Q = re.compile(
    rf"\b(does|did|do) (the|this|that|each) {_DOC} (conclude|end|close|finish|wrap up|sign off)\b"
    rf"|\b(the|this|that) {_DOC} (concludes|ends|closes|finishes) (with|by|on)\b"
    rf"|\b(conclusions?|closing (thoughts?|points?|arguments?|lines?|words?)"
    rf"|final (thoughts?|points?|words?|arguments?|paragraph|lines?))\b"
    rf"[^?]*\b(does|did) (the|this|that) {_DOC} (reach|draw|make|offer|come to|arrive at|leave)\b"
    rf"|\b{_DOC}'s (conclusion|closing|final)\b|\bend of (the|this|that) {_DOC}\b",
    re.I,
)
# Not "heading": "where is the war heading?" is no question about a headline.
_TITLE_Q = re.compile(r"\b(title|headline)s?\b", re.I)


# First match wins: "When was the essay titled … published?" asks for a date.
_PARTS = (("subtitle", _SUBTITLE_Q), ("credit", _CREDIT_Q), ("dateline", _DATELINE_Q), ("title", _TITLE_Q))
# "What are the titles of the two essays?": the part of every essay, not of the one the question matches.
_EVERY_Q = re.compile(r"\b(both|two|each)\b.*\b(essays|articles|pieces|texts)\b|\b(essays|articles)'? titles\b", re.I)


def asks_for(question: str) -> str | None:
    """Which part of the essay a question asks for: "subtitle", "credit", "dateline", "title" or None.

    A dateline only when the question speaks of an essay: "When was the
    Minsk agreement written?" is about the world, and a part question is
    answered from the essay's header without the weak-match check."""
    part = next((part for part, pattern in _PARTS if pattern.search(question)), None)
    if part == "dateline" and not speaks_of_a_document(question):
        return None
    return part


def asks_for_every(question: str) -> bool:
    return bool(_EVERY_Q.search(question))


def asks_for_ending(question: str) -> bool:
    """The question asks how an essay concludes (see _ENDING_Q)."""
    return bool(_ENDING_Q.search(question))


def part_sentences(part: str, layer: SentenceLayer, documents: dict[str, Document]) -> list[int]:
    """The sentence ids that make up ``part`` in every document, in corpus order."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for doc_id, doc in documents.items():
        doc_lines = lines(doc)
        titles = [i for i, (a, b) in enumerate(doc_lines) if doc.text[a:b].strip() == doc.title]
        if part == "title":
            spans[doc_id] = [doc_lines[i] for i in titles[:1]]
        elif part == "subtitle":
            after = [(a, b) for a, b in doc_lines[titles[0] + 1 :] if not is_furniture(doc.text[a:b])] if titles else []
            spans[doc_id] = after[:1]
        elif part == "credit":
            spans[doc_id] = [(a, b) for a, b in doc_lines
                             if b - a <= 120 and CREDIT_LINE.search(doc.text[a:b]) and not NOT_SUBTITLE.search(doc.text[a:b])]
        elif part == "dateline":
            spans[doc_id] = [(a, b) for a, b in doc_lines if b - a <= 120 and DATELINE.search(doc.text[a:b])][:1]
    return [s.sentence_id for s in layer.sentences
            if any(a <= s.start and s.end <= b for a, b in spans.get(s.doc_id, ()))]


def closing_sentences(layer: SentenceLayer, documents: dict[str, Document]) -> list[int]:
    """The sentence ids of each document's closing paragraph: its last line
    of prose (over 100 characters, not a byline, dateline or credit)."""
    ids: list[int] = []
    for doc_id, doc in documents.items():
        prose = [(a, b) for a, b in lines(doc) if b - a > 100 and not is_furniture(doc.text[a:b])]
        if prose:
            a, b = prose[-1]
            ids.extend(s.sentence_id for s in layer.sentences if s.doc_id == doc_id and a <= s.start and s.end <= b)
    return ids


_GENRE_Q = re.compile(r"\b(essay|commentary|article|piece|op-ed|column|editorial)s?\b", re.I)
_GENRES = frozenset("essay essays article articles piece pieces commentary column editorial".split())
_TERM = re.compile(r"[a-z0-9]+")


def _terms(text: str) -> set[str]:
    return set(stem_words([w for w in _TERM.findall(text.lower()) if w in _GENRES or w not in STOPWORDS]))


def header_terms(doc: Document) -> frozenset[str]:
    """Stemmed content words of a document's header (all of it without prose)."""
    end = prose_start(doc)
    return frozenset(_terms(doc.text if end is None else doc.text[:end]))


def header_sentences(layer: SentenceLayer, documents: dict[str, Document]) -> list[int]:
    """The sentence ids of every document's header (none without prose)."""
    ids: list[int] = []
    for doc_id, doc in documents.items():
        end = prose_start(doc) or 0
        ids.extend(s.sentence_id for s in layer.sentences if s.doc_id == doc_id and s.end <= end)
    return ids


def speaks_of_a_document(question: str) -> bool:
    """The question says "essay", "article", "commentary" or the like: only then
    can it name one (see named_document)."""
    return bool(_GENRE_Q.search(question))


def named_document(question: str, headers: dict[str, frozenset[str]]) -> str | None:
    """The document a question names ("the off-ramp essay", "the commentary
    on negotiating with Putin"), by the words it shares with each header,
    each weighted by how few headers hold it; None unless one document wins
    outright. Only when the question speaks of an essay, article or the like."""
    if len(headers) < 2 or not speaks_of_a_document(question):
        return None
    asked = _terms(question)
    n = len(headers)
    df: dict[str, int] = {}
    for terms in headers.values():
        for t in terms & asked:
            df[t] = df.get(t, 0) + 1
    weight = {t: np.log((n + 1) / k) for t, k in df.items() if k < n}
    scores = sorted(((sum(weight.get(t, 0.0) for t in terms & asked), doc_id) for doc_id, terms in headers.items()),
                    reverse=True)
    (best, doc_id), (second, _) = scores[0], scores[1]
    return doc_id if best > 0 and best > second else None


def ranked_parts(part: str, layer: SentenceLayer, documents: dict[str, Document], score: np.ndarray,
                 every: bool) -> list[list[int]]:
    """The sentence ids of ``part``, grouped by document, the document the
    question matches best (by its best sentence ``score``) first; only that
    document's unless ``every``."""
    by_doc: dict[str, list[int]] = {}
    for i in part_sentences(part, layer, documents):
        by_doc.setdefault(layer.sentences[i].doc_id, []).append(i)
    best_in_doc: dict[str, float] = {}
    for s in layer.sentences:
        best_in_doc[s.doc_id] = max(best_in_doc.get(s.doc_id, -np.inf), float(score[s.sentence_id]))
    ranked = sorted(by_doc.values(), key=lambda ids: -best_in_doc[layer.sentences[ids[0]].doc_id])
    return ranked if every else ranked[:1]
