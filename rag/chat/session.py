"""The chat page's behaviour, without the page: turns in, views out.

``rag.chat.app`` only wires these functions to Gradio components. Keeping
them here means they are plain Python, testable without a browser, and the
page cannot drift from what the API does (it calls the same ``Rag`` methods).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

from rag.answer.followup import rewrite, turn_from_answer
from rag.answer.question import MAX_QUESTION_CHARS, clean_question
from rag.answer.serialize import answer_to_dict
from rag.chat import panels
from rag.chat.language import documents_language, language_note
from rag.chat.render import answer_html, conversation_html, explain, pending_html, turn_html
from rag.errors import RagError
from rag.failpoints import failpoint
from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag
from rag.retrieval.registry import RETRIEVERS, spec
from rag.types import Answer, Hit, Rewrite

MAX_TURNS = 50  # a session's memory is bounded; older turns drop off
MAX_K = 20
EMPTY = "Nothing to ask: the question is empty. Type a question, then press Ask."


@dataclass(frozen=True)
class ChatTurn:
    """One answered question, kept in the page's session state."""

    id: int
    rewrite: Rewrite
    answer: Answer
    rankings: Mapping[str, Sequence[Hit]] = field(default_factory=dict)
    retriever: str = DEFAULT_RETRIEVER
    k: int = DEFAULT_K


@dataclass(frozen=True)
class ChatView:
    """Everything the page shows after (part of) an answer."""

    conversation: str
    panel: str
    inspector: str
    record: dict
    turns: tuple[ChatTurn, ...]
    status: str = ""
    asking: str = ""  # the question being answered, until its answer is complete
    done: bool = True


def _titles(rag: Rag) -> dict[str, str]:
    return {d: doc.title for d, doc in rag.index.documents.items()}


def rendered_turns(rag: Rag, turns: Sequence[ChatTurn], fresh: bool = False) -> list[str]:
    """Each turn as HTML; ``fresh``: the last one has just been answered (the page reveals it)."""
    documents, titles = rag.index.documents, _titles(rag)
    return [
        turn_html(
            t.id,
            t.rewrite.question,
            answer_html(t.answer, t.id, documents, t.rewrite, titles),
            fresh=fresh and i == len(turns) - 1,
        )
        for i, t in enumerate(turns)
    ]


def descriptions() -> dict[str, str]:
    return {name: spec(name).description for name in RETRIEVERS}


def record_for(turn: ChatTurn, documents=None) -> dict:
    """The answer as JSON (the CLI's stable shape) plus what was searched."""
    r = turn.rewrite
    return {
        **answer_to_dict(turn.answer, documents),
        "turn": turn.id,
        "form": turn.answer.form,
        "retriever": turn.retriever,
        "searched_query": turn.answer.query or r.query,
        "notes": list(turn.answer.notes),
        "followup": r.followup,
        "followup_reasons": list(r.reasons),
        "speaker": r.speaker,
        "scope": list(r.doc_ids),
        "after": None if r.after is None else {"doc_id": r.after.doc_id, "offset": r.after.offset},
    }


def finished_view(rag: Rag, turns: Sequence[ChatTurn], status: str = "", fresh: bool = False) -> ChatView:
    """The page for ``turns``, the last one's sources open beside it (``fresh``: just answered)."""
    turns = tuple(turns)
    if not turns:
        return ChatView(
            conversation_html([]),
            panels.empty_panel(),
            panels.inspector_html({}, None, DEFAULT_RETRIEVER),
            {},
            (),
            status,
        )
    last = turns[-1]
    documents = rag.index.documents
    return ChatView(
        conversation_html(rendered_turns(rag, turns, fresh)),
        panels.sources_panel(last.answer, last.id, last.rewrite.question, documents),
        panels.inspector_html(last.rankings, last.answer, last.retriever, descriptions()),
        record_for(last, documents),
        turns,
        status,
    )


def empty_view(rag: Rag) -> ChatView:
    return finished_view(rag, ())


def _settings(k, retriever) -> tuple[int, str]:
    retriever = retriever if retriever in RETRIEVERS else DEFAULT_RETRIEVER
    try:
        k = max(1, min(int(k or DEFAULT_K), MAX_K))
    except (TypeError, ValueError, OverflowError):
        k = DEFAULT_K
    return k, retriever


def respond(
    rag: Rag,
    question: str,
    turns: Sequence[ChatTurn] = (),
    k: float = DEFAULT_K,  # the page's slider: a number, made a whole one in range (_settings)
    retriever: str = DEFAULT_RETRIEVER,
    turn_id: int | None = None,
) -> Iterator[ChatView]:
    """Answer ``question`` after ``turns``: first the question with a placeholder, then the whole answer.

    Two views, no pacing: an answer is tens of milliseconds of work, and a
    server that paced its pieces held one of its few workers for the whole
    reveal (benchmarks/LOAD.md); the page reveals the answer itself. The
    last view is complete (API callers only see the last one). An empty
    question changes nothing but the status line.
    """
    # Bounded work and display per question, whatever an API caller sends;
    # the search itself uses at most MAX_QUESTION_CHARS (see clean_question).
    question = str(question or "")[: 4 * MAX_QUESTION_CHARS]
    turns = tuple(t for t in (turns or ()) if isinstance(t, ChatTurn))[-MAX_TURNS:]
    k, retriever = _settings(k, retriever)
    try:
        clean_question(question)
    except RagError:
        yield finished_view(rag, turns, EMPTY)
        return
    documents = rag.index.documents
    rw = rewrite(question, [turn_from_answer(t.answer) for t in turns], documents)
    turn_id = max([t.id for t in turns] + [(turn_id or 1) - 1]) + 1
    why = explain(rw, _titles(rag))
    yield ChatView(
        conversation_html(rendered_turns(rag, turns), pending_html(turn_id, rw.question, why)),
        panels.waiting_panel(),
        panels.inspector_html({}, None, retriever),
        {},
        turns,
        asking=question,
        done=False,
    )
    failpoint("chat.answer.pending")
    answer = rag.answer_rewrite(rw, k=k, retriever=retriever)
    note = language_note(rw.question, documents_language(rag.index))
    if note:
        answer = dataclasses.replace(answer, notes=(*answer.notes, note))
    turn = ChatTurn(turn_id, rw, answer, rag.compare_retrievers(rw, k), retriever, k)
    final = finished_view(rag, (*turns, turn)[-MAX_TURNS:], fresh=True)
    failpoint("chat.answer.computed")
    yield final


def reask(
    rag: Rag, turns: Sequence[ChatTurn], k: float = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER
) -> Iterator[ChatView]:
    """The last question again with new settings; its new answer replaces the old one."""
    turns = tuple(t for t in (turns or ()) if isinstance(t, ChatTurn))
    if not turns:
        yield finished_view(rag, turns)
        return
    # A fresh id, so that nothing still addressing the replaced answer opens the new one.
    yield from respond(rag, turns[-1].rewrite.question, turns[:-1], k, retriever, turn_id=turns[-1].id + 1)


def open_citation(rag: Rag, key: str, turns: Sequence[ChatTurn]) -> str:
    """The side panel for a clicked citation, source card or document title.

    Keys: ``<turn>-q-<n>`` (quotation n), ``<turn>-p-<rank>`` (related
    passage), ``<turn>-s-0`` (that answer's sources), ``doc-<doc_id>`` (a
    whole document, from the list of documents).
    """
    documents = rag.index.documents
    key = str(key or "")[:300]
    if key.startswith("doc-"):
        return panels.document_panel(documents.get(key[4:]))
    try:
        turn_s, kind, n_s = key.split("-", 2)
        turn_id, n = int(turn_s), int(n_s)
    except ValueError:
        return panels.empty_panel()
    turn = next((t for t in turns or () if isinstance(t, ChatTurn) and t.id == turn_id), None)
    if turn is None:
        return panels.empty_panel()
    answer = turn.answer
    if kind == "s":
        return panels.sources_panel(answer, turn.id, turn.rewrite.question, documents)
    if kind == "q":
        quote = next((q for q in answer.quotes if q.n == n), None)
        if quote is not None:
            return panels.document_panel(documents.get(quote.doc_id), answer, turn.id, quote_n=n)
    if kind == "p":
        hit = next((h for h in answer.passages if h.rank == n), None)
        if hit is not None:
            return panels.document_panel(documents.get(hit.chunk.doc_id), answer, turn.id, passage_rank=n)
    return panels.empty_panel()
