"""Load an eval set: JSON lines of {"id", "question", "answers": [verbatim spans], "kind"?}.

Gold labels are spans of the corpus, not chunk ids, so results survive
re-chunking. Each answer is located in the documents here, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import EvalDataError
from rag.types import Document


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


def _occurrences(text: str, needle: str) -> list[int]:
    found, start = [], text.find(needle)
    while start >= 0:
        found.append(start)
        start = text.find(needle, start + 1)
    return found


def locate(answer: str, documents: dict[str, Document]) -> tuple[Span, ...]:
    return tuple(
        Span(doc_id, s, s + len(answer))
        for doc_id, doc in documents.items()
        for s in _occurrences(doc.text, answer)
    )


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str, list[str], str]:
    where = f"{path}, line {number}"
    try:
        row = json.loads(line)
    except ValueError as err:
        raise EvalDataError(f"{where}: not valid JSON ({err.msg})") from None
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
    """Parse and check an eval file; every answer must occur verbatim in ``documents``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise EvalDataError(f"cannot read eval file {path} ({err.strerror})") from None
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
                    f"{path}, line {number} ({qid}): answer {shown!r} is not a verbatim span of the corpus"
                )
            gold.append(spans)
        items.append(QAItem(qid, question, tuple(answers), tuple(gold), kind))
    if not items:
        raise EvalDataError(f"{path} holds no questions")
    return items
