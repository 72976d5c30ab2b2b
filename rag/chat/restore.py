"""The conversation kept in the browser, so that it survives a reload.

Only what rebuilds the view is kept: each question, its settings, and its
answer as offsets (quotations as ``(doc_id, start, end)``, passages as chunk
ids). Nothing read back is trusted, since anyone can edit their browser's
storage (Gradio's BrowserState encrypts with a key the page itself holds):
each turn carries an HMAC under a key that never leaves the server process,
so an edited turn is refused; every value is type- and range-checked; each
quotation's text is taken from the index at its offsets and checked as any
new quotation is (``rag.answer.compose.verify_quote``), which also catches
documents that changed since; and follow-ups are rewritten again from the
restored turns. The first turn that fails drops it and every later turn (a
follow-up leans on what came before).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Sequence

from rag.answer.abstain import CAUTION
from rag.answer.compose import render_answer_text, verify_quote
from rag.answer.followup import rewrite, turn_from_answer
from rag.answer.question import MAX_QUESTION_CHARS
from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag
from rag.retrieval.registry import RETRIEVERS
from rag.types import Answer, Hit, Quote

FORMAT = 1
MAX_SAVED_TURNS = 50
MAX_QUOTES = 10
MAX_PASSAGES = 20
MAX_TEXT = 600  # an abstention's one line, or a note
FORMS = ("lookup", "broad")


def new_key() -> bytes:
    return secrets.token_bytes(32)


def signature(item: dict, key: bytes) -> str:
    body = json.dumps({k: v for k, v in item.items() if k != "sig"}, sort_keys=True, ensure_ascii=True)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def saved_state(turns: Sequence, key: bytes) -> dict:
    """The JSON the browser stores for ``turns`` (``ChatTurn``s), each turn signed with ``key``."""
    out = []
    for t in list(turns)[-MAX_SAVED_TURNS:]:
        a = t.answer
        item = {
            "id": t.id,
            "q": t.rewrite.question,
            "r": t.retriever,
            "k": t.k,
            "abstained": a.abstained,
            "text": a.text if a.abstained else "",
            "form": a.form,
            "notes": list(a.notes),
            "caution": bool(a.caution),
            "quotes": [[q.doc_id, q.start, q.end] for q in a.quotes],
            "passages": [[h.chunk.chunk_id, round(float(h.score), 6), h.retriever] for h in a.passages],
        }
        out.append({**item, "sig": signature(item, key)})
    return {"v": FORMAT, "turns": out}


class _Bad(Exception):
    """A stored value that does not check out."""


def _int(value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(value)
    return value


def _str(value, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _Bad(value)
    return value


def _list(value, limit: int) -> list:
    if not isinstance(value, list) or len(value) > limit:
        raise _Bad(value)
    return value


def _answer(rag: Rag, item: dict, question: str, query: str, retriever: str) -> Answer:
    index = rag.index
    quotes = []
    for n, row in enumerate(_list(item.get("quotes", []), MAX_QUOTES), start=1):
        doc_id, start, end = _list(row, 3)
        doc = index.documents.get(_str(doc_id, 500))
        if doc is None:
            raise _Bad(doc_id)
        start, end = _int(start, 0, len(doc.text)), _int(end, 0, len(doc.text))
        if end <= start:
            raise _Bad(row)
        try:
            quotes.append(verify_quote(index, Quote(n, doc.doc_id, doc.title, start, end, doc.text[start:end])))
        except AssertionError:
            raise _Bad(row) from None
    passages = []
    for rank, row in enumerate(_list(item.get("passages", []), MAX_PASSAGES), start=1):
        chunk_id, score, name = _list(row, 3)
        chunk = index.chunks[_int(chunk_id, 0, len(index.chunks) - 1)]
        if not isinstance(score, (int, float)) or isinstance(score, bool) or name not in RETRIEVERS:
            raise _Bad(row)
        passages.append(Hit(chunk, float(score), rank, name, index.title(chunk.doc_id)))
    abstained = item.get("abstained") is True or not quotes
    form = str(item.get("form")) if item.get("form") in FORMS else "lookup"
    text = _str(item.get("text", ""), MAX_TEXT) if abstained else render_answer_text(tuple(quotes), form == "broad")
    notes = tuple(_str(n, MAX_TEXT) for n in _list(item.get("notes", []), 5))
    # Only the flag is stored: the caution's words are ours, not the browser's.
    caution = CAUTION if item.get("caution") is True and not abstained else ""
    return Answer(question, text, abstained, tuple(quotes), tuple(passages), query, retriever, notes, form, caution)


UNSIGNED = (
    "The earlier conversation in this browser was not restored: it was kept by another run of the server, or edited."
)
CHANGED = "Part of the earlier conversation could not be restored: the documents changed since."


def restore(rag: Rag, saved, key: bytes) -> tuple[tuple, str]:
    """``(turns, problem)``: the ``ChatTurn``s rebuilt from ``saved`` (signed
    with ``key``), and, if some stored turns were dropped, why in one line."""
    from rag.chat.session import ChatTurn

    if saved in (None, {}, "", []):
        return (), ""
    if not isinstance(saved, dict) or saved.get("v") != FORMAT or not isinstance(saved.get("turns"), list):
        return (), UNSIGNED
    turns: list = []
    stored = saved["turns"][-MAX_SAVED_TURNS:]
    for item in stored:
        try:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("sig"), str)
                or not hmac.compare_digest(item["sig"], signature(item, key))
            ):
                return tuple(turns), UNSIGNED
            question = _str(item.get("q"), 4 * MAX_QUESTION_CHARS)
            retriever = str(item.get("r")) if item.get("r") in RETRIEVERS else DEFAULT_RETRIEVER
            k = _int(item.get("k", DEFAULT_K), 1, 100)
            turn_id = _int(item.get("id"), (turns[-1].id + 1) if turns else 1, 10**9)
            rw = rewrite(question, [turn_from_answer(t.answer) for t in turns], rag.index.documents)
            answer = _answer(rag, item, rw.question, rw.query, retriever)
        except (_Bad, ValueError, TypeError, IndexError, KeyError):
            return tuple(turns), CHANGED
        turns.append(ChatTurn(turn_id, rw, answer, {}, retriever, k))
    if turns:  # the inspector shows the last answer's rankings: searched again, not stored
        last = turns[-1]
        turns[-1] = ChatTurn(
            last.id, last.rewrite, last.answer, rag.compare_retrievers(last.rewrite, last.k), last.retriever, last.k
        )
    return tuple(turns), ""
