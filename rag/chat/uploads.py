"""Adding and removing documents from the chat page, without Gradio.

The page hands over what the browser sent (a name and the temporary file
Gradio stored, both untrusted); this module bounds their number, size and
type, adds them with rag.index.library (the index's own copy: the corpus
folder is never written), and opens the changed index for the next
question. One change at a time: a second upload while one is being indexed
is told to wait, not queued behind it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import RagError
from rag.index.library import ChangeReport, Entry, Incoming, add_files, entries, remove_documents
from rag.ingest.loaders import SUFFIXES
from rag.ingest.loaders.limits import Limits, size_label
from rag.pipeline import Rag

ACCEPTED = list(SUFFIXES)  # for the file picker; the server checks again


@dataclass(frozen=True)
class Outcome:
    """What one add or remove did: ``rag`` is the index to answer from now
    (the same object when nothing changed), ``message`` one line per fact."""

    rag: Rag
    message: str
    ok: bool


class Uploads:
    """Adding and removing for the page: one change at a time, then the changed index opened."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits.from_env()
        self._busy = threading.Lock()

    def add(
        self, rag: Rag, files: list[tuple[str, str]], on_file: Callable[[int, int, str], None] | None = None
    ) -> Outcome:
        """Add uploaded ``files`` (browser name, stored path) to ``rag``'s index."""
        if not files:
            return Outcome(rag, "Choose or drop files to add.", False)
        if len(files) > self.limits.files:
            return Outcome(
                rag, f"{len(files)} files at once; the limit is {self.limits.files}. Nothing was added.", False
            )
        if not self._busy.acquire(blocking=False):
            return Outcome(rag, "Another upload is being indexed; add these when it has finished.", False)
        try:
            incoming = [Incoming(name, Path(path)) for name, path in files]
            report = add_files(rag.index.path, incoming, rag.embedder, self.limits, progress=True, on_file=on_file)
            return Outcome(self._reopen(rag, report), added_message(report), not report.refused)
        except RagError as err:
            return Outcome(rag, f"Nothing was added: {err}", False)
        finally:
            self._busy.release()

    def remove(self, rag: Rag, doc_ids: list[str]) -> Outcome:
        if not doc_ids:
            return Outcome(rag, "Choose documents to remove.", False)
        if not self._busy.acquire(blocking=False):
            return Outcome(rag, "Documents are being indexed; remove these when that has finished.", False)
        try:
            report = remove_documents(rag.index.path, list(doc_ids), rag.embedder, progress=True)
            return Outcome(self._reopen(rag, report), f"Removed {', '.join(report.removed)}.", True)
        except RagError as err:
            return Outcome(rag, str(err), False)
        finally:
            self._busy.release()

    @staticmethod
    def _reopen(rag: Rag, report: ChangeReport) -> Rag:
        if not report.changed:
            return rag
        fresh = Rag.open(rag.index.path, rag.embedder)
        fresh.keep_warm()  # retrievers and scorer ready before the next visitor's question
        return fresh


def added_message(report: ChangeReport) -> str:
    """One line per fact: what was added, updated or already there, and each file refused and why."""
    lines = []
    if report.added:
        lines.append(f"Added {', '.join(report.added)}.")
    if report.updated:
        lines.append(f"Updated {', '.join(report.updated)}.")
    if report.unchanged:
        lines.append(f"Already indexed, unchanged: {', '.join(report.unchanged)}.")
    lines += [f"Not added: {r.path} {r.reason}." for r in report.refused]
    return "\n".join(lines) or "Nothing was added."


def limits_note(limits: Limits) -> str:
    return f"{', '.join(SUFFIXES)} · up to {limits.files} files at once, {size_label(limits.file_bytes)} each"


def document_rows(rag: Rag) -> list[Entry]:
    return entries(rag.index.documents, rag.index.manifest)


def choices(rows: list[Entry]) -> list[tuple[str, str]]:
    """(label, doc_id) for the search-scope and remove pickers."""
    return [(f"{r.title} ({r.kind})", r.doc_id) for r in rows]
