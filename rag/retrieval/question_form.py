"""What a question asks for, read once from its words and handed to every
stage (retrieval, scoring, selection, abstention).

Similarity finds the passage a question resembles; some questions say more
than their topic. They ask for a summary of each document rather than a fact
("What is the main argument of each essay?"), name the document to look in
("the off-ramp essay", "the second article"), or want an answer of a kind
(a number, a date). Each reading below is a rule keyed to phrasing: it stays
only while it wins questions on held-out data (eval/README.md says which and
by how much); ``RULES`` lists the ones in use, and eval/rules_ablation.py
switches each off to measure it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from rag.index.lexical import stem_words
from rag.ingest.layout import prose_start
from rag.types import Document
from rag.words import STOPWORDS

# Each rule stays while it wins at least two questions net on held-out
# questions (eval/holdout_qa.jsonl, eval/parts/) and breaks nothing on the
# non-essay corpus (eval/other/); eval/README.md has the measurements, and
# the rules measured and removed. ``rules`` in read_question switches any off.
RULES = frozenset({"broad", "each", "named", "part"})


@dataclass(frozen=True)
class QuestionForm:
    text: str
    broad: bool = False  # a summary, main argument, key points, recommendations, agreement
    each: bool = False  # about every document concerned, not the one that matches best
    documents: tuple[str, ...] = ()  # the documents the question names; () when it names none
    part: str | None = None  # "title", "subtitle", "credit" or "dateline": a place in the header
    # "quantity", "date", "name" or "author": evidence for the answerability
    # model (is such a thing in the best candidates?), not a rule.
    answer_type: str | None = None
    # What a comparison is about ("Do the essays agree on sanctions?" →
    # "sanctions"): searched instead of the whole question, whose verbs of
    # agreeing would match passages about agreeing.
    topic: str | None = None


_DOC = (
    r"(?:essay|essays|article|articles|piece|pieces|commentary|commentaries|op-ed|op-eds|column|columns|paper|"
    r"papers|document|documents|text|texts|study|studies|report|reports|abstract|abstracts|author|authors|writer|"
    r"writers|faq|faqs|licen[cs]e|licen[cs]es|manual|manuals|guide|guides|readme|specification|spec|policy|"
    r"tutorial|howto|handbook|documentation|contract|lease|pdf)"
)
_GENRE_Q = re.compile(rf"\b{_DOC}\b", re.I)

# A summary of a document rather than a fact in it.
_BROAD_Q = re.compile(
    r"\b(summar(y|ies|ise|ize|ised|ized|ising|izing)|sum(med)? up|gist|tl;?\s?dr|overview|in a nutshell|recap"
    r"|(main|central|core|key|overall|chief|principal|big[- ]picture|primary|basic|underlying)\s+"
    r"(arguments?|points?|ideas?|messages?|claims?|thesis|theses|takeaways?|themes?|conclusions?|concerns?|worries|"
    r"recommendations?|proposals?|lessons?|positions?|contentions?|case)"
    r"|thesis|takeaways?|bottom line|what('s| is| are) (it|they|this|these|the \w+( \w+)?) (all |mainly |mostly )?about"
    r"|what (do|does|did) ([\w'’-]+ ){0,7}(recommend|propose|advocate|urge|call for|want|conclude|argue)(?=\W*$)"
    r"|what (do|does|did) ([\w'’-]+ ){0,7}(want|urge|expect|ask) (\w+ ){1,3}to do\b"
    r"|what('s| is| are) ([\w'’-]+ ){0,6}(document|file|guide|manual|faq|licen[cs]e|readme|paper|report|"
    r"specification|essay|article)s? (all |mainly |mostly )?about"
    r"|(do|does|did) (they|the (\w+ )?(essays|articles|pieces|authors|writers)) (\w+ly )?"
    r"(agree|disagree|differ)"
    r"|how (do|does) (they|the (\w+ )?(essays|articles|pieces|authors|writers)) (\w+ly )?(compare|differ)"
    r"|where (do|does) (\w+ ){0,3}stand)\b",
    re.I,
)
# Every document, not the best-matching one.
_EACH_Q = re.compile(
    r"\b(both|each|either|neither|all)\b[^?]*\b(essays?|articles?|pieces?|commentar(y|ies)|authors?|writers?|"
    r"texts?|documents?|papers?|studies|reports?)\b"
    r"|\b(the|these|those) (two|three|four) \w+"
    r"|\b(essays|articles|pieces|authors|writers|texts|documents|papers|studies)\b[^?]*\b(agree|disagree|differ|"
    r"compare|contrast|share|have in common)\b"
    r"|\b(agree|disagree|differ|compare|contrast|in common)\b[^?]*\b(essays|articles|pieces|authors|writers|texts|"
    r"documents|papers|studies)\b"
    r"|\b(do|does|did) (they|the (two|three) \w+) (agree|disagree|differ)\b"
    r"|\beach (one|of them)\b|\bboth\b",
    re.I,
)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1, "latter": -1, "former": 0}
_ORDINAL_Q = re.compile(rf"\b(first|second|third|fourth|fifth|last|latter|former)\s+{_DOC}\b", re.I)

# A place in a document's header, which its words do not resemble.
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
# Not "heading": "where is the war heading?" is no question about a headline.
_TITLE_Q = re.compile(r"\b(title|headline)s?\b", re.I)
# First match wins: "When was the essay titled … published?" asks for a date.
_PARTS = (("subtitle", _SUBTITLE_Q), ("credit", _CREDIT_Q), ("dateline", _DATELINE_Q), ("title", _TITLE_Q))

_QUANTITY_Q = re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|amount|proportion)\b", re.I)
_DATE_Q = re.compile(r"\b(what|which) year\b|\bwhat date\b|\bon what day\b|^\s*when\b", re.I)
_NAME_Q = re.compile(r"\bname of\b|\bwho is named\b", re.I)
_AUTHOR_Q = re.compile(r"\bauthor of\b|\bwho (wrote|authored|is the author)\b", re.I)
_TERM = re.compile(r"[a-z0-9]+")
_GENRE_WORDS = frozenset(
    "essay essays article articles piece pieces commentary column editorial paper papers document documents "
    "study studies report reports abstract faq license manual guide readme specification policy tutorial "
    "pdf html page word text".split()
)
# "Do the essays agree on sanctions?": what each says on a topic, side by side, not each one's thesis.
_AGREE_ON = re.compile(
    r"\b(agree|disagree|differ|diverge|compare|contrast|align)\w*\b.*?"
    r"\b(on|about|over|regarding|concerning|when it comes to)\s+(?!each|both|all|the (two|three)\b)"
    r"(?P<topic>[^?]+)",
    re.I,
)


# What people call a kind of document, as they may name it ("the FAQ", "the licence", "the PDF").
_KIND_WORDS = {
    ".pdf": "pdf",
    ".html": "html page",
    ".htm": "html page",
    ".md": "readme markdown",
    ".docx": "word",
    ".txt": "text",
}
_SYNONYMS = (("licence", "license"), ("frequently asked questions", "faq"), ("read me", "readme"))


class LazyMap(Mapping):
    """``make(value)`` for each key of ``source``, computed once, when first read."""

    def __init__(self, source: Mapping, make):
        self.source, self.make = source, make
        self.done: dict = {}

    def __getitem__(self, key):
        if key not in self.done:
            self.done[key] = self.make(self.source[key])
        return self.done[key]

    def __iter__(self):
        return iter(self.source)

    def __len__(self) -> int:
        return len(self.source)


def header_terms(doc: Document) -> frozenset[str]:
    """Stemmed content words by which a question may name a document: its
    header (its title when it has no header block), its file name and its kind."""
    end = prose_start(doc)
    head = doc.text[:end] if end is not None and end <= 2000 else doc.title
    path = doc.path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = path.rpartition(".")
    kind = _KIND_WORDS.get(f".{suffix.lower()}", "") if dot else ""
    return frozenset(_terms(" ".join((head, doc.title, re.sub(r"[-_.]+", " ", stem or path), kind))))


def _terms(text: str) -> set[str]:
    text = text.lower()
    for word, same in _SYNONYMS:
        text = text.replace(word, same)
    return set(stem_words([w for w in _TERM.findall(text) if w in _GENRE_WORDS or w not in STOPWORDS]))


def named_documents(
    question: str, documents: Mapping[str, Document], headers: Mapping[str, frozenset[str]] | None = None
) -> tuple[str, ...]:
    """The document a question names: by ordinal ("the second essay", in the
    corpus's order) or by words it shares with one document's header, each
    weighted by how few headers hold it; () unless one document wins outright.
    Only when the question speaks of a document ("essay", "article", …)."""
    ids = list(documents)
    if len(ids) < 2 or not _GENRE_Q.search(question):
        return ()
    ordinal = _ORDINAL_Q.search(question)
    if ordinal:
        at = _ORDINALS[ordinal.group(1).lower()]
        if -len(ids) <= at < len(ids):
            return (ids[at],)
    headers = headers or {d: header_terms(doc) for d, doc in documents.items()}
    asked = _terms(question)
    n = len(headers)
    df: dict[str, int] = {}
    for terms in headers.values():
        for t in terms & asked:
            df[t] = df.get(t, 0) + 1
    weight = {t: float(np.log((n + 1) / k)) for t, k in df.items() if k < n}
    scores = sorted(
        ((sum(weight.get(t, 0.0) for t in terms & asked), doc_id) for doc_id, terms in headers.items()), reverse=True
    )
    (best, doc_id), (second, _) = scores[0], scores[1]
    return (doc_id,) if best > 0 and best > second else ()


def name_terms(doc: Document) -> frozenset[str]:
    """The stemmed words of a document's own name: its title, file name and kind."""
    path = doc.path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = path.rpartition(".")
    kind = _KIND_WORDS.get(f".{suffix.lower()}", "") if dot else ""
    return frozenset(_terms(" ".join((doc.title, re.sub(r"[-_.]+", " ", stem or path), kind))))


def without_name(text: str, doc_id: str, names: Mapping[str, frozenset[str]]) -> str | None:
    """The question less the words by which it named document ``doc_id`` (those
    of its name no other document's name shares): they chose where to look,
    and would otherwise match the one sentence that repeats the name ("If a
    copy of the MPL was not distributed…") rather than the answer. None when
    nothing would be left to search for, or nothing is taken away."""
    others = frozenset().union(*(t for d, t in names.items() if d != doc_id)) if len(names) > 1 else frozenset()
    own = names[doc_id] - others - {stem_words([g])[0] for g in _GENRE_WORDS}
    kept = [w for w in re.findall(r"[\w'’-]+|[^\w\s]", text) if not (_terms(w) and _terms(w) <= own)]
    stripped = " ".join(kept)
    if stripped == " ".join(re.findall(r"[\w'’-]+|[^\w\s]", text)) or not _terms(stripped) - set(map(str, ())):
        return None
    content = [w for w in kept if w.lower() not in STOPWORDS and re.search(r"\w", w)]
    return stripped if len(content) >= 2 else None


def read_question(
    text: str,
    documents: Mapping[str, Document] = {},
    headers: Mapping[str, frozenset[str]] | None = None,
    rules: frozenset[str] = RULES,
    names: Mapping[str, frozenset[str]] | None = None,
) -> QuestionForm:
    """The form of ``text`` (an already cleaned question) under ``rules``."""

    def on(rule: str, found) -> bool:
        return rule in rules and bool(found)

    part = next((p for p, pattern in _PARTS if pattern.search(text)), None) if "part" in rules else None
    if part == "dateline" and not _GENRE_Q.search(text):
        part = None  # "When was the Minsk agreement written?" asks about the world
    plural = on("each", _EACH_Q.search(text))
    # A question about every document names none of them, whatever its words share with a headline.
    named = named_documents(text, documents, headers) if "named" in rules and not _EACH_Q.search(text) else ()
    broad = on("broad", _BROAD_Q.search(text)) and part is None
    topic = None
    agree = _AGREE_ON.search(text) if broad else None
    if agree:
        broad, plural, topic = False, "each" in rules, agree.group("topic").strip(" .!")
    if len(named) == 1 and not broad and not part and topic is None:
        topic = without_name(text, named[0], names or LazyMap(documents, name_terms))
    kind = None
    if not broad:  # evidence for the answerability model, whatever the rules
        kinds = (("quantity", _QUANTITY_Q), ("date", _DATE_Q), ("author", _AUTHOR_Q), ("name", _NAME_Q))
        kind = next((k for k, pattern in kinds if pattern.search(text)), None)
    return QuestionForm(
        text=text,
        broad=broad,
        each=plural,
        documents=named,
        part=part,
        answer_type=kind,
        topic=topic or None,
    )


def speaks_of_a_document(question: str) -> bool:
    return bool(_GENRE_Q.search(question))
