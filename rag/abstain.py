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


def answer_type(question: str) -> str | None:
    if _QUANTITY_Q.search(question):
        return "quantity"
    if _YEAR_Q.search(question):
        return "date"
    return None


def has_type(text: str, kind: str | None) -> bool:
    if kind == "quantity":
        return bool(_NUMBER.search(text))
    if kind == "date":
        return bool(_DATE.search(text))
    return True


def weak_match(best_dense: float, best_maxsim: float) -> bool:
    dense_floor, terms_floor = WEAK_DENSE_AND_TERMS
    return best_dense < WEAK_DENSE or (best_dense < dense_floor and best_maxsim < terms_floor)
