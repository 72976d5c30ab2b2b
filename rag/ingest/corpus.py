"""Load a folder of documents into Documents: their reading text, and where it came from.

Every file type goes through rag.ingest.loaders (the loader for its suffix);
all but plain text are parsed in a limited child process (loaders.sandbox).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.layout import find_title
from rag.ingest.loaders import SUFFIXES, LoadError, Parsed, loader_for
from rag.ingest.loaders.limits import Limits, size_label
from rag.ingest.loaders.text import TextLoader
from rag.text import has_invalid, valid_text
from rag.types import Corpus, Document, Skipped


def _fallback_title(path: Path) -> str:
    """A title from the file's name; a name's bytes that are not UTF-8 become U+FFFD."""
    words = re.split(r"[-_\s]+", valid_text(path.stem))
    return " ".join(w for w in words if w).capitalize() or valid_text(path.name)


def parse_bytes(name: str, data: bytes, limits: Limits) -> Parsed:
    """The reading text of a file called ``name`` (only its suffix counts); LoadError says why not.

    Plain text is decoded here; every other type is parsed in a child
    process bounded by ``limits`` (rag.ingest.loaders.sandbox).
    """
    from rag.ingest.loaders.sandbox import parse_isolated

    loader = loader_for(name)
    if loader is None:
        raise LoadError(f"is not a type rag reads (it reads {', '.join(SUFFIXES)})")
    if len(data) > limits.file_bytes:
        raise LoadError(f"is {size_label(len(data))}; the limit is {size_label(limits.file_bytes)} a file")
    if isinstance(loader, TextLoader):
        return loader.load(data)
    return parse_isolated(loader.suffixes[0], data, limits)


def make_document(parsed: Parsed, doc_id: str, path: str, fallback_title: str) -> Document:
    """A Document from a loader's output. Its sha256 is that of the reading
    text: what the index is made of, so vectors are reused only for the same
    text (for plain text it equals the file's sha256)."""
    return Document(
        doc_id=doc_id,
        title=parsed.title or find_title(parsed.text, fallback_title),
        text=parsed.text,
        path=path,
        sha256=hashlib.sha256(parsed.text.encode("utf-8")).hexdigest(),
        pages=parsed.pages,
        blocks=parsed.blocks,
        labels=parsed.labels,
    )


def load_document(path: Path, doc_id: str, limits: Limits | None = None) -> Document | Skipped:
    """One file as a Document, or the reason it cannot be one."""
    limits = limits or Limits.from_env()
    try:
        size = path.stat().st_size
        if size > limits.file_bytes:
            return Skipped(path.name, f"is {size_label(size)}; the limit is {size_label(limits.file_bytes)} a file")
        data = path.read_bytes()
    except OSError as err:
        return Skipped(path.name, f"unreadable ({err.strerror})")
    try:
        parsed = parse_bytes(path.name, data, limits)
    except LoadError as err:
        return Skipped(path.name, str(err))
    return make_document(parsed, doc_id, str(path), _fallback_title(path))


# A corpus folder is documents, not a file system: the walk stops (with an
# error naming the folder) after looking at this many entries, and goes this
# many folders deep. A manifest naming "/" as its corpus would otherwise make
# every `rag ask` walk the whole disk.
MAX_WALK_ENTRIES = 100_000
MAX_DEPTH = 32


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _listed(folder: Path, entry: os.DirEntry) -> str:
    """The entry's path inside the corpus folder, as valid text (for messages and ids)."""
    return valid_text(Path(entry.path).relative_to(folder).as_posix())


def _take(
    folder: Path,
    root: str,
    entry: os.DirEntry,
    depth: int,
    files: list[Path],
    skipped: list[Skipped],
    pending: list[tuple[Path, int]],
) -> None:
    """Sort one folder entry: a document to read, a folder to walk, or skipped with its reason."""
    is_document = os.path.splitext(entry.name)[1].lower() in SUFFIXES
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if os.path.isdir(target):
            skipped.append(Skipped(_listed(folder, entry), "symbolic link to a folder, not followed"))
            return
        if not is_document:
            return
        if not os.path.exists(target):
            skipped.append(Skipped(_listed(folder, entry), "broken symbolic link"))
            return
        if not _inside(target, root):
            skipped.append(Skipped(_listed(folder, entry), "symbolic link to a file outside the corpus folder"))
            return
    try:
        mode = entry.stat().st_mode  # follows a link, as the checks above allow
    except OSError as err:
        if is_document:
            skipped.append(Skipped(_listed(folder, entry), f"unreadable ({err.strerror})"))
        return
    if stat.S_ISDIR(mode):
        if depth + 1 >= MAX_DEPTH:
            skipped.append(Skipped(_listed(folder, entry), f"folder more than {MAX_DEPTH} levels deep"))
        else:
            pending.append((Path(entry.path), depth + 1))
    elif is_document:
        if stat.S_ISREG(mode):
            files.append(Path(entry.path))
        else:  # reading a FIFO blocks forever, a device may never end
            skipped.append(Skipped(_listed(folder, entry), "not a regular file (a FIFO, socket or device)"))


def list_corpus(folder: Path) -> tuple[list[Path], list[Skipped]]:
    """The document files under ``folder``, and those left out with the reason.

    Only regular files that resolve inside the folder are read. A symbolic
    link to a file elsewhere is skipped (a link ``shadow.md -> /etc/shadow``
    would otherwise be indexed and quoted to anyone who can reach the page);
    links to folders are not followed; FIFOs and devices are never opened.
    Hidden files and folders (a leading dot) are passed over.
    """
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    root = os.path.realpath(folder)
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen = 0
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            skipped.append(
                Skipped(valid_text(current.relative_to(folder).as_posix()), f"unreadable folder ({err.strerror})")
            )
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_WALK_ENTRIES:
                raise CorpusError(
                    f"corpus folder {folder} holds more than {MAX_WALK_ENTRIES:,} files and folders; "
                    "a corpus is a folder of documents "
                    "(build from that folder: rag index --corpus FOLDER)"
                )
            if entry.name.startswith("."):
                continue
            try:
                _take(folder, root, entry, depth, files, skipped, pending)
            except OSError as err:  # vanished or unreadable while listed (/proc holds many such)
                if Path(entry.name).suffix.lower() in SUFFIXES:
                    skipped.append(Skipped(_listed(folder, entry), f"unreadable ({err.strerror})"))
    return sorted(files), skipped


def corpus_files(folder: Path) -> list[Path]:
    return list_corpus(folder)[0]


def doc_id_for(folder: Path, path: Path) -> str:
    """Stable id: the path inside the corpus folder, without its suffix.

    Bytes of a name that are not UTF-8 become U+FFFD (rag.text.valid_text):
    the id is written to JSON, which holds only text."""
    return valid_text(path.relative_to(folder).with_suffix("").as_posix())


def check_storable(corpus: Corpus) -> None:
    """Every piece of text an index stores is valid text (no lone surrogate, which no
    encoder writes), or a CorpusError naming it: checked before any embedding, so a
    bad name costs a line, not a build (the manifest and documents.jsonl are written last)."""

    def named(doc_id: str, field: str, value: str) -> None:
        if has_invalid(value):
            raise CorpusError(
                f"the {field} of {valid_text(doc_id)} is not valid text ({valid_text(value)[:80]!r}); rename the file"
            )

    for d in corpus.documents:
        for field, value in (("id", d.doc_id), ("title", d.title), ("path", d.path), ("text", d.text)):
            named(d.doc_id, field, value)
    for a in corpus.added:
        named(a.doc_id, "file name", a.file)
    for s in corpus.skipped:
        named(s.path, "listed name", s.path + s.reason)
    for field, value in (
        ("folder", corpus.folder),
        ("name", corpus.name),
        ("notes", " ".join(corpus.notes)),
        ("removed ids", " ".join(corpus.removed)),
    ):
        named("the corpus", field, value)


def load_corpus(folder: str | Path) -> Corpus:
    """Every file of a type rag reads under ``folder``; bad files are listed, not fatal."""
    folder = Path(folder)
    documents: list[Document] = []
    paths, skipped = list_corpus(folder)
    notes: list[str] = []
    seen: set[str] = set()
    for path in paths:
        doc_id = doc_id_for(folder, path)
        if doc_id in seen:  # "a.txt" and "a.md": keep the suffix to tell them apart
            doc_id = valid_text(path.relative_to(folder).as_posix())
        inside = path.relative_to(folder).as_posix()
        shown = valid_text(inside)
        if doc_id in seen:  # two names that differ only in bytes that are not UTF-8
            skipped.append(
                Skipped(shown, "same name as another file once bytes that are not UTF-8 are replaced; rename it")
            )
            continue
        seen.add(doc_id)
        if has_invalid(inside):
            notes.append(f"the name {shown} is not UTF-8; it is indexed as {doc_id}")
        result = load_document(path, doc_id)
        if isinstance(result, Skipped):
            skipped.append(Skipped(shown, result.reason))
        else:
            documents.append(replace(result, path=valid_text(result.path), title=valid_text(result.title)))
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise CorpusError(
            f"no usable document in {folder} (need {', '.join(SUFFIXES)} files; text in UTF-8"
            + (f"; skipped {detail})" if detail else ")")
        )
    skipped.sort(key=lambda s: s.path)
    return Corpus(tuple(documents), tuple(skipped), valid_text(str(folder.resolve())), notes=tuple(notes))
