"""Load a folder of essays into Documents, text exactly as stored."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.layout import find_title
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
    """Every .txt and .md file under ``folder``; bad files are listed, not fatal."""
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
            f"no usable document in {folder} (need .txt or .md files in UTF-8"
            + (f"; skipped {detail})" if detail else ")")
        )
    return Corpus(tuple(documents), tuple(skipped), str(folder.resolve()))
