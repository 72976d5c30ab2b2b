"""Reading on: "What did he say next?" and "What happens next?".

What comes next is a matter of position in the document, not of similarity
to the question, so these answers are the sentences that follow a reading
position, in document order. With a speaker ("he" = Michael Kofman), only
the sentences attributed to that person count: those that name them with a
verb of saying or as the subject, and, right after one of those in the
same paragraph, a "he said"/"she said" or a quotation that carries on.
Sentences the previous answer already showed are passed over.
"""

from __future__ import annotations

import bisect
import re
from typing import Sequence

from rag.ingest.layout import is_furniture, paragraph_starts, prose_start
from rag.types import Document

MAX_SENTENCES = 3  # sentences "what did he say next?" quotes; hand-set, not measured

_SPEECH = re.compile(
    r"\b(said|says|told|tells|added|adds|warned|warns|wrote|writes|argued|argues|explained|explains|noted|notes|"
    r"asked|asks|replied|insisted|insists|cautioned|stated|states|declared|continued|continues|according to|"
    r"believes|believed|worried|warning|predicted|predicts|put it|suggested|suggests|concluded)\b",
    re.IGNORECASE,
)
_PRONOUN_SPEECH = re.compile(
    r"\b(he|she)\s+(said|says|told|tells|added|adds|warned|warns|wrote|writes|argued|argues|explained|noted|"
    r"asked|replied|insisted|continued|went on|cautioned|stated|declared|concluded)\b",
    re.IGNORECASE,
)
_NAMED_SPEECH = re.compile(
    r"\b([A-Z][\w’'\-]+)\s+(?:said|says|told|tells|added|warned|wrote|argued|explained|noted|asked|replied)\b"
    r"|\b(?:said|says|according to)\s+([A-Z][\w’'\-]+)"
)
_OPENS_QUOTE = re.compile(r"^\s*[“\"‘]")
_WORD = re.compile(r"[\w’'\-]+")


def _surname(speaker: str) -> str:
    parts = speaker.split()
    return re.sub(r"[’']s$", "", parts[-1]).lower() if parts else ""


def _names_word(text: str, word: str) -> bool:
    return any(re.sub(r"[’']s$", "", w).lower() == word for w in _WORD.findall(text))


def _other_speaker(text: str, surname: str) -> bool:
    for match in _NAMED_SPEECH.finditer(text):
        name = (match.group(1) or match.group(2) or "").lower()
        if name and name != surname and name not in ("he", "she", "it", "they", "this", "that"):
            return True
    return False


def attributed(doc: Document, sentences: Sequence[tuple[int, int]], speaker: str) -> list[bool]:
    """For each sentence (in document order), whether it gives ``speaker``'s words."""
    surname = _surname(speaker)
    starts = paragraph_starts(doc.text)
    out: list[bool] = []
    # "He said" and a bare quotation point back one sentence: to the
    # speaker only if the sentence just before, in the same paragraph, was theirs.
    previous, previous_paragraph = False, -1
    for start, end in sentences:
        text = doc.text[start:end]
        paragraph = bisect.bisect_right(starts, start)
        named = bool(surname) and _names_word(text, surname)
        other = _other_speaker(text, surname)
        opens_quote = bool(_OPENS_QUOTE.match(text))
        subject = named and _names_word(" ".join(_WORD.findall(text)[:4]), surname)
        carries_on = previous and paragraph == previous_paragraph and not other
        if named and (_SPEECH.search(text) or opens_quote or subject):
            said = True
        else:
            said = carries_on and bool(_PRONOUN_SPEECH.search(text) or opens_quote)
        out.append(said)
        previous, previous_paragraph = said, paragraph
    return out


def _overlaps(doc_id: str, start: int, end: int, spans: Sequence[tuple[str, int, int]]) -> bool:
    return any(d == doc_id and s < end and start < e for d, s, e in spans)


def read_on(
    doc: Document,
    sentences: Sequence[tuple[int, int]],
    after: int,
    speaker: str = "",
    skip: Sequence[tuple[str, int, int]] = (),
    limit: int = MAX_SENTENCES,
) -> list[tuple[int, int]]:
    """The next ``limit`` sentence spans after offset ``after``, in document order.

    With ``speaker``, only sentences attributed to them (attribution is
    followed from the start of the document, so "he said" knows who spoke).
    """
    sentences = sorted(sentences)
    said = attributed(doc, sentences, speaker) if speaker else [True] * len(sentences)
    # Headline, credits and datelines are not what a reader reads on into.
    after = max(after, prose_start(doc) or 0)
    out: list[tuple[int, int]] = []
    for (start, end), ok in zip(sentences, said):
        if start < after or not ok or _overlaps(doc.doc_id, start, end, skip) or is_furniture(doc.text[start:end]):
            continue
        out.append((start, end))
        if len(out) >= limit:
            break
    return out


def nothing_more(title: str, speaker: str) -> str:
    """The one line for a "next" that finds nothing."""
    if speaker:
        return f"“{title}” has nothing more from {speaker} after that."
    return f"“{title}” ends there; there is nothing more to read on."


def not_mentioned(titles: Sequence[str], asked: Sequence[str]) -> str:
    """The one line for "the other essay" when it never mentions what was asked about."""
    what = " or ".join(asked)
    if len(titles) == 1:
        return f"“{titles[0]}” does not mention {what}."
    return f"None of {', '.join(f'“{t}”' for t in titles)} mentions {what}."
