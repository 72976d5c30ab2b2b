"""The page's documents panel: the list, "Search in", and (unless read-only)
"Add documents" with a progress bar and "Remove". Components only; what
adding and removing do is rag.chat.uploads.

``build_documents_panel`` is called inside the page's documents column; the
page passes a ``holder`` whose ``rag`` is the index answering now, swapped
(never mutated) when documents change, so a question already being answered
finishes on the index it started with.

There is one list for the whole server: it is read from ``holder.rag`` on
every page load (``DocumentsPanel.refresh``) and after every add or remove.
Gradio keeps each session's copy of a component's choices and refuses a
value not among them, so a document another visitor added would be refused
by "Search in" and "Remove" until a reload; those events take their values
unprocessed and check them against the index answering now instead.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from rag.chat.render import escape
from rag.chat.uploads import ACCEPTED, Uploads, choices, document_rows, limits_note
from rag.pipeline import Rag

SUBSETS_KEPT = 4  # narrowed indexes kept in memory for "Search in" (rag.index.subset)
SCOPES_KEPT = 1000  # sessions whose "Search in" choice is remembered (others search everything)


class Holder:
    """The index answering now, narrowed copies of it for "Search in", and
    each session's choice. The choice is kept here, by session, rather than
    sent with every question, so the chat's API keeps its inputs; a caller
    that never chose searches every document."""

    def __init__(self, rag: Rag):
        self.rag = rag
        self._subsets: OrderedDict[tuple, Rag] = OrderedDict()
        self._scopes: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def set_scope(self, session: str | None, scope) -> None:
        """Remember a session's ticked documents; all of them (or none) means every document, new ones too."""
        if not session:
            return
        documents = self.rag.index.documents
        chosen = tuple(d for d in documents if d in set(scope or ()))
        self._scopes.pop(session, None)
        if chosen and len(chosen) < len(documents):
            self._scopes[session] = chosen
            while len(self._scopes) > SCOPES_KEPT:
                self._scopes.popitem(last=False)

    def for_session(self, request) -> Rag:
        """The index to search for the session that sent ``request`` (a gr.Request)."""
        return self.for_scope(self._scopes.get(getattr(request, "session_hash", None) or ""))

    def swap(self, rag: Rag) -> None:
        if rag is not self.rag:
            self.rag, self._subsets = rag, OrderedDict()

    def for_scope(self, scope) -> Rag:
        """The index to search for the documents chosen in "Search in" (all, or none chosen: the whole)."""
        from rag.index.subset import subset_index

        rag = self.rag
        chosen = tuple(d for d in rag.index.documents if d in set(scope or ()))
        if not chosen or len(chosen) == len(rag.index.documents):
            return rag
        key = (rag.index.fingerprint, chosen)
        if key not in self._subsets:
            self._subsets[key] = Rag(subset_index(rag.index, chosen), rag.embedder)
            while len(self._subsets) > SUBSETS_KEPT:
                self._subsets.popitem(last=False)
        self._subsets.move_to_end(key)
        return self._subsets[key]


@dataclass
class DocumentsPanel:
    table: Any
    scope: Any
    status: Any
    upload: Any = None
    remove_pick: Any = None
    remove: Any = None
    refresh: Callable[[], tuple] | None = None  # the list, "Search in" and "Remove" as the index holds them now
    refreshes: list = field(default_factory=list)  # the components ``refresh`` updates, in its order


def _ids(values) -> list[str]:
    """Document ids as a client sent them, unprocessed: text only."""
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _status(message: str, ok: bool) -> str:
    lines = "".join(f"<div>{escape(line)}</div>" for line in message.split("\n"))
    return f"<div class='rag-doc-status {'rag-ok' if ok else 'rag-refused'}' role='status'>{lines}</div>"


def build_documents_panel(holder: Holder, adding: bool, listing: Callable[[Rag], str],
                          library: Uploads | None = None) -> DocumentsPanel:
    """``listing(rag)``: the HTML of the document list (the page's own, refreshed after a change)."""
    rows = document_rows(holder.rag)
    table = gr.HTML(listing(holder.rag), elem_id="rag-doclist")
    ids = [r.doc_id for r in rows]
    scope = gr.CheckboxGroup(choices(rows), value=ids, label="Search in", elem_id="rag-scope",
                             info="All documents, or the ones you tick.")
    status = gr.HTML("", elem_id="rag-doc-status")
    panel = DocumentsPanel(table, scope, status)

    def chosen(documents, request: gr.Request):
        holder.set_scope(request.session_hash, _ids(documents))

    # Also fires when adding or removing updates the ticks. Unprocessed: any document the index holds now.
    scope.change(chosen, [scope], None, api_name="search_in", queue=False, show_progress="hidden", preprocess=False)

    def refresh():
        rows_now = document_rows(holder.rag)
        values = (listing(holder.rag), gr.CheckboxGroup(choices=choices(rows_now), value=[r.doc_id for r in rows_now]))
        return values + ((gr.Dropdown(choices=choices(rows_now), value=[]),) if adding else ())

    panel.refresh, panel.refreshes = refresh, [table, scope]
    if not adding:
        return panel
    library = library or Uploads()
    panel.upload = gr.File(label="Add documents (drop files here)", file_count="multiple", file_types=ACCEPTED,
                           type="filepath", elem_id="rag-add")
    gr.HTML(f"<p class='rag-note'>{escape(limits_note(library.limits))}</p>", elem_id="rag-add-limits")
    with gr.Row():
        panel.remove_pick = gr.Dropdown(choices(rows), value=[], multiselect=True, label="Remove documents",
                                        elem_id="rag-remove-pick", scale=3)
        panel.remove = gr.Button("Remove", elem_id="rag-remove", scale=1, min_width=80)
    panel.refreshes.append(panel.remove_pick)

    def add(files, scope_now, progress=gr.Progress(track_tqdm=True)):
        # Unprocessed: FileData dicts whose paths the guard has checked are this visitor's uploads.
        paths = [f["path"] for f in (files or []) if isinstance(f, dict) and isinstance(f.get("path"), str)]
        scope_now = _ids(scope_now)
        before = set(holder.rag.index.documents)
        try:
            outcome = library.add(
                holder.rag, [(Path(p).name, p) for p in paths],
                on_file=lambda n, total, name: progress((n - 1) / max(total, 1) * 0.2, desc=f"Reading {name}"))
        finally:
            for p in paths:  # never left where the server could hand them back
                Path(p).unlink(missing_ok=True)
        holder.swap(outcome.rag)
        rows_now = document_rows(outcome.rag)
        added = [r.doc_id for r in rows_now if r.doc_id not in before]
        kept = [d for d in (scope_now or []) if d in outcome.rag.index.documents]
        return (listing(outcome.rag), gr.CheckboxGroup(choices=choices(rows_now), value=kept + added),
                _status(outcome.message, outcome.ok), gr.Dropdown(choices=choices(rows_now), value=[]), None)

    def remove(doc_ids, scope_now, progress=gr.Progress(track_tqdm=True)):
        outcome = library.remove(holder.rag, _ids(doc_ids))
        scope_now = _ids(scope_now)
        holder.swap(outcome.rag)
        rows_now = document_rows(outcome.rag)
        kept = [d for d in (scope_now or []) if d in outcome.rag.index.documents]
        return (listing(outcome.rag), gr.CheckboxGroup(choices=choices(rows_now), value=kept),
                _status(outcome.message, outcome.ok), gr.Dropdown(choices=choices(rows_now), value=[]))

    outputs = [table, scope, status, panel.remove_pick]
    # One change at a time for the whole server (rag.chat.uploads.Uploads also refuses a second).
    panel.upload.upload(add, [panel.upload, scope], [*outputs, panel.upload], api_name="add_documents",
                        concurrency_limit=1, concurrency_id="documents", show_progress="full", preprocess=False)
    panel.remove.click(remove, [panel.remove_pick, scope], outputs, api_name="remove_documents",
                       concurrency_limit=1, concurrency_id="documents", show_progress="full", preprocess=False)
    return panel
