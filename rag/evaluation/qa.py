"""Load an eval set: JSON lines of {"id", "question", "answers": [verbatim spans], "kind"?}.

Gold labels are spans of the corpus, not chunk ids, so results survive
re-chunking. Each answer is located in the documents here, once.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from rag.errors import EvalDataError
from rag.text import has_invalid, json_depth
from rag.types import Document

# An eval set is a few hundred lines; these bound what a wrong path (a device,
# a log file) or a hostile file can cost before it is refused.
MAX_EVAL_BYTES = 16 * 1024 * 1024
# A row is an object holding a list of strings: depth 2. Python's parser
# recurses per level and fails near a thousand; this refuses far earlier.
MAX_JSON_DEPTH = 8


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class QAItem:
    qid: str
    question: str
    answers: tuple[str, ...]
    # For each answer, every place it occurs in the corpus (usually one).
    gold: tuple[tuple[Span, ...], ...]
    kind: str = ""  # optional: what kind of question it is ("broad", "out-of-scope", ...), for per-kind metrics

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def locate(answer: str, documents: dict[str, Document]) -> tuple[Span, ...]:
    """Every place ``answer`` occurs, as people copy answers (rag.evaluation.gold)."""
    from rag.evaluation.gold import locate_all

    return tuple(Span(d, s, e) for d, s, e in locate_all(answer, ((d, doc.text) for d, doc in documents.items())))


def read_json_line(line: str, where: str, error=EvalDataError, max_depth: int = MAX_JSON_DEPTH):
    """One JSON value, or ``error`` saying what is wrong: not JSON, nested too
    deeply, or holding a lone surrogate (an escape such as ``\\ud800``, not text)."""
    try:
        value = json.loads(line)
    except RecursionError:
        raise error(f"{where}: JSON nested more than {max_depth} levels deep") from None
    except ValueError as err:
        raise error(f"{where}: not valid JSON ({getattr(err, 'msg', err)})") from None
    if json_depth(value, max_depth) > max_depth:
        raise error(f"{where}: JSON nested more than {max_depth} levels deep")
    if "\\u" in line and has_invalid(json.dumps(value, ensure_ascii=False)):
        raise error(f"{where}: holds a lone surrogate escape (such as \\ud800), which is not text; remove it")
    return value


def read_bounded(path: Path, limit: int, what: str, error=EvalDataError) -> bytes:
    """A regular file's bytes, at most ``limit`` of them; devices, FIFOs and
    folders are refused before anything is read (``/dev/zero`` never ends)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise error(f"cannot read {what} {path} ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise error(f"{what} {path} is {kind}; give a JSON lines file")
        if info.st_size > limit:
            raise error(f"{what} {path} is {info.st_size:,} bytes; the limit is {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{what} {path} is over {limit:,} bytes; the limit is {limit:,}")
    return data


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str, list[str], str]:
    where = f"{path}, line {number}"
    row = read_json_line(line, where)
    if not isinstance(row, dict):
        raise EvalDataError(f"{where}: expected a JSON object")
    missing = [k for k in ("id", "question", "answers") if k not in row]
    if missing:
        raise EvalDataError(f"{where}: missing {', '.join(missing)}")
    qid, question, answers = row["id"], row["question"], row["answers"]
    if not isinstance(qid, (str, int)) or not str(qid).strip():
        raise EvalDataError(f"{where}: id must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        raise EvalDataError(f"{where}: question must be a non-empty string")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise EvalDataError(f"{where}: answers must be a list of non-empty strings")
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise EvalDataError(f"{where}: kind must be a string")
    return str(qid), question, answers, " ".join(kind.split())[:40]


def load_qa(path: str | Path, documents: dict[str, Document]) -> list[QAItem]:
    """Parse and check an eval file; every answer must be found in ``documents`` (rag.evaluation.gold)."""
    path = Path(path)
    data = read_bounded(path, MAX_EVAL_BYTES, "eval file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise EvalDataError(f"{path} is not UTF-8 text (bad byte at offset {err.start})") from None
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        qid, question, answers, kind = _parse_line(path, number, line)
        if qid in seen:
            raise EvalDataError(f"{path}, line {number}: duplicate id {qid!r}")
        seen.add(qid)
        gold = []
        for answer in answers:
            spans = locate(answer, documents)
            if not spans:
                shown = answer if len(answer) <= 60 else answer[:57] + "..."
                raise EvalDataError(
                    f"{path}, line {number} ({qid}): answer {shown!r} is not found in the documents (not even with "
                    f"spacing, quote marks and markup set aside)"
                )
            gold.append(spans)
        items.append(QAItem(qid, question, tuple(answers), tuple(gold), kind))
    if not items:
        raise EvalDataError(f"{path} holds no questions")
    return items
