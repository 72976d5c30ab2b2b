"""Names in full: a sentence embedded on its own says "Zelensky", while the
essay introduced him once as "Ukrainian President Volodymyr Zelensky".

A sentence's word pieces for term matching (MaxSim) are taken from its text
with each bare surname written as the fullest form the same document gives
that name, so that a question about "Ukraine's leader" can meet a sentence
that only says "Zelensky" (rag.index.build, _names_in_full). Its vector,
quotations and offsets always come from the text as written.

A full form is a run of capitalised words on a body line (headline-cased
lines are skipped) that ends in two name words: words shaped like a name
("Zelensky", not "RNA" or "GTPase") that the document never writes in lower
case, or initials ("F."). A run's first word, when it opens a sentence,
counts only if the document also capitalises it after a lower-case word
("Using Cox" is not a name); leading acronyms are dropped. The longest run
ending in a surname is that surname's full form, kept only when the
surname also stands alone after a lower-case word ("if Zelensky wants"):
the mentions it would be written into. Scientific abstracts give few full
forms and those mostly harmless ("Monte Carlo", "World Health
Organization").
"""

from __future__ import annotations

import re

_WORD = r"[A-Z][\w’'.\-]*"
_RUN = re.compile(rf"{_WORD}(?: (?:of |de |von |van |bin )?{_WORD})*")
_INITIALS = re.compile(r"(?:[A-Z]\.)+")
_SENTENCE_START = re.compile(r"(?:[.!?:;][\"”’)]?\s+|[\"“(]\s*|\n)$")
_NAME = re.compile(r"[A-Z][a-z][\w’'\-]*")
_POSSESSIVE = re.compile(r"(?:’s|'s|’|')$")
_BARE = re.compile(r"\b([A-Z][\w\-]*[a-z][\w\-]*)((?:’s|'s)?)\b")


def _headline(line: str) -> bool:
    """A short line in title case without a full stop: a headline, whose
    capitals say nothing of names."""
    words = [w for w in line.split() if len(w) > 3]
    if not 0 < len(words) <= 16 or re.search(r"\w[.!?](?:\s|$)", line):
        return False
    return sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _body(text: str) -> str:
    return "\n".join("" if _headline(line) else line for line in text.split("\n"))


def _bare(word: str) -> str:
    return _POSSESSIVE.sub("", word.rstrip(".,"))


def full_names(text: str) -> dict[str, str]:
    """Surname → the fullest form of that name in ``text`` (only names written
    somewhere with more than the surname)."""
    body = _body(text)
    lower = set(re.findall(r"\b[a-z][\w’'\-]*", body))
    # Capitalised words that follow a lower-case word: names, not sentence openers.
    mid_capitals = {_bare(m.group(1)) for m in re.finditer(rf"\b[a-z][\w’'\-]*,? ({_WORD})", body)}

    def name_word(word: str) -> bool:
        if _INITIALS.fullmatch(word):
            return True
        bare = _bare(word)
        return bool(_NAME.fullmatch(bare)) and bare.lower() not in lower

    best: dict[str, list[str]] = {}
    for m in _RUN.finditer(body):
        words = m.group(0).split(" ")
        for i, w in enumerate(words[:-1]):  # a full stop that is not an initial ends the run
            if w.endswith(".") and not _INITIALS.fullmatch(w):
                words = words[: i + 1]
                break
        opens = m.start() == 0 or _SENTENCE_START.search(body[max(0, m.start() - 4) : m.start()])
        if opens and _bare(words[0]) not in mid_capitals:
            words = words[1:]
        while words and words[0].isupper() and not _INITIALS.fullmatch(words[0]):  # "CIA", "RESULTS"
            words = words[1:]
        if len(words) < 2 or not (name_word(words[-1]) and name_word(words[-2])):
            continue
        head = _bare(words[-1])
        # Only a surname that also stands alone mid-sentence is ever written out.
        if len(head) < 3 or head not in mid_capitals:
            continue
        run = words[:-1] + [head]
        if len(run) > len(best.get(head, ())):
            best[head] = run
    return {head: " ".join(run) for head, run in best.items()}


def in_full(sentence: str, names: dict[str, str]) -> str:
    """``sentence`` with each bare surname written in its full form."""
    if not names or _headline(sentence):
        return sentence

    def full(m: re.Match) -> str:
        form = names.get(m.group(1))
        # Already part of a longer name ("Volodymyr Zelensky"): leave it.
        if form is None or re.search(rf"{_WORD} $", sentence[max(0, m.start() - 40) : m.start()]):
            return m.group(0)
        return form + m.group(2)

    return _BARE.sub(full, sentence)
