"""Word lists, one per purpose, shared by the stages that need them."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")

# Words that carry no topic. Kept small and explicit: content words are what
# is left, and those are what a follow-up borrows from the previous turn.
STOPWORDS = frozenset(
    """
    a an the and or but so nor yet of to in on at by for from with about as into over after before than then
    is are was were be been being am do does did done doing have has had having can could will would shall
    should may might must not no yes ok okay also too very just only more most much many some any each all
    what which who whom whose when where why how whether if else there here this that these those
    i me my we us our you your he him his she her hers it its they them their theirs one ones
    say says said tell told mean means meant think thinks thought explain explains go goes went come next
    other another essay essays article piece author writer text again please really exactly
    """.split()
)


def vocabulary(texts) -> frozenset[str]:
    """Every word of the corpus, lower-cased."""
    return frozenset(w.lower() for t in texts for w in _WORD.findall(t))
