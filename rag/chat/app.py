"""The chat page: Gradio components wired to ``rag.chat.session``. No logic lives here.

Start it with ``rag serve`` (safe launch settings, see ``rag/chat/serve.py``), or
``gradio ui/app.py`` for hot reload while editing. ``demo`` is built on first
access, so importing this file (tests, ``rag serve``) loads no model by itself.

The conversation is our own HTML (``rag.chat.render``), not ``gr.Chatbot``:
the Chatbot renders Markdown (a quotation had to be escaped for it, and its
copy button copied those escapes and the citation links), scrolls to the end
of each answer, and has no place for an answer's sources.
"""

from __future__ import annotations

import os
from typing import Any

# Before gradio is imported: it reads these at import time.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr

from rag.answer.question import MAX_QUESTION_CHARS
from rag.chat.assets import (  # noqa: F401  (CSS, theme: rag.chat.serve passes them to launch)
    CSS,
    NARROW_PX,
    theme,
)
from rag.chat.documents_panel import Holder, build_documents_panel
from rag.chat.examples import example_questions
from rag.chat.flight import DELIVERED, STOPPED, Flights
from rag.chat.panels import documents_html
from rag.chat.restore import new_key, restore, saved_state
from rag.chat.scripts import CHAT_JS, QUESTION_JS, VIEWER_JS
from rag.chat.session import ChatView, finished_view, open_citation, reask, respond
from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag

# Plain words for the registered retrievers (rag.retrieval.registry).
SEARCH_BY = [("meaning", "dense"), ("exact words", "bm25"), ("both", DEFAULT_RETRIEVER)]

HEADER = (
    '<div class="rag-header"><h1>Ask the documents</h1><p>Every answer is made only of exact quotations from '
    "the documents listed here, each numbered like [1]: click a number to read the passage in its document. "
    "When the documents do not answer, you are told so.</p></div>"
)
STOPPED_SAID = "Stopped."
STOPPED_BACK = "Stopped. Your question is back in the box."


def examples_for(rag: Rag) -> list[str]:
    """The first screen's examples, from the index's own documents (rag.chat.examples)."""
    return example_questions(rag.index.documents)


def _listing(rag: Rag) -> str:
    counts: dict[str, int] = {}
    for chunk in rag.index.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    return documents_html(rag.index.documents, counts)


def build_demo(rag: Rag, adding: bool = False) -> gr.Blocks:
    """The page for an opened ``Rag``; one per server. ``adding``: documents can be added and removed
    (rag.chat.documents_panel); the index answering is then ``holder.rag``, swapped when they change."""
    holder = Holder(rag)
    flights = Flights()
    start = finished_view(rag, ())
    key = new_key()  # signs what the browser keeps; never sent to it

    def emit(view: ChatView, clear_box: bool):
        """Output values for one view; the question box is emptied once, when its question is taken."""
        taking = clear_box and not view.done
        return (
            "" if taking else gr.skip(),
            view.conversation,
            view.panel,
            view.inspector,
            view.record,
            view.turns,
            saved_state(view.turns, key) if view.done else gr.skip(),
            view.asking,
            gr.Button(interactive=False) if taking else gr.skip(),
            gr.Button(interactive=not view.done),
            view.status,
        )

    def ended(view: ChatView):
        """An answer's last output after Stop or Clear: the page they left, the box and Ask as they left them."""
        return (
            gr.skip(),
            view.conversation,
            view.panel,
            view.inspector,
            view.record,
            view.turns,
            saved_state(view.turns, key),
            "",
            gr.skip(),
            gr.Button(interactive=False),
            gr.skip(),
        )

    def answer(request: gr.Request, views, clear_box: bool):
        """``views`` (pending, then final) to the page, unless Stop or Clear came first (rag.chat.flight)."""
        flight = flights.begin(getattr(request, "session_hash", None))
        before = None
        try:
            for view in views:
                if before is None:
                    before = view.turns  # the conversation as it was: what Stop goes back to
                if view.done and not flights.deliver(flight, view.turns):
                    stopped = flights.state(flight) == STOPPED
                    yield ended(finished_view(holder.rag, before if stopped else ()))
                    return
                yield emit(view, clear_box)
        finally:
            cleared = flights.finish(flight)
        if cleared:  # Clear came after the answer: the answer's last output must not bring it back
            yield ended(finished_view(holder.rag, ()))

    def chat(question: str, retriever: str, k: float, turns, request: gr.Request):
        rag_now = holder.for_session(request)
        yield from answer(request, respond(rag_now, question, turns or (), k, retriever), clear_box=True)

    def example(text: str):
        # A function per example, not functools.partial: Gradio then sees the
        # gr.Request parameter and does not count it as an input.
        def ask_example(retriever: str, k: float, turns, request: gr.Request):
            # Asks at once; a draft in the box stays where it is.
            yield from answer(
                request, respond(holder.for_session(request), text, turns or (), k, retriever), clear_box=False
            )

        return ask_example

    def search_by_changed(choice: str, k: float, turns, request: gr.Request):
        views = reask(holder.for_session(request), turns or (), k, choice)
        for values in answer(request, views, clear_box=False):
            yield (*values, choice)

    def k_changed(retriever: str, k: float, turns, request: gr.Request):
        yield from answer(request, reask(holder.for_session(request), turns or (), k, retriever), clear_box=False)

    def cite(turns, evt: gr.EventData):
        # event_data is whatever the client sent: the page's own citations send {"key": ...}.
        data = getattr(evt, "_data", None)
        key = data.get("key", "") if isinstance(data, dict) else ""
        return open_citation(holder.rag, key, turns or ())

    def stopped(turns, asking: str, draft: str, request: gr.Request):
        outcome, delivered = flights.stop(request.session_hash)
        if outcome == DELIVERED:  # the answer got there first: Stop shows that same answer
            turns = delivered
        view = finished_view(holder.rag, turns or ())
        back = outcome == STOPPED and bool(asking) and not (draft or "").strip()
        said = (STOPPED_BACK if back else STOPPED_SAID) if outcome == STOPPED else ""
        return (
            view.conversation,
            view.panel,
            view.inspector,
            view.record,
            view.turns,
            saved_state(view.turns, key),
            "",
            asking if back else gr.skip(),
            gr.Button(interactive=bool((asking if back else draft or "").strip())),
            gr.Button(interactive=False),
            said,
        )

    def cleared(request: gr.Request):
        flights.clear(request.session_hash)
        view = finished_view(holder.rag, ())
        return (
            view.conversation,
            view.panel,
            view.inspector,
            view.record,
            (),
            saved_state((), key),
            "",
            gr.Button(interactive=False),
            "",
        )

    def restored(saved):
        if not saved:  # nothing kept: leave the page alone (a question may already be on its way)
            return (gr.skip(),) * 6
        turns, problem = restore(holder.rag, saved, key)
        view = finished_view(holder.rag, turns, problem)
        return view.conversation, view.panel, view.inspector, view.record, view.turns, view.status

    with gr.Blocks(title="Ask the documents") as demo:
        turns = gr.State(())
        asking = gr.State("")
        saved = gr.BrowserState({}, storage_key=f"rag-conversation-{rag.index.fingerprint[:16]}")
        with gr.Row(elem_id="rag-top", equal_height=False):
            with gr.Column(scale=3, min_width=300, elem_id="rag-intro"):
                gr.HTML(HEADER, elem_id="rag-header")
            # The documents panel: the list of indexed documents, "Search in", and adding and removing.
            with gr.Column(scale=2, min_width=300, elem_id="rag-documents"):
                documents = build_documents_panel(holder, adding, listing=_listing)
        with gr.Row(equal_height=False, elem_id="rag-main"):
            with gr.Column(scale=3, min_width=340, elem_id="rag-left"):
                conversation = gr.HTML(start.conversation, elem_id="rag-chat", js_on_load=CHAT_JS)
                with gr.Row(elem_id="rag-input"):
                    # No max_length: the browser would cut a long paste silently. The counter
                    # below says where the search stops, and the answer says it was cut.
                    question = gr.Textbox(
                        placeholder="Ask a question about the documents",
                        label="Your question",
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        elem_id="rag-question",
                        container=False,
                    )
                    ask = gr.Button(
                        "Ask", variant="primary", interactive=False, elem_id="rag-ask", scale=0, min_width=72
                    )
                    stop = gr.Button("Stop", interactive=False, elem_id="rag-stop", scale=0, min_width=72)
                    clear_btn = gr.Button("Clear", elem_id="rag-clear", scale=0, min_width=72)
                # The length counter, and the focus on the box without scrolling the page (rag.chat.scripts).
                gr.HTML(
                    "",
                    elem_id="rag-count",
                    js_on_load=QUESTION_JS,
                    container=False,
                    html_template=f'<p class="rag-count" aria-live="polite" data-max="{MAX_QUESTION_CHARS}" '
                    f'data-narrow="{NARROW_PX}"></p>',
                )
                status = gr.HTML(
                    "", elem_id="rag-status", html_template='<p class="rag-status" role="status">${value}</p>'
                )
                example_buttons = []
                shown = examples_for(rag)
                if shown:
                    with gr.Row(elem_id="rag-examples"):
                        example_buttons = [
                            gr.Button(q, size="sm", variant="secondary", elem_classes=["rag-example"]) for q in shown
                        ]
                with gr.Accordion("Search options", open=False, elem_id="rag-options"):
                    search_by = gr.Radio(
                        SEARCH_BY,
                        value=DEFAULT_RETRIEVER,
                        label="Search by",
                        elem_id="rag-search-by",
                        info="Meaning finds passages that say the same in other words; exact words "
                        "finds the words you typed; both (the default) weighs each sentence "
                        "both ways. Changing it asks your last question again.",
                    )
                    k = gr.Slider(
                        1,
                        10,
                        value=DEFAULT_K,
                        step=1,
                        label="Passages to read before answering",
                        elem_id="rag-k",
                        info="More finds answers spread across a document; fewer keeps answers focused. "
                        "Changing it asks your last question again.",
                    )
                    # The registry name actually used; the API takes any registered one.
                    retriever = gr.Textbox(DEFAULT_RETRIEVER, visible="hidden", elem_id="rag-retriever")
            with gr.Column(scale=2, min_width=320, elem_id="rag-side"):
                viewer = gr.HTML(start.panel, elem_id="rag-viewer", js_on_load=VIEWER_JS)
        with gr.Accordion("How the answer was found", open=False, elem_id="rag-inspect"):
            inspector = gr.HTML(start.inspector, elem_id="rag-inspector")
            record = gr.JSON(value=start.record, label="Answer as JSON (character offsets)", elem_id="rag-record")

        outputs = [question, conversation, viewer, inspector, record, turns, saved, asking, ask, stop, status]
        private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        # Nothing is cancelled: Stop and Clear end answers through rag.chat.flight, so that
        # no output of a stopped answer can land after theirs.
        gr.on(
            [question.submit, ask.click],
            chat,
            [question, retriever, k, turns],
            outputs,
            api_name="chat",
            concurrency_limit="default",
            show_progress="hidden",  # rag.chat.serve.CONCURRENCY
            # A question asked while one is being answered runs after it, not never.
            trigger_mode="always_last",
        )
        for button, text in zip(example_buttons, shown):
            button.click(example(text), [retriever, k, turns], outputs, concurrency_limit="default", **private)
        search_by.input(
            search_by_changed, [search_by, k, turns], [*outputs, retriever], concurrency_limit="default", **private
        )
        k.release(k_changed, [retriever, k, turns], outputs, concurrency_limit="default", **private)
        # In the browser alone: Ask follows the box, and typing clears a status line that is
        # no longer true ("Nothing to ask", "Stopped"), without a request per keystroke.
        question.change(
            None,
            [question],
            [ask],
            js="(q) => ({__type__: 'update', interactive: !!(q || '').trim()})",
            queue=False,
            **private,
        )
        question.input(None, None, [status], js="() => ''", queue=False, **private)
        stop.click(
            stopped,
            [turns, asking, question],
            [conversation, viewer, inspector, record, turns, saved, asking, question, ask, stop, status],
            queue=False,
            **private,
        )
        # Clear forgets the conversation; a question being typed stays in the box.
        clear_btn.click(
            cleared,
            None,
            [conversation, viewer, inspector, record, turns, saved, asking, stop, status],
            queue=False,
            **private,
        )
        viewer.cite(cite, [turns], viewer, queue=False, **private)
        demo.load(restored, [saved], [conversation, viewer, inspector, record, turns, status], queue=False, **private)
        # One list for the whole server: what another visitor added or removed shows on every page load.
        demo.load(documents.refresh, None, documents.refreshes, queue=False, **private)
    return demo
