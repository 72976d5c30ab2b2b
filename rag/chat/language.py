"""A note when a question is not in the documents' language.

Retrieval matches the question's words (and the model's sense of them)
against the documents: a French question over English essays finds little
and is refused, which reads as "not in the documents" (issue 25). The page
says so in one line instead.

The signal is the one language identifiers have long started from: the
small words every sentence needs (articles, pronouns, auxiliaries) belong
to one language. bm25s ships such lists for a dozen languages; a text's
language is the list it hits most. General (no model, no list of topics),
and cautious: a question needs at least two such words of another language,
and more of them than of the documents' own, before anything is said.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from rag.words import STOPWORDS

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
SAMPLE_CHARS = 20_000  # of each document: plenty to tell its language
MIN_HITS = 2

# bm25s's list name, and the language's name in a sentence.
LANGUAGES = {
    "FRENCH": "French",
    "GERMAN": "German",
    "SPANISH": "Spanish",
    "ITALIAN": "Italian",
    "PORTUGUESE": "Portuguese",
    "DUTCH": "Dutch",
    "DANISH": "Danish",
    "SWEDISH": "Swedish",
    "NORWEGIAN": "Norwegian",
    "TURKISH": "Turkish",
    "RUSSIAN": "Russian",
}


@lru_cache(maxsize=1)
def _lists() -> dict[str, frozenset[str]]:
    import bm25s.stopwords as lists

    out = {"English": frozenset(STOPWORDS) | frozenset(lists.STOPWORDS_EN_PLUS)}
    for name, language in LANGUAGES.items():
        out[language] = frozenset(getattr(lists, f"STOPWORDS_{name}"))
    return out


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def hits(text: str) -> dict[str, int]:
    """How many of ``text``'s words are small words of each language."""
    words = _words(text)
    return {language: sum(w in small for w in words) for language, small in _lists().items()}


def language_of(texts: Iterable[str]) -> str | None:
    """The language most of ``texts``' small words belong to (None when none are found)."""
    counts = hits(" ".join(t[:SAMPLE_CHARS] for t in texts))
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else None


@lru_cache(maxsize=8)
def _documents_language(fingerprint: str, texts: tuple[str, ...]) -> str | None:
    return language_of(texts)


def documents_language(index) -> str | None:
    """The language of an index's documents, found once per index."""
    return _documents_language(index.fingerprint, tuple(d.text[:SAMPLE_CHARS] for d in index.documents.values()))


def language_note(question: str, documents: str | None) -> str:
    """One line when ``question`` looks written in another language than ``documents``; else ""."""
    if not documents:
        return ""
    counts = hits(question)
    best = max(counts, key=counts.__getitem__)
    if best == documents or counts[best] < MIN_HITS or counts[best] <= counts.get(documents, 0):
        return ""
    return (
        f"your question looks {best}, and the documents are in {documents}: their words may not match. "
        f"Asking in {documents} finds more"
    )
