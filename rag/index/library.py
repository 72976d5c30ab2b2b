"""Add and remove documents in a built index, working on the index's own copy
of the corpus (its documents.jsonl), so the corpus folder is never touched.

Each change is an ordinary incremental build (rag.index.build): documents
that did not change keep their vectors, so adding embeds only the new text
and removing embeds nothing. What was added and removed is recorded in the
manifest (rag.index.library_record), which lets ``rag index`` keep added
documents and lets opening the index check the folder's documents only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from rag.embed.base import TokenEmbedder
from rag.errors import IndexBusy, IndexCorrupt, IndexMissing, RagError
from rag.index.build import BuildReport, build_index
from rag.index.generations import MANIFEST, generation
from rag.index.library_record import read_record
from rag.index.load import DOCUMENTS, Index, _read_checked, _rows, rebuild_hint
from rag.index.manifest import check_trusted, read_manifest
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import make_document, parse_bytes
from rag.ingest.layout import paragraph_starts
from rag.ingest.loaders import SUFFIXES, LoadError, loader_for
from rag.ingest.loaders.limits import Limits, size_label
from rag.text import valid_text
from rag.types import Added, Block, Corpus, Document, Skipped

MAX_ID_CHARS = 80


@dataclass(frozen=True)
class Incoming:
    """A file to add: ``name`` is what the user called it (it only suggests the
    document's id and is shown to people); ``path`` is where its bytes are."""

    name: str
    path: Path


@dataclass(frozen=True)
class Library:
    """An index's documents as it holds them, and which were added or removed."""

    manifest: dict
    documents: dict[str, Document]
    added: dict[str, Added]
    removed: tuple[str, ...]

    @property
    def folder(self) -> str:
        return (self.manifest.get("corpus") or {}).get("folder", "")

    def corpus(self, documents: dict[str, Document], added: dict[str, Added], removed: tuple[str, ...]) -> Corpus:
        skipped = tuple(Skipped(s["file"], s["reason"]) for s in (self.manifest.get("corpus") or {}).get("skipped", ()))
        name = (self.manifest.get("corpus") or {}).get("name", "")
        return Corpus(tuple(documents.values()), skipped, self.folder, name, tuple(added.values()), removed)


@dataclass(frozen=True)
class ChangeReport:
    added: tuple[str, ...] = ()  # new document ids
    updated: tuple[str, ...] = ()  # ids whose file changed
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    refused: tuple[Skipped, ...] = ()  # (file name, why), nothing of them was added
    build: BuildReport | None = None
    fingerprint: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class Entry:
    """One line of ``rag list``."""

    doc_id: str
    title: str
    kind: str
    pages: int | None
    paragraphs: int
    added_at: str  # "" for documents from the corpus folder
    file: str


def read_library(index_dir: str | Path) -> Library:
    """The documents an index holds, read from its own copy (checksummed).

    Read without the format and model checks of loading: a library outlives
    a format change, and a rebuild must be able to carry its documents over.
    """
    index_dir = Path(index_dir)
    folder = generation(index_dir)
    if not (folder / MANIFEST).is_file():
        raise IndexMissing(f"no index at {index_dir}; run `rag index --index {index_dir}` to build it first")
    manifest = read_manifest(folder)
    try:
        check_trusted(manifest, str(index_dir), rebuild_hint(index_dir))
        rows = _rows(index_dir, DOCUMENTS, _read_checked(index_dir, manifest, DOCUMENTS, folder))
    except (KeyError, TypeError, AttributeError) as err:
        raise IndexCorrupt(
            f"{index_dir} has a malformed manifest ({type(err).__name__}: {err}); {rebuild_hint(index_dir)}"
        ) from err
    # Blocks and page labels too: a rebuild from this copy must read each
    # document as the first build did (its units' kinds come from its blocks).
    documents = {
        r["doc_id"]: Document(
            r["doc_id"],
            r["title"],
            r["text"],
            r["path"],
            r["sha256"],
            tuple(r.get("pages", ())),
            tuple(Block.from_row(b) for b in r.get("blocks", ())),
            tuple(r.get("labels", ())),
        )
        for r in rows
    }
    added, removed = read_record(manifest)
    return Library(manifest, documents, {a.doc_id: a for a in added}, removed)


def corpus_for_rebuild(folder_corpus: Corpus, index_dir: str | Path) -> Corpus:
    """The folder's documents plus what was added to (less what was removed from) the index
    being rebuilt, so ``rag index`` never drops a document added with ``rag add``."""
    try:
        manifest = read_manifest(generation(Path(index_dir)))
    except (FileNotFoundError, RagError):
        return folder_corpus
    added, removed = read_record(manifest)
    if not added and not removed:
        return folder_corpus
    try:
        library = read_library(index_dir)
    except RagError:
        return folder_corpus  # a damaged index: its added documents cannot be read back
    keep = [d for d in folder_corpus.documents if d.doc_id not in removed and d.doc_id not in library.added]
    extra = [library.documents[a.doc_id] for a in added if a.doc_id in library.documents]
    return replace(
        folder_corpus,
        documents=tuple(keep + extra),
        added=tuple(a for a in added if a.doc_id in library.documents),
        removed=tuple(d for d in removed if d in {x.doc_id for x in folder_corpus.documents}),
    )


def expected_documents(manifest: dict, folder_documents: dict[str, str]) -> dict[str, str]:
    """doc_id → sha256 the index should hold, given the corpus folder's documents now."""
    added, removed = read_record(manifest)
    added_ids = {a.doc_id for a in added}
    expected = {d: sha for d, sha in folder_documents.items() if d not in removed and d not in added_ids}
    built = manifest.get("documents") or {}
    expected.update({d: built[d]["sha256"] for d in added_ids if d in built})
    return expected


def document_id(name: str) -> str:
    """A tidy id from a file name: its last part, no suffix, lower case, [a-z0-9._-] only.

    Names come from anyone (a browser sends whatever it likes), so nothing of
    a folder survives: "../../etc/passwd.pdf" is "passwd".
    """
    base = re.split(r"[\\/]", name)[-1]
    stem = base[: base.rfind(".")] if "." in base[1:] else base
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_only.lower()).strip("-._")[:MAX_ID_CHARS].strip("-._")
    return slug or "document"


def _choose_id(name: str, kind: str, taken: set[str], added: dict[str, Added]) -> str:
    """The file's id: its name's, unless that names a folder document, a document of
    another kind, or another file of this batch; then with its kind, then a number."""
    base = document_id(name)
    same = added.get(base)
    if base not in taken and (same is None or same.kind == kind):
        return base
    for n in range(1, 1000):
        candidate = f"{base}-{kind.lower()}" + (f"-{n}" if n > 1 else "")
        other = added.get(candidate)
        if candidate not in taken and (other is None or other.kind == kind):
            return candidate
    raise RagError(f"too many documents named like {name!r}")


@contextlib.contextmanager
def _changing(index_dir: Path) -> Iterator[None]:
    """One add or remove at a time per index (a build's own lock covers only the build)."""
    lock_path = index_dir.parent / f".{index_dir.name}.library.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(
                f"{index_dir} is being changed by another `rag add` or `rag remove`; wait for it to finish"
            ) from None
        yield


def _rebuild(
    index_dir: Path, library: Library, corpus: Corpus, embedder: TokenEmbedder, progress: bool
) -> tuple[Index, BuildReport]:
    chunking = library.manifest.get("chunking") or {}
    defaults = ChunkSettings()
    settings = ChunkSettings(
        chunking.get("chunk_size", defaults.chunk_size), chunking.get("chunk_overlap", defaults.chunk_overlap)
    )
    sentences = (library.manifest.get("store") or {}).get("sentences_requested", True)
    return build_index(corpus, index_dir, embedder, settings, progress=progress, sentences=sentences)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def add_files(
    index_dir: str | Path,
    files: list[Incoming],
    embedder: TokenEmbedder,
    limits: Limits | None = None,
    progress: bool = False,
    on_file: Callable[[int, int, str], None] | None = None,
) -> ChangeReport:
    """Add (or update) ``files`` in the index; unchanged files are not read again.

    A file that cannot be added (type, size, damage, limits) is listed in
    ``refused`` and changes nothing; the others are added. Nothing is built
    when nothing changed.
    """
    index_dir = Path(index_dir)
    limits = limits or Limits.from_env()
    with _changing(index_dir):
        library = read_library(index_dir)
        documents, added = dict(library.documents), dict(library.added)
        folder_ids = set(documents) - set(added)
        taken = set(folder_ids)
        new: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        refused: list[Skipped] = []
        for n, item in enumerate(files, start=1):
            if on_file:
                on_file(n, len(files), item.name)
            result = _read_one(item, limits, taken, added)
            if isinstance(result, Skipped):
                refused.append(result)
                continue
            doc_id, source_sha, parsed_or_none, kind = result
            taken.add(doc_id)
            if parsed_or_none is None:
                unchanged.append(doc_id)
                continue
            document = make_document(parsed_or_none, doc_id, _display_name(item.name), doc_id)
            if doc_id in documents and documents[doc_id].sha256 == document.sha256:
                unchanged.append(doc_id)
                continue
            (updated if doc_id in documents else new).append(doc_id)
            documents[doc_id] = document
            added[doc_id] = Added(doc_id, _display_name(item.name), kind, source_sha, _now())
        if not new and not updated:
            return ChangeReport(
                unchanged=tuple(unchanged), refused=tuple(refused), fingerprint=library.manifest.get("fingerprint", "")
            )
        index, report = _rebuild(
            index_dir, library, library.corpus(documents, added, library.removed), embedder, progress
        )
        return ChangeReport(tuple(new), tuple(updated), tuple(unchanged), (), tuple(refused), report, index.fingerprint)


def _display_name(name: str) -> str:
    base = re.split(r"[\\/]", valid_text(name))[-1]
    return "".join(c if c.isprintable() else "?" for c in base)[:200] or "document"


def _read_one(item: Incoming, limits: Limits, taken: set[str], added: dict[str, Added]):
    """(doc_id, source sha256, Parsed or None when unchanged, kind), or Skipped."""
    shown = _display_name(item.name)
    loader = loader_for(item.name)
    if loader is None:
        return Skipped(shown, f"is not a type rag reads ({', '.join(SUFFIXES)})")
    try:
        size = os.stat(item.path).st_size
        if size > limits.file_bytes:
            return Skipped(shown, f"is {size_label(size)}; the limit is {size_label(limits.file_bytes)} a file")
        with open(item.path, "rb") as handle:
            data = handle.read(limits.file_bytes + 1)
    except OSError as err:
        return Skipped(shown, f"cannot be read ({err.strerror})")
    source_sha = hashlib.sha256(data).hexdigest()
    doc_id = _choose_id(item.name, loader.kind, taken, added)
    previous = added.get(doc_id)
    if previous is not None and previous.source_sha256 == source_sha:
        return doc_id, source_sha, None, loader.kind
    try:
        parsed = parse_bytes(item.name, data, limits)
    except LoadError as err:
        return Skipped(shown, str(err))
    return doc_id, source_sha, parsed, loader.kind


def remove_documents(
    index_dir: str | Path, doc_ids: list[str], embedder: TokenEmbedder, progress: bool = False
) -> ChangeReport:
    """Take documents out of the index; removing what was added restores the index
    it was added to (same fingerprint). Unknown ids change nothing."""
    index_dir = Path(index_dir)
    with _changing(index_dir):
        library = read_library(index_dir)
        unknown = [d for d in doc_ids if d not in library.documents]
        if unknown:
            known = ", ".join(sorted(library.documents)[:5]) + (" …" if len(library.documents) > 5 else "")
            raise RagError(
                f"no document {', '.join(map(repr, unknown))} in {index_dir} (it holds {known}; "
                f"see `rag list`); nothing was removed"
            )
        gone = set(doc_ids)
        if gone >= set(library.documents):
            raise RagError("an index needs at least one document; nothing was removed")
        documents = {d: doc for d, doc in library.documents.items() if d not in gone}
        added = {d: a for d, a in library.added.items() if d not in gone}
        removed = tuple(sorted(set(library.removed) | {d for d in gone if d not in library.added}))
        index, report = _rebuild(index_dir, library, library.corpus(documents, added, removed), embedder, progress)
        return ChangeReport(removed=tuple(d for d in doc_ids), build=report, fingerprint=index.fingerprint)


def entries(documents: dict[str, Document], manifest: dict) -> list[Entry]:
    """What ``rag list`` and the page show for each document, in index order."""
    added = {a.doc_id: a for a in read_record(manifest)[0]}
    out = []
    for doc_id, doc in documents.items():
        record = added.get(doc_id)
        loader = loader_for(record.file if record else doc.path)
        kind = record.kind if record else (loader.kind if loader else "text")
        out.append(
            Entry(
                doc_id,
                doc.title,
                kind,
                len(doc.pages) or None,
                len(paragraph_starts(doc.text)),
                record.added_at if record else "",
                record.file if record else Path(doc.path).name,
            )
        )
    return out
