"""Turn a follow-up question into a standalone search query.

No language model is available, so this is rule-based and deterministic: the
same question and history always give the same query. A question is
rewritten only when it cannot stand alone; a full question with a subject of
its own is searched as written, whatever came before it. It cannot stand
alone when it:
- points at "the other essay" (or article, document, one);
- asks to read on ("What did he say next?", "What happens next?", "Go on");
- leans on "he" or "she" with no name of its own and little else to search;
- leans on "it", "they" or "that" with at most one word of its own;
- has no topic word at all ("Why?", "How so?", "Really?");
- answers back with a fragment ("What about sanctions?", "And Zelensky?").
A follow-up is searched as its own words plus the topic words of the
previous query; "the other essay" and "next" also narrow where to look (a
document scope, a reading position), and "he"/"she" names the speaker.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from rag.types import Document, Position, Rewrite, Turn
from rag.words import STOPWORDS

OTHER = "asks about the other document"
NEXT = "asks what comes next"
PRONOUN = "a pronoun with no name to refer to"
NO_TOPIC = "no topic of its own"
REPLY = "answers back with a fragment"

PERSONAL = frozenset("he him his himself she her hers herself".split())
IMPERSONAL = frozenset("it its they them their theirs this that these those".split())

_OTHER_DOC = re.compile(
    r"\b(the\s+)?(other|another|different)\s+(essay|article|piece|text|author|one|document|paper|source)s?\b",
    re.IGNORECASE,
)
# Reading on. Only with little else in the question: "What might come next if
# the regime falls?" is a question about the text, not a request to continue.
_NEXT = re.compile(
    r"\bnext\s*[?.!]*\s*$|\b(what|who|and)\s+next\b|\b(happens?|happened|comes?|came|says?|said|do|does|did|goes|went)"
    r"\s+next\b|\bafter that\b|\bafterwards\b|\bthen what\b"
    r"|^\s*(go on|continue|keep going|keep reading|read on|tell me more|what else|anything else|and then)\b",
    re.IGNORECASE,
)
_REPLY_OPENING = re.compile(r"^\s*(what about|how about|and what about)\b", re.IGNORECASE)
_CONJUNCTION_OPENING = re.compile(r"^\s*(and|but|so|also|then|or)\b[\s,]*", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w’'\-]*|\d[\w.,]*", re.UNICODE)
_MENTION = re.compile(r"[\w’'\-]+")

# These three are hand-set, not measured one by one; the rules they shape
# are checked by scripts/followup_table.py (no standalone question of the
# dev and check sets rewritten, every follow-up rewritten).
# Own topic words a fragment may have and still lean on the previous turn.
FRAGMENT_WORDS = 2
# A he/she question with more than this many topic words of its own carries
# its subject ("Why did he say Putin would follow through on the threat?").
PRONOUN_WORDS = 3
MAX_CONTEXT_WORDS = 12  # words a rewritten query borrows from earlier turns, at most


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _key(word: str) -> str:
    return re.sub(r"[’']s$", "", word.lower().strip("’'-"))


def content_words(text: str) -> list[str]:
    """Topic words in order of first appearance, original spelling, no repeats."""
    seen: set[str] = set()
    out: list[str] = []
    for word in words(text):
        key = _key(word)
        if not key or key in STOPWORDS or key in seen:
            continue
        seen.add(key)
        out.append(word)
    return out


def names(text: str) -> list[str]:
    """Runs of capitalised topic words ("Michael Kofman", "NATO"), in order."""
    runs: list[list[str]] = []
    previous_end = -2
    for match in _WORD.finditer(text):
        word = match.group()
        if word[0].isupper() and _key(word) not in STOPWORDS:
            gap = text[previous_end : match.start()]
            if runs and gap.strip() == "" and previous_end >= 0:
                runs[-1].append(word)
            else:
                runs.append([word])
            previous_end = match.end()
        else:
            previous_end = -2
    return [" ".join(re.sub(r"[’']s$", "", w) for w in run) for run in runs]


def _has_name(question: str) -> bool:
    return bool(names(question))


def _own_words(question: str) -> list[str]:
    """The question's topic words, without pointers such as "the other essay"."""
    return content_words(_OTHER_DOC.sub(" ", question))


def _is_next(question: str) -> bool:
    if not _NEXT.search(question):
        return False
    plain = [w for w in _own_words(_NEXT.sub(" ", question)) if not w[0].isupper()]
    return len(plain) <= 1


def followup_reasons(question: str) -> tuple[str, ...]:
    """Why ``question`` cannot stand alone; empty when it can."""
    tokens = [w.lower() for w in words(question)]
    own = _own_words(question)
    named = _has_name(question)
    reasons: list[str] = []
    if _OTHER_DOC.search(question):
        reasons.append(OTHER)
    if _is_next(question):
        reasons.append(NEXT)
    if not named and any(t in PERSONAL for t in tokens) and len(own) <= PRONOUN_WORDS:
        reasons.append(PRONOUN)
    elif not named and any(t in IMPERSONAL for t in tokens) and len(own) <= 1:
        reasons.append(PRONOUN)
    if not own and OTHER not in reasons:
        reasons.append(NO_TOPIC)
    rest = _CONJUNCTION_OPENING.sub("", question, count=1)
    if _REPLY_OPENING.match(question) or (
        rest != question and len(content_words(rest)) <= FRAGMENT_WORDS and len(words(rest)) <= FRAGMENT_WORDS + 1
    ):
        reasons.append(REPLY)
    return tuple(dict.fromkeys(reasons))


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
            turn = Turn(turn.question, rewrite(turn.question, resolved).query, turn.doc_ids, turn.end, turn.shown)
        resolved.append(turn)
    return resolved


def _strip_pointers(question: str) -> str:
    """The question without "the other essay" and an opening "and", for searching."""
    text = _OTHER_DOC.sub(" ", question)
    text = _CONJUNCTION_OPENING.sub("", text, count=1)
    text = " ".join(text.split())
    return "" if not re.search(r"\w", text) else text


def mentions(document: Document, name: str) -> bool:
    """``document`` has the name's last word ("Kofman" for "Michael Kofman") as a word, any case."""
    last = _key(name.split()[-1]) if name.split() else ""
    return bool(last) and any(_key(w) == last for w in _MENTION.findall(document.text))


def _unmentioned(topic: Sequence[str], scope: Sequence[str], documents) -> tuple[str, ...]:
    """The topic's names (or, without names, its words) when no document in scope mentions any."""
    if not isinstance(documents, Mapping) or not topic:
        return ()
    docs = [documents[d] for d in scope if isinstance(documents.get(d), Document)]
    if not docs:
        return ()
    asked = names(" ".join(topic)) or list(topic)
    if any(mentions(doc, word) for doc in docs for word in asked):
        return ()
    return tuple(asked)


def rewrite(question: str, history=(), documents: Sequence[str] | Mapping[str, Document] = ()) -> Rewrite:
    """The standalone query for ``question`` given earlier turns.

    ``history``: earlier turns as ``Turn`` objects, plain question strings, or
    chat messages (``{"role", "content"}``, content a string or a list of text
    parts). ``documents``: every doc_id in the index (or the documents by id,
    which also lets "the other essay" say when that document never mentions
    what was asked about).
    """
    question = " ".join(str(question).split())
    turns = resolve_turns(history)
    reasons = followup_reasons(question)
    if not turns or not reasons:
        return Rewrite(question, question)
    last = turns[-1]
    own = _strip_pointers(question)
    own_keys = {_key(c) for c in content_words(own)}
    # "What does the other essay say about sanctions?" brings its own topic;
    # the other rules mean the question leans on the previous one.
    leans = bool(set(reasons) - {OTHER}) or not own_keys
    borrowed = [w for w in content_words(last.query) if _key(w) not in own_keys][:MAX_CONTEXT_WORDS] if leans else []
    # The question's own words first (they say what is asked: "why", "what
    # next"), then the topic they lean on. Borrowing content words rather than
    # the whole previous query keeps a chain of follow-ups from growing.
    query = " ".join(w for w in [own, *borrowed] if w) or last.query
    speaker = ""
    if PRONOUN in reasons and any(w.lower() in PERSONAL for w in words(question)):
        speaker = (names(last.query) or [""])[-1]
    elif NEXT in reasons:
        speaker = (names(question) or [""])[-1]
        if not speaker and any(w.lower() in PERSONAL for w in words(question)):
            speaker = (names(last.query) or [""])[-1]
    doc_ids: tuple[str, ...] = ()
    after = None
    unmentioned: tuple[str, ...] = ()
    if OTHER in reasons:
        cited = set(last.doc_ids[:1])
        doc_ids = tuple(d for d in documents if d not in cited)
        if not doc_ids or not cited:
            doc_ids = ()  # nothing to tell apart: search everything
        topic = content_words(own) or borrowed
        unmentioned = _unmentioned(topic, doc_ids, documents) if doc_ids else ()
    elif NEXT in reasons and last.end is not None:
        after = last.end
    return Rewrite(
        question,
        query,
        True,
        reasons,
        doc_ids,
        after,
        tuple(borrowed),
        speaker,
        last.shown if after is not None else (),
        unmentioned,
    )


def standalone_query(question: str, history=()) -> str:
    """The query to search for ``question`` after ``history`` (see ``rewrite``)."""
    return rewrite(question, history).query


def turn_from_answer(answer) -> Turn:
    """The memory a later follow-up needs from an ``Answer``.

    "Next" reads on after the first quotation (the best one, or the earliest
    when the answer itself read on), passing over the others already shown.
    """
    quotes = answer.quotes
    docs = tuple(dict.fromkeys(q.doc_id for q in quotes))
    if not docs:  # an abstention still looked somewhere: its best passage
        docs = tuple(dict.fromkeys(h.chunk.doc_id for h in answer.passages[:1]))
    end = Position(quotes[0].doc_id, quotes[0].end) if quotes else None
    shown = tuple((q.doc_id, q.start, q.end) for q in quotes)
    return Turn(answer.question, answer.query or answer.question, docs, end, shown)
