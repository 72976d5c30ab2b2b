"""The chat page's behaviour, without the page: turns in, views out.

``ui/app.py`` only wires these functions to Gradio components. Keeping them
here means they are plain Python, testable without a browser, and the page
cannot drift from what the API does (it calls the same ``Rag`` methods).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag
from rag.types import Rewrite
from rag.answer.followup import rewrite, turn_from_answer
from rag.errors import RagError
from rag.failpoints import failpoint
from rag.answer.question import MAX_QUESTION_CHARS, clean_question
from rag.chat.render import (
    answer_markdown,
    escape_markdown,
    essay_html,
    inspector_html,
    searched_html,
    sources_html,
    stream_markdown,
    user_markdown,
)
from rag.retrieval.registry import RETRIEVERS
from rag.answer.serialize import answer_to_dict
from rag.types import Answer, Hit

MAX_TURNS = 50  # a session's memory is bounded; older turns drop off


@dataclass(frozen=True)
class ChatTurn:
    """One answered question, kept in the page's session state."""

    id: int
    rewrite: Rewrite
    answer: Answer
    rankings: Mapping[str, Sequence[Hit]] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatView:
    """Everything the page shows after (part of) an answer."""

    messages: list
    searched: str
    sources: str
    inspector: str
    record: dict
    turns: tuple[ChatTurn, ...]
    done: bool = True


def _text(markdown: str) -> list[dict]:
    # A list of text parts, not a bare string: Gradio runs bare strings
    # through inspect.cleandoc, which would strip a quotation's indentation.
    return [{"type": "text", "text": markdown}]


def messages_for(turns: Sequence[ChatTurn]) -> list[dict]:
    """The whole conversation as chat messages, rebuilt from the turns.

    The page never reads messages back, so what the browser sends cannot
    smuggle unescaped text into later turns.
    """
    out: list[dict] = []
    for t in turns:
        out.append({"role": "user", "content": _text(user_markdown(t.rewrite.question))})
        out.append({"role": "assistant", "content": _text(answer_markdown(t.answer, t.id))})
    return out


def record_for(turn: ChatTurn) -> dict:
    """The answer as JSON (the CLI's stable shape) plus what was searched."""
    r = turn.rewrite
    return {
        **answer_to_dict(turn.answer),
        "turn": turn.id,
        "searched_query": turn.answer.query or r.query,
        "followup": r.followup,
        "followup_reasons": list(r.reasons),
        "scope": list(r.doc_ids),
        "after": None if r.after is None else {"doc_id": r.after.doc_id, "offset": r.after.offset},
    }


def empty_view(rag: Rag, turns: Sequence[ChatTurn] = ()) -> ChatView:
    return ChatView(messages_for(turns), "", sources_html(None, 0, rag.index.documents),
                    inspector_html({}, None, DEFAULT_RETRIEVER), {}, tuple(turns))


def respond(
    rag: Rag,
    question: str,
    turns: Sequence[ChatTurn] = (),
    k: int = DEFAULT_K,
    retriever: str = DEFAULT_RETRIEVER,
) -> Iterator[ChatView]:
    """Answer ``question`` after ``turns``, yielding views as the answer streams in.

    The last view is complete (API callers only see the last one).
    """
    # Bounded work and display per question, whatever an API caller sends;
    # the search itself uses at most MAX_QUESTION_CHARS (see clean_question).
    question = str(question or "")[: 4 * MAX_QUESTION_CHARS]
    turns = tuple(turns or ())[-MAX_TURNS:]
    retriever = retriever if retriever in RETRIEVERS else DEFAULT_RETRIEVER
    k = max(1, min(int(k or DEFAULT_K), 20))
    documents = rag.index.documents
    past = messages_for(turns)
    try:
        clean_question(question or "")
    except RagError as err:
        reply = escape_markdown(f"{err}.")
        user = {"role": "user", "content": _text(user_markdown(question or ""))}
        yield ChatView([*past, user, {"role": "assistant", "content": _text(reply)}], "",
                       sources_html(None, 0, documents), inspector_html({}, None, retriever), {}, turns)
        return
    memory = [turn_from_answer(t.answer) for t in turns]
    rw = rewrite(question, memory, tuple(documents))
    turn_id = (turns[-1].id + 1) if turns else 1
    titles = {d: doc.title for d, doc in documents.items()}
    user = {"role": "user", "content": _text(user_markdown(rw.question))}
    pending = {"role": "assistant", "content": _text("*Searching the essays…*"),
               "metadata": {"status": "pending"}}
    yield ChatView([*past, user, pending], searched_html(rw, titles), sources_html(None, 0, documents),
                   inspector_html({}, None, retriever), {}, turns, done=False)

    answer = rag.answer_rewrite(rw, k=k, retriever=retriever)
    rankings = rag.compare_retrievers(rw, k)
    turn = ChatTurn(turn_id, rw, answer, rankings)
    new_turns = (*turns, turn)[-MAX_TURNS:]
    searched = searched_html(rw, titles)
    # Tell the user what cleaning did to the question (shortened, control characters removed).
    searched += "".join(f'<div class="rag-note">{html.escape(note)}</div>' for note in answer.notes)
    sources = sources_html(answer, turn_id, documents)
    inspector = inspector_html(rankings, answer, retriever)
    record = record_for(turn)
    for partial in list(stream_markdown(answer, turn_id))[:-1]:  # the last one is the final view
        bubble = {"role": "assistant", "content": _text(partial)}
        # new_turns already: a citation clicked while the answer streams must resolve.
        yield ChatView([*past, user, bubble], searched, sources, inspector, record, new_turns, done=False)
        failpoint("chat.stream.piece")
    yield ChatView(messages_for(new_turns), searched, sources, inspector, record, new_turns)


def open_citation(rag: Rag, key: str, turns: Sequence[ChatTurn]) -> str:
    """The essay viewer's HTML for a clicked citation, source entry or essay title.

    Keys: ``<turn>-q-<n>`` (quotation n), ``<turn>-p-<rank>`` (passage),
    ``doc-<doc_id>`` (a whole essay, from the list of essays).
    """
    documents = rag.index.documents
    key = str(key or "")
    if key.startswith("doc-"):
        return essay_html(documents.get(key[4:]))
    try:
        turn_s, kind, n_s = key.split("-", 2)
        turn_id, n = int(turn_s), int(n_s)
    except ValueError:
        return essay_html(None)
    turn = next((t for t in turns if t.id == turn_id), None)
    if turn is None:
        return essay_html(None)
    if kind == "q":
        quote = next((q for q in turn.answer.quotes if q.n == n), None)
        if quote is not None:
            return essay_html(documents.get(quote.doc_id), quote.start, quote.end, f"[{quote.n}]")
    if kind == "p":
        hit = next((h for h in turn.answer.passages if h.rank == n), None)
        if hit is not None:
            c = hit.chunk
            return essay_html(documents.get(c.doc_id), c.start, c.end, f"passage {hit.rank},")
    return essay_html(None)
