"""Load a folder of documents into Documents: their reading text, and where it came from.

Every file type goes through rag.ingest.loaders (the loader for its suffix);
all but plain text are parsed in a limited child process (loaders.sandbox).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.layout import find_title
from rag.ingest.loaders import SUFFIXES, LoadError, Parsed, loader_for
from rag.ingest.loaders.limits import Limits, size_label
from rag.ingest.loaders.text import TextLoader
from rag.types import Corpus, Document, Skipped


def _fallback_title(path: Path) -> str:
    words = re.split(r"[-_\s]+", path.stem)
    return " ".join(w for w in words if w).capitalize() or path.name


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


def corpus_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def doc_id_for(folder: Path, path: Path) -> str:
    """Stable id: the path inside the corpus folder, without its suffix."""
    return path.relative_to(folder).with_suffix("").as_posix()


def load_corpus(folder: str | Path) -> Corpus:
    """Every file of a type rag reads under ``folder``; bad files are listed, not fatal."""
    folder = Path(folder)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for path in corpus_files(folder):
        doc_id = doc_id_for(folder, path)
        if doc_id in seen:  # "a.txt" and "a.md": keep the suffix to tell them apart
            doc_id = path.relative_to(folder).as_posix()
        seen.add(doc_id)
        result = load_document(path, doc_id)
        (skipped if isinstance(result, Skipped) else documents).append(result)
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise CorpusError(
            f"no usable document in {folder} (need {', '.join(SUFFIXES)} files; text in UTF-8"
            + (f"; skipped {detail})" if detail else ")")
        )
    return Corpus(tuple(documents), tuple(skipped), str(folder.resolve()))
