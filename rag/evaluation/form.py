"""Whether each quotation of an answer is whole prose: the issue-29 checks that
no quotation ends or starts mid-sentence and none is a heading, a contents
line, a running header, a page number or a reference entry.

A quotation's units are the index's own (rag.index.sentence_layer). A
paragraph that ends without a stop ends mid-sentence (strictly: one whose
author left out the stop counts too, since a figure or a page break may have
cut it); a list item only when its sentence goes on after it (a colon,
"; or", a next unit in lower case), not where its author ended a bullet
without one. A paragraph that opens in lower case or with a closing mark,
after text that ends without a stop, starts mid-sentence. A heading, FAQ
question, contents line, reference entry or page furniture is not prose.
Code and tables are quoted whole and end as they end.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from typing import Mapping

from rag.answer.select import CLOSING, LISTED
from rag.index.sentence_layer import SentenceLayer
from rag.types import ITEM, PARAGRAPH, PROSE, TITLES, UNREAD, Document

# How a sentence ends: a stop, then any closing quotes or brackets (not a colon,
# which announces more; not a closing quote alone: '"Contributor"' is a term).
_STOPPED = re.compile(r"[.!?;…][\"”’'»)\]]*$")
FAULTS = ("ends_mid_sentence", "starts_mid_sentence", "not_prose")


class FormCheck:
    """Looks up a quotation's units in one index and names what is wrong with its form."""

    def __init__(self, layer: SentenceLayer, documents: Mapping[str, Document]):
        self.layer, self.documents = layer, documents
        self._by_doc: dict[str, list[int]] = {}
        for i, s in enumerate(layer.sentences):
            self._by_doc.setdefault(s.doc_id, []).append(i)
        self._ends = {d: [layer.sentences[i].end for i in ids] for d, ids in self._by_doc.items()}

    def units(self, doc_id: str, start: int, end: int) -> list[int]:
        """The units a span overlaps, in reading order."""
        ids = self._by_doc.get(doc_id, [])
        sentences = self.layer.sentences
        at = bisect_left(self._ends.get(doc_id, []), start + 1)
        out = []
        for i in ids[at:]:
            if sentences[i].start >= end:
                break
            out.append(i)
        return out

    def faults(self, doc_id: str, start: int, end: int) -> list[str]:
        """What is wrong with the span's form (FAULTS), none when it is whole prose or whole code."""
        ids = self.units(doc_id, start, end)
        if not ids:
            return []
        sentences = self.layer.sentences
        text = self.documents[doc_id].text
        found = []
        last, first = sentences[ids[-1]], sentences[ids[0]]
        ending = text[last.start : min(last.end, end)].rstrip()
        open_item = last.kind == ITEM and self._carries_on(ids[-1], ending)
        if last.kind in PROSE and not _STOPPED.search(ending) and (last.kind != ITEM or open_item):
            found.append("ends_mid_sentence")
        opening = text[max(first.start, start) : first.end].lstrip()[:1]
        cut = bool(text[first.start : max(first.start, start)].strip())  # the span opens inside a sentence
        if first.kind == PARAGRAPH and (cut or ((opening.islower() or opening in CLOSING) and self._runs_into(ids[0]))):
            found.append("starts_mid_sentence")
        if any(sentences[i].kind in TITLES | UNREAD for i in ids):
            found.append("not_prose")
        return found

    def _carries_on(self, i: int, ending: str) -> bool:
        """Unit ``i``, which ends without a stop, is followed by the rest of its
        sentence: it ends in a colon or a joining word or mark ("; or", ", and"), the
        next unit is in the same block, or opens in lower case or with a closing
        mark. A bullet its author ended without a stop ("Easily list, upgrade, and
        uninstall packages") before the next is not cut."""
        if ending.endswith(LISTED):
            return True
        sentences = self.layer.sentences
        if i + 1 >= len(sentences) or sentences[i + 1].doc_id != sentences[i].doc_id:
            return False
        after = sentences[i + 1]
        text = self.documents[after.doc_id].text
        head = text[after.start : after.end].lstrip()[:1]
        return "\n" not in text[sentences[i].end : after.start] or head.islower() or head in CLOSING

    def _runs_into(self, i: int) -> bool:
        """The text before unit ``i`` runs into it: it is in the same document and
        ends without a stop (a heading such as '1.1. "Contributor"' before "means
        …", or a sentence cut at a page break). "pipx is a tool …" after a stop
        or a question, or under a heading that names it, is a sentence that opens
        with a lower-case name."""
        sentences = self.layer.sentences
        if i == 0 or sentences[i - 1].doc_id != sentences[i].doc_id:
            return False
        text = self.documents[sentences[i].doc_id].text
        before = text[sentences[i - 1].start : sentences[i - 1].end].rstrip()
        first = text[sentences[i].start : sentences[i].end].split(maxsplit=1)[:1]
        if sentences[i - 1].kind in TITLES and first and re.search(rf"\b{re.escape(first[0])}\b", before, re.I):
            return False  # "pipx is a tool …" under "pipx": a sentence about what its heading names
        return not (_STOPPED.search(before) or before.endswith(":"))


def form_summary(faults_per_quote: list[list[str]]) -> dict[str, float]:
    """Each fault's share of the quotations, and the share with none."""
    n = len(faults_per_quote)
    counts = Counter(f for faults in faults_per_quote for f in set(faults))
    summary = {f"{fault}_rate": (counts[fault] / n if n else 0.0) for fault in FAULTS}
    summary["whole_prose_rate"] = (sum(not f for f in faults_per_quote) / n) if n else 1.0
    return summary
