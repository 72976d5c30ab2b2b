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

import contextvars
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from rag.chat.render import escape
from rag.chat.scripts import UPLOAD_JS
from rag.chat.uploads import ACCEPTED, Uploads, choices, document_rows, limits_note
from rag.index.library import Entry
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


def scope_note(rows: list[Entry], chosen) -> str:
    """What "Search in" means, in words: nothing ticked is every document, never none."""
    n = len(rows)
    ticked = [r for r in rows if r.doc_id in set(chosen or ())]
    if not ticked:
        line = f"None ticked: all {n} documents are searched." if n > 1 else "The document is searched."
    elif len(ticked) == n:
        line = f"All {n} documents are searched." if n > 1 else "The document is searched."
    else:
        line = f"Searching {len(ticked)} of {n}: " + "; ".join(r.title for r in ticked) + "."
    return f"<p class='rag-scope-note' role='status'>{escape(line)}</p>"


def _ticks(rows: list[Entry], kept: list[str]) -> list[str]:
    """The ticks after the list changed: every document when none (or all) of those kept is ticked,
    so that the list never reads as "search nothing"."""
    ids = [r.doc_id for r in rows]
    return ids if not kept or set(ids) <= set(kept) else kept


def empty_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """(files with content, lines for the empty ones): an empty file is not "damaged"."""
    keep, said = [], []
    for p in paths:
        try:
            empty = Path(p).stat().st_size == 0
        except OSError:
            empty = False
        if empty:
            said.append(f"Not added: {Path(p).name} is empty (0 bytes).")
        else:
            keep.append(p)
    return keep, said


class Estimate:
    """While documents are read and embedded: one progress bar, with the time left.

    The library reports its work through tqdm bars (one per stage, counted in
    batches); a thread reads the running bar every half second and says how
    far it is and how long the rest will take at the pace so far. Gradio's own
    tqdm tracking showed the count and the time spent, never the time left
    (a 127 KB page took 90 s with no estimate)."""

    def __init__(self, progress, every_s: float = 0.5):
        self._progress, self._every = progress, every_s
        self._done = threading.Event()
        # Gradio finds the event to report to in context variables: the thread runs in a copy of ours.
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._watch,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join(timeout=2)

    @staticmethod
    def line(desc: str, n: int, total: int, elapsed: float) -> str:
        if not total:
            return desc
        if n <= 0:
            return f"{desc}: {n} of {total}, estimating the time left…"
        left = elapsed / n * (total - n)
        when = f"about {round(left)} s left" if left < 90 else f"about {round(left / 60)} min left"
        return f"{desc}: {n} of {total}, {when}"

    def _watch(self) -> None:
        from tqdm import tqdm

        while not self._done.wait(self._every):
            bars = [b for b in list(getattr(tqdm, "_instances", ())) if not getattr(b, "disable", False)]
            if not bars:
                continue
            f = bars[-1].format_dict
            total, n = f.get("total") or 0, f.get("n") or 0
            try:
                self._progress(
                    n / total if total else None,
                    desc=self.line(f.get("prefix") or "Working", n, total, f.get("elapsed") or 0.0),
                )
            except Exception:  # the event ended meanwhile: nothing to show it on
                return


def build_documents_panel(
    holder: Holder, adding: bool, listing: Callable[[Rag], str], library: Uploads | None = None
) -> DocumentsPanel:
    """``listing(rag)``: the HTML of the document list (the page's own, refreshed after a change)."""
    rows = document_rows(holder.rag)
    ids = [r.doc_id for r in rows]

    def shown(rag: Rag, ticked) -> str:
        # The list, then what is searched in words, outside the accordion: the choice is never hidden.
        return listing(rag) + scope_note(document_rows(rag), ticked)

    table = gr.HTML(shown(holder.rag, ids), elem_id="rag-doclist")
    # Choosing, adding and removing fold away, so that the first screen is the
    # documents, the conversation and the question box (issue 25).
    label = "Choose, add or remove documents" if adding else "Choose the documents to search"
    with gr.Accordion(label, open=False, elem_id="rag-manage"):
        scope = gr.CheckboxGroup(
            choices(rows),
            value=ids,
            label="Search in",
            elem_id="rag-scope",
            info="All documents, or the ones you tick. None ticked searches all.",
        )
        status = gr.HTML("", elem_id="rag-doc-status")
        panel = DocumentsPanel(table, scope, status)

        def chosen(documents, request: gr.Request):
            documents = _ids(documents)
            holder.set_scope(request.session_hash, documents)
            return shown(holder.rag, documents)

        # Also fires when adding or removing updates the ticks. Unprocessed: any document the index holds now.
        scope.change(
            chosen, [scope], [table], api_name="search_in", queue=False, show_progress="hidden", preprocess=False
        )

        def refresh():
            rows_now = document_rows(holder.rag)
            every = [r.doc_id for r in rows_now]
            values = (shown(holder.rag, every), gr.CheckboxGroup(choices=choices(rows_now), value=every))
            return values + ((gr.Dropdown(choices=choices(rows_now), value=[]),) if adding else ())

        panel.refresh, panel.refreshes = refresh, [table, scope]
        if not adding:
            return panel
        library = library or Uploads()
        panel.upload = gr.File(
            label="Add documents (drop files here)",
            file_count="multiple",
            file_types=ACCEPTED,
            type="filepath",
            elem_id="rag-add",
        )
        limits = library.limits
        # The browser refuses what it can tell is wrong before sending it (rag.chat.scripts.UPLOAD_JS).
        gr.HTML(
            f"<p class='rag-note'>{escape(limits_note(limits))}</p><p class='rag-refused-here' role='alert'></p>",
            elem_id="rag-add-limits",
            js_on_load=UPLOAD_JS,
            html_template=f"<div data-max-bytes='{limits.file_bytes}' data-max-files='{limits.files}' "
            f"data-accept='{escape(' '.join(ACCEPTED))}'>${{value}}</div>",
        )
        with gr.Row():
            panel.remove_pick = gr.Dropdown(
                choices(rows), value=[], multiselect=True, label="Remove documents", elem_id="rag-remove-pick", scale=3
            )
            panel.remove = gr.Button("Remove", elem_id="rag-remove", scale=1, min_width=80)
        panel.refreshes.append(panel.remove_pick)

    def add(files, scope_now, progress=gr.Progress()):  # noqa: B008 (Gradio finds its tracker by this default)
        # Unprocessed: FileData dicts whose paths the guard has checked are this visitor's uploads.
        sent = [f["path"] for f in (files or []) if isinstance(f, dict) and isinstance(f.get("path"), str)]
        paths, said = empty_files(sent)
        scope_now = _ids(scope_now)
        before = set(holder.rag.index.documents)
        try:
            with Estimate(progress):
                outcome = library.add(
                    holder.rag,
                    [(Path(p).name, p) for p in paths],
                    on_file=lambda n, total, name: progress(
                        (n - 1) / max(total, 1) * 0.2, desc=f"Reading {name} ({n} of {total})"
                    ),
                )
        finally:
            for p in sent:  # never left where the server could hand them back
                Path(p).unlink(missing_ok=True)
        holder.swap(outcome.rag)
        rows_now = document_rows(outcome.rag)
        added = [r.doc_id for r in rows_now if r.doc_id not in before]
        kept = [d for d in (scope_now or []) if d in outcome.rag.index.documents]
        ticks = _ticks(rows_now, kept + added if kept else [])
        message = "\n".join([*([outcome.message] if paths else []), *said])
        return (
            shown(outcome.rag, ticks),
            gr.CheckboxGroup(choices=choices(rows_now), value=ticks),
            _status(message, outcome.ok and not said),
            gr.Dropdown(choices=choices(rows_now), value=[]),
            None,
        )

    def remove(doc_ids, scope_now, progress=gr.Progress()):  # noqa: B008 (as in add)
        scope_now = _ids(scope_now)
        with Estimate(progress):
            outcome = library.remove(holder.rag, _ids(doc_ids))
        holder.swap(outcome.rag)
        rows_now = document_rows(outcome.rag)
        kept = [d for d in (scope_now or []) if d in outcome.rag.index.documents]
        ticks = _ticks(rows_now, kept)
        return (
            shown(outcome.rag, ticks),
            gr.CheckboxGroup(choices=choices(rows_now), value=ticks),
            _status(outcome.message, outcome.ok),
            gr.Dropdown(choices=choices(rows_now), value=[]),
        )

    outputs = [table, scope, status, panel.remove_pick]
    # One change at a time for the whole server (rag.chat.uploads.Uploads also refuses a second).
    # One progress bar, on the status line: on every output it was five stacked copies.
    panel.upload.upload(
        add,
        [panel.upload, scope],
        [*outputs, panel.upload],
        api_name="add_documents",
        concurrency_limit=1,
        concurrency_id="documents",
        show_progress="full",
        show_progress_on=[status],
        preprocess=False,
    )
    panel.remove.click(
        remove,
        [panel.remove_pick, scope],
        outputs,
        api_name="remove_documents",
        concurrency_limit=1,
        concurrency_id="documents",
        show_progress="full",
        show_progress_on=[status],
        preprocess=False,
    )
    return panel
