"""The chat page: Gradio components wired to ``rag.chat.session``. No logic lives here.

Start it with ``rag serve`` (safe launch settings, see ``rag/chat/serve.py``), or
``gradio ui/app.py`` for hot reload while editing. ``demo`` is built on first
access, so importing this file (tests, ``rag serve``) loads no model by itself.
"""

from __future__ import annotations

import os
import time

# Before gradio is imported: it reads these at import time.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag  # noqa: E402
from rag.chat.session import ChatView, empty_view, open_citation, respond  # noqa: E402
from rag.answer.question import MAX_QUESTION_CHARS  # noqa: E402
from rag.chat.render import essay_html, essays_html  # noqa: E402
from rag.retrieval.registry import RETRIEVERS  # noqa: E402
from rag.chat.documents_panel import Holder, build_documents_panel  # noqa: E402

STREAM_PAUSE_S = 0.03  # between streamed pieces, so the answer visibly arrives

EXAMPLES = [
    "Who is Michael Kofman?",
    "What did he say next?",
    "Why does the author think the West needs to offer Putin an off-ramp?",
    "And the other essay?",
    "What is the best recipe for sourdough bread?",
]

# Clicks on a citation in the chat ([n] links) or on a source entry / essay
# title (data-cite) are caught once for the whole page and sent to Python as
# the essay viewer's "cite" event, which shows the essay. Capture phase, so the chat's own link
# handling (open in a new tab) never runs.
CITE_JS = """
window.__ragOpen = (key) => trigger('cite', {key: key});
if (!window.__ragCiteListener) {
  window.__ragCiteListener = true;
  const pick = (event) => {
    const el = event.target && event.target.closest
      ? event.target.closest('[data-cite], a[href^="#cite-"]') : null;
    if (!el) return;
    const key = el.getAttribute('data-cite') || el.getAttribute('href').slice('#cite-'.length);
    event.preventDefault();
    event.stopPropagation();
    window.__ragOpen(key);
  };
  document.addEventListener('click', pick, true);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') pick(event);
  }, true);
}
"""

# After the essay viewer re-renders, bring the marked span into view.
SCROLL_JS = """
watch('value', () => {
  const mark = element.querySelector('mark');
  if (mark) { mark.scrollIntoView({block: 'center'}); return; }
  const essay = element.querySelector('.rag-essay');
  if (essay) essay.scrollTop = 0;
});
"""

CSS = """
.rag-searched { font-size: 0.9em; opacity: 0.85; padding: 2px 4px; overflow-wrap: anywhere; }
.rag-query { font-style: italic; }
.rag-why, .rag-scope, .rag-span { opacity: 0.75; font-size: 0.9em; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 8px; cursor: pointer; }
.rag-source:hover, .rag-source:focus { border-color: var(--color-accent); outline: none; }
.rag-passage { white-space: pre-wrap; margin-top: 4px; font-size: 0.92em; line-height: 1.45; }
.rag-essay { white-space: pre-wrap; max-height: 420px; overflow-y: auto; padding: 8px 10px;
  border: 1px solid var(--border-color-primary); border-radius: 8px; line-height: 1.5; }
.rag-essay-head { margin: 10px 0 6px; }
mark { background: #ffe066; color: #111; border-radius: 2px; padding: 0 1px; }
.rag-essays { margin: 0; padding-left: 1.1em; }
.rag-essays li { cursor: pointer; margin: 4px 0; }
.rag-essays li:hover { text-decoration: underline; }
.rag-empty, .rag-note { opacity: 0.75; font-size: 0.92em; margin: 4px 0 8px; }
.rag-table-wrap { overflow-x: auto; }
.rag-inspector table { border-collapse: collapse; font-size: 0.85em; min-width: 560px; }
.rag-inspector th, .rag-inspector td { border: 1px solid var(--border-color-primary); padding: 4px 6px;
  vertical-align: top; text-align: left; }
.rag-hit-quoted { background: rgba(255, 224, 102, 0.25); }
.rag-quoted { background: #ffe066; color: #111; border-radius: 4px; padding: 0 4px; font-size: 0.85em; }
.rag-snip { opacity: 0.85; }
"""


def build_demo(rag: Rag, adding: bool = False) -> gr.Blocks:
    """The page for an opened ``Rag``; one per server. ``adding``: documents can be added and removed."""
    holder = Holder(rag)  # the index answering now (adding or removing swaps it)
    documents = rag.index.documents
    counts: dict[str, int] = {}
    for chunk in rag.index.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    start = empty_view(rag)

    def outputs_of(view: ChatView, textbox_value=gr.skip()):
        return (textbox_value, view.messages, view.searched, view.sources, view.inspector,
                view.record, view.turns)

    def chat(question: str, retriever: str, k: float, turns, scope=None):
        first = True
        for view in respond(holder.for_scope(scope), question, turns or (), int(k), retriever):
            # The first update empties the textbox; later ones leave it alone
            # so that typing the next question during streaming is kept.
            yield outputs_of(view, "" if first else gr.skip())
            first = False
            if not view.done:
                time.sleep(STREAM_PAUSE_S)

    def cite(turns, evt: gr.EventData):
        key = (getattr(evt, "_data", None) or {}).get("key", "")
        return open_citation(holder.rag, key, turns or ()), gr.Tabs(selected="sources")

    def clear():
        view = empty_view(holder.rag)
        return ("", view.messages, view.searched, view.sources, view.inspector, view.record, (),
                essay_html(None))

    with gr.Blocks(title="Ask the essays") as demo:
        turns = gr.State(())
        gr.Markdown(
            "## Ask the essays\n"
            "Every answer is made only of **exact quotations** from the essays, each numbered like [1]. "
            "Click a number or a source to read the whole essay at that spot. If the essays do not "
            "answer, you are told so."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    value=start.messages, label="Conversation", height=520, buttons=["copy"],
                    latex_delimiters=[], sanitize_html=True, allow_tags=False, feedback_options=None,
                    elem_id="rag-chat", placeholder="Ask a question about the essays below.",
                )
                searched = gr.HTML(start.searched, elem_id="rag-searched", js_on_load=None)
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask about the essays, e.g. “Who is Michael Kofman?”", show_label=False,
                        scale=5, min_width=150, max_lines=4, elem_id="rag-question", autofocus=True,
                        max_length=MAX_QUESTION_CHARS,
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=60, elem_id="rag-ask")
                    clear_btn = gr.Button("Clear", scale=1, min_width=60, elem_id="rag-clear")
                examples = gr.Examples(EXAMPLES, inputs=[question], label="Example questions (click, then Ask)")
                with gr.Accordion("Settings", open=False):
                    retriever = gr.Radio(list(RETRIEVERS), value=DEFAULT_RETRIEVER, label="Retriever",
                                         info="How passages are ranked: meaning (dense), words (bm25), both fused by rank (hybrid), or both plus sentence-level evidence (fusion, the default).")
                    k = gr.Slider(1, 10, value=DEFAULT_K, step=1, label="Passages to retrieve")
                with gr.Accordion(f"Indexed essays ({len(documents)})", open=True):
                    gr.HTML(essays_html(documents, counts), elem_id="rag-essays", js_on_load=None)
                with gr.Accordion("Documents: search in, add, remove" if adding else "Documents: search in",
                                  open=adding, elem_id="rag-documents"):
                    documents_panel = build_documents_panel(holder, adding)
            with gr.Column(scale=2, min_width=320):
                with gr.Tabs(selected="sources") as tabs:
                    with gr.Tab("Sources", id="sources"):
                        sources = gr.HTML(start.sources, elem_id="rag-sources", js_on_load=None)
                        essay = gr.HTML(essay_html(None), elem_id="rag-essay", js_on_load=CITE_JS + SCROLL_JS)
                    with gr.Tab("Retrieval inspector", id="inspector"):
                        inspector = gr.HTML(start.inspector, elem_id="rag-inspector", js_on_load=None)
                        record = gr.JSON(value=start.record, label="Answer as JSON")

        outputs = [question, chatbot, searched, sources, inspector, record, turns]
        gr.on(
            [question.submit, ask.click], chat, [question, retriever, k, turns, documents_panel.scope], outputs,
            api_name="chat", concurrency_limit="default", show_progress="minimal",  # rag.chat.serve.CONCURRENCY
            # A question asked while one is streaming runs after it, not never.
            trigger_mode="always_last",
        )
        essay.cite(cite, [turns], [essay, tabs], api_visibility="undocumented", queue=False)
        clear_btn.click(clear, None, [*outputs, essay], api_visibility="undocumented", queue=False)
        # The chat's own trash icon must forget the turns too, or a follow-up
        # would lean on a conversation the user no longer sees.
        chatbot.clear(clear, None, [*outputs, essay], api_visibility="undocumented", queue=False)
    return demo
