"""Decide when the essays do not answer a question.

A plain similarity threshold does not work here: a question about the war
that the essays do not cover ("How many tanks has Germany sent?") is as
similar to them as a weakly matched question they do answer. So two kinds of
signal are combined:
- weak match: neither the best sentence's vector nor its term-level match
  (MaxSim) reaches what answered questions reach;
- answer type: a question that asks for a quantity or a year is not
  answered by sentences that hold no number or year, however close they are.
Thresholds were chosen on eval/essays_qa.jsonl.
"""

from __future__ import annotations

import difflib
import re

WEAK_DENSE = 0.27
WEAK_DENSE_AND_TERMS = (0.34, 0.40)  # dense below and MaxSim below: unrelated

_QUANTITY_Q = re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|amount|proportion)\b", re.I)
_YEAR_Q = re.compile(r"\b(what|which) year\b|\bwhen\b|\bwhat date\b|\bon what day\b", re.I)
# A count or an amount: digits that are not a year, or a number word. "one"
# and "two" are left out: in prose they are mostly not quantities ("one
# side", "the two countries").
_NUMBER = re.compile(
    r"(?<![\d.])(?!(1[5-9]\d\d|20\d\d)\b)\d[\d,.]*|%|\$|\b(three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|percent)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b|\b(yesterday|today|last (week|month|year))\b"
)


# "name of", "author of": the answer must name someone. "who", "which
# leader": a sentence that names someone is preferred, not required (the
# answer may be "the West" or "his French counterpart").
_NAME_Q = re.compile(r"\bname of\b|\bnamed?\b.*\?$", re.I)
# Who wrote a text is said by a byline, not by the names inside the text.
_AUTHOR_Q = re.compile(r"\bauthor of\b|\bwho (wrote|authored|is the author)\b", re.I)
_BYLINE = re.compile(r"^\s*(?:by|written by)\s+\S", re.I)
# A place the question sets its subject in ("the summit in Vilnius").
_PLACE = re.compile(r"\b(?:in|at)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
_NOT_PLACES = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)
_WORD = re.compile(r"\w+")
SPELLING_RATIO = 0.75  # difflib similarity at which two names are one name spelled two ways
_PERSON_Q = re.compile(
    r"^\s*who\b|\bwhich (\w+ )?(leader|official|diplomat|minister|president|secretary|analyst|expert|person|"
    r"people|historian|politician|photographer|journalist|general)s?\b",
    re.I,
)
_FUNCTION_WORDS = frozenset(
    "a an the in on at by for from of to with as but and or if when while after before since until "
    "this that these those it its his her their our we they he she what which who why how there here "
    "meanwhile moreover however indeed ultimately today yesterday first second third".split()
)
_PROPER = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z]\.|[A-Z][a-z]+))+")


def answer_type(question: str) -> str | None:
    """What kind of answer the question wants, where its form says: the first that matches."""
    kinds = (("quantity", _QUANTITY_Q), ("date", _YEAR_Q), ("author", _AUTHOR_Q), ("name", _NAME_Q))
    return next((kind for kind, pattern in kinds if pattern.search(question)), None)


def wants_person(question: str) -> bool:
    return bool(_PERSON_Q.search(question))


def names_someone_new(text: str, question: str) -> bool:
    """A multi-word proper name in ``text`` that the question does not already give."""
    asked = question.lower()
    for match in _PROPER.finditer(text):
        words = re.split(r"[ -]", match.group())
        before = text[: match.start()].rstrip(" “\"'(")
        if not before or before[-1] in ".!?":
            # At a sentence start "In Western capitals" is no name, but
            # "Boris Johnson, for example" is: drop leading function words.
            while words and words[0].lower() in _FUNCTION_WORDS:
                words = words[1:]
        if len(words) >= 2 and " ".join(words).lower() not in asked:
            return True
    return False


def has_type(text: str, kind: str | None, question: str = "") -> bool:
    if kind == "quantity":
        return bool(_NUMBER.search(text))
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "name":
        return names_someone_new(text, question)
    if kind == "author":
        return bool(_BYLINE.search(text))
    return True


def weak_match(best_dense: float, best_maxsim: float) -> bool:
    dense_floor, terms_floor = WEAK_DENSE_AND_TERMS
    return best_dense < WEAK_DENSE or (best_dense < dense_floor and best_maxsim < terms_floor)


def _mentioned(word: str, words: frozenset[str]) -> bool:
    """The word, or another spelling of it (Kiev / Kyiv, Donbass / Donbas), is in the corpus."""
    word = word.lower()
    if word in words:
        return True
    return any(w[0] == word[0] and abs(len(w) - len(word)) <= 2
               and difflib.SequenceMatcher(None, w, word).ratio() >= SPELLING_RATIO for w in words)


def unmentioned_name(question: str, words: frozenset[str], rare: frozenset[str]) -> str | None:
    """A person's name in the question ("Olaf Scholz", "Chancellor Scholz")
    whose surname the corpus never mentions, under any close spelling: the
    essays cannot say what that person said or did. Only a surname the
    model's vocabulary splits into several word pieces (``rare``) counts:
    "White House" or "Cold War" are names made of plain words, which a
    question may use for what the essays call "Washington" or "1962"."""
    for match in _PROPER.finditer(question):
        names = re.split(r"[ -]", match.group())
        while names and names[0].lower() in _FUNCTION_WORDS:
            names = names[1:]
        if len(names) < 2:
            continue
        surname = re.sub(r"(’s|'s)$", "", names[-1]).lower()
        if surname in rare and not _mentioned(surname, words):
            return " ".join(names)
    return None


def unmentioned_place(question: str, words: frozenset[str]) -> str | None:
    """A place the question is set in ("in Vilnius", "at Camp David") that the
    corpus never mentions, under any close spelling: the essays cannot say
    what happened there."""
    for match in _PLACE.finditer(question):
        name = match.group(1)
        if name.split()[0].lower() in _NOT_PLACES:
            continue
        if not any(_mentioned(w, words) for w in name.split()):
            return name
    return None
