"""Turn a follow-up question into a standalone search query.

No language model is available, so this is rule-based and deterministic: the
same question and history always give the same query. A question counts as a
follow-up when it cannot be searched on its own: a pronoun with no name to
anchor it ("What did he say?"), a very short question ("Why?"), an opening
connective ("And ...", "What about ..."), a request to continue ("next"), or
a pointer to "the other essay". A follow-up is searched as its own words plus
the content words of the previous standalone query; "the other essay" and
"next" also narrow where to look (a document scope, a reading position).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from rag.types import Position, Rewrite, Turn
from rag.words import STOPWORDS

# Pronouns that need an antecedent from earlier in the conversation.
PRONOUNS = frozenset("he him his she her hers it its they them their theirs this that these those there".split())

# Openings that only make sense as a reply to the previous turn.
_CONNECTIVE = re.compile(
    r"^\s*(and|but|so|also|then|what about|how about|what else|and what|tell me more|more|go on|elaborate|"
    r"why|how so|in what way|such as|for example|meaning)\b",
    re.IGNORECASE,
)
_OTHER_DOC = re.compile(
    r"\b(the\s+)?(other|second|another|different)\s+(essay|article|piece|text|author|one|document)\b",
    re.IGNORECASE,
)
_NEXT = re.compile(r"\b(next|after that|afterwards|then what|continue|continues|go on|goes on)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w’'\-]*|\d[\w.,]*", re.UNICODE)

SHORT_QUESTION_WORDS = 3
MAX_CONTEXT_WORDS = 12


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_words(text: str) -> list[str]:
    """Topic words in order of first appearance, original spelling, no repeats."""
    seen: set[str] = set()
    out: list[str] = []
    for word in words(text):
        key = word.lower().strip("’'-")
        key = re.sub(r"[’']s$", "", key)
        if not key or key in STOPWORDS or key in seen:
            continue
        seen.add(key)
        out.append(word)
    return out


def _has_name(question: str) -> bool:
    """A capitalised word that is not a stop word ("Kofman", "NATO") anchors pronouns."""
    return any(w[0].isupper() and w.lower() not in STOPWORDS for w in words(question))


def followup_reasons(question: str) -> tuple[str, ...]:
    """Why ``question`` cannot stand alone; empty when it can."""
    tokens = [w.lower() for w in words(question)]
    reasons: list[str] = []
    if _OTHER_DOC.search(question):
        reasons.append("asks about the other essay")
    if _NEXT.search(question):
        reasons.append("asks what comes next")
    if any(t in PRONOUNS for t in tokens) and not _has_name(question):
        reasons.append("a pronoun with no name to refer to")
    if len(tokens) <= SHORT_QUESTION_WORDS and not _has_name(question):
        reasons.append("a very short question")
    if _CONNECTIVE.match(question):
        reasons.append("opens as a reply")
    return tuple(reasons)


def normalise_content(content) -> str:
    """Message content as text, whoever sent it.

    The browser sends a list of parts (``{"type": "text", "text": ...}``),
    gradio_client and most code a plain string; files and components carry no
    question text and are skipped.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if content.get("type", "text") == "text" and isinstance(content.get("text"), str):
            return content["text"]
        return ""
    if isinstance(content, (list, tuple)):
        return "\n".join(t for t in (normalise_content(part) for part in content) if t)
    return ""


def turns_from_messages(messages: Iterable) -> list[Turn]:
    """Earlier user questions from chat messages (dicts or objects with role/content)."""
    turns: list[Turn] = []
    for message in messages or ():
        role = message.get("role") if isinstance(message, dict) else getattr(message, "role", None)
        content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
        if role == "user":
            text = normalise_content(content).strip()
            if text:
                turns.append(Turn(text))
    return turns


def _as_turns(history) -> list[Turn]:
    items = list(history or ())
    if all(isinstance(t, Turn) for t in items):
        return items
    if all(isinstance(t, str) for t in items):
        return [Turn(t) for t in items]
    return turns_from_messages(items)


def resolve_turns(history) -> list[Turn]:
    """Fill in each earlier turn's standalone query, oldest first.

    Turns that arrive without one (from plain chat messages) get it by running
    the same rules over the turns before them, so a chain of follow-ups keeps
    its topic.
    """
    resolved: list[Turn] = []
    for turn in _as_turns(history):
        if not turn.query:
            turn = Turn(turn.question, rewrite(turn.question, resolved).query, turn.doc_ids, turn.end)
        resolved.append(turn)
    return resolved


def _strip_pointers(question: str) -> str:
    """The question without "the other essay" and an opening "and", for searching."""
    text = _OTHER_DOC.sub(" ", question)
    text = re.sub(r"^\s*(and|but|so|also)\b[\s,]*", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    return "" if not re.search(r"\w", text) else text


def rewrite(question: str, history=(), documents: Sequence[str] = ()) -> Rewrite:
    """The standalone query for ``question`` given earlier turns.

    ``history``: earlier turns as ``Turn`` objects, plain question strings, or
    chat messages (``{"role", "content"}``, content a string or a list of text
    parts). ``documents``: every doc_id in the index, so that "the other
    essay" can name the ones not cited last time.
    """
    question = " ".join(str(question).split())
    turns = resolve_turns(history)
    reasons = followup_reasons(question)
    if not turns or not reasons:
        return Rewrite(question, question)
    last = turns[-1]
    own = _strip_pointers(question)
    borrowed = [w for w in content_words(last.query) if w.lower() not in {c.lower() for c in content_words(own)}]
    borrowed = borrowed[:MAX_CONTEXT_WORDS]
    # The question's own words first (they say what is asked: "why", "what
    # next"), then the topic they lean on. Borrowing content words rather than
    # the whole previous query keeps a chain of follow-ups from growing.
    query = " ".join(w for w in [own, *borrowed] if w) or last.query
    doc_ids: tuple[str, ...] = ()
    after = None
    if "asks about the other essay" in reasons:
        cited = set(last.doc_ids[:1]) or set(last.doc_ids)
        doc_ids = tuple(d for d in documents if d not in cited)
        if not doc_ids or not cited:
            doc_ids = ()  # nothing to tell apart: search everything
    elif "asks what comes next" in reasons and last.end is not None:
        after = last.end
    return Rewrite(question, query, True, reasons, doc_ids, after, tuple(borrowed))


def standalone_query(question: str, history=()) -> str:
    """The query to search for ``question`` after ``history`` (see ``rewrite``)."""
    return rewrite(question, history).query


def turn_from_answer(answer) -> Turn:
    """The memory a later follow-up needs from an ``Answer``."""
    quotes = answer.quotes
    docs = tuple(dict.fromkeys(q.doc_id for q in quotes))
    if not docs:  # an abstention still looked somewhere: its best passage
        docs = tuple(dict.fromkeys(h.chunk.doc_id for h in answer.passages[:1]))
    end = None
    if quotes:
        first = quotes[0].doc_id
        end = Position(first, max(q.end for q in quotes if q.doc_id == first))
    return Turn(answer.question, answer.query or answer.question, docs, end)
