"""Load a folder of essays into Documents, text exactly as stored."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.layout import find_title
from rag.text import has_invalid, valid_text
from rag.types import Corpus, Document, Skipped

SUFFIXES = (".txt", ".md")

def _fallback_title(path: Path) -> str:
    words = re.split(r"[-_\s]+", path.stem)
    return " ".join(w for w in words if w).capitalize() or path.name


def _decode(path: Path, data: bytes) -> str | Skipped:
    if not data.strip():
        return Skipped(path.name, "empty file")
    if b"\x00" in data:
        return Skipped(path.name, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Skipped(path.name, f"not UTF-8 text (bad byte at offset {err.start})")


def load_document(path: Path, doc_id: str) -> Document | Skipped:
    """One file as a Document, or the reason it cannot be one."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return Skipped(path.name, f"unreadable ({err.strerror})")
    # Bytes, not text mode: text mode would rewrite "\r\n" and every offset
    # after it would point at the wrong character.
    text = _decode(path, data)
    if isinstance(text, Skipped):
        return text
    return Document(
        doc_id=doc_id,
        title=find_title(text, _fallback_title(path)),
        text=text,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
    )


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


def _take(folder: Path, root: str, entry: os.DirEntry, depth: int, files: list[Path], skipped: list[Skipped],
          pending: list[tuple[Path, int]]) -> None:
    """Sort one folder entry: a document to read, a folder to walk, or skipped with its reason."""
    path = Path(entry.path)
    is_document = path.suffix.lower() in SUFFIXES
    if entry.is_symlink():
        target = os.path.realpath(path)
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
        mode = path.stat().st_mode
    except OSError as err:
        if is_document:
            skipped.append(Skipped(_listed(folder, entry), f"unreadable ({err.strerror})"))
        return
    if stat.S_ISDIR(mode):
        if depth + 1 >= MAX_DEPTH:
            skipped.append(Skipped(_listed(folder, entry), f"folder more than {MAX_DEPTH} levels deep"))
        else:
            pending.append((path, depth + 1))
    elif is_document:
        if stat.S_ISREG(mode):
            files.append(path)
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
            skipped.append(Skipped(valid_text(current.relative_to(folder).as_posix()), f"unreadable folder ({err.strerror})"))
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_WALK_ENTRIES:
                raise CorpusError(f"corpus folder {folder} holds more than {MAX_WALK_ENTRIES:,} files and folders; "
                                  f"a corpus is a folder of documents (build from that folder: rag index --corpus FOLDER)")
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


def load_corpus(folder: str | Path) -> Corpus:
    """Every .txt and .md file under ``folder``; bad files are listed, not fatal."""
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
            skipped.append(Skipped(shown, "same name as another file once bytes that are not UTF-8 are replaced; rename it"))
            continue
        seen.add(doc_id)
        if has_invalid(inside):
            notes.append(f"the name {shown} is not UTF-8; it is indexed as {doc_id}")
        result = load_document(path, doc_id)
        if isinstance(result, Skipped):
            skipped.append(Skipped(shown, result.reason))
        else:
            documents.append(replace(result, path=valid_text(result.path)))
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise CorpusError(
            f"no usable document in {folder} (need .txt or .md files in UTF-8"
            + (f"; skipped {detail})" if detail else ")")
        )
    skipped.sort(key=lambda s: s.path)
    return Corpus(tuple(documents), tuple(skipped), valid_text(str(folder.resolve())), notes=tuple(notes))
