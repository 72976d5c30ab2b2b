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
_NAME_Q = re.compile(r"\bname of\b|\bnamed?\b.*\?$|\bauthor of\b|\bwho (wrote|authored)\b", re.I)
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
    if _QUANTITY_Q.search(question):
        return "quantity"
    if _YEAR_Q.search(question):
        return "date"
    if _NAME_Q.search(question):
        return "name"
    return None


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
    return True


def weak_match(best_dense: float, best_maxsim: float) -> bool:
    dense_floor, terms_floor = WEAK_DENSE_AND_TERMS
    return best_dense < WEAK_DENSE or (best_dense < dense_floor and best_maxsim < terms_floor)
