"""Plain values passed between the pipeline's stages.

load → chunk → embed → store → retrieve → quote → answer → render: each stage
takes and returns these frozen dataclasses, never a library's own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What a block of a document is (rag.ingest.loaders read them from each
# format's own structure). Headings and FAQ questions are evidence for the
# text under them, never an answer; prose is quoted sentence by sentence; a
# code block or a table row is quoted whole; contents lines, running headers
# and reference entries are neither evidence nor answers.
HEADING, QUESTION = "heading", "question"
PARAGRAPH, ITEM, CAPTION = "paragraph", "item", "caption"
CODE, TABLE = "code", "table"
CONTENTS, REFERENCE, FURNITURE = "contents", "reference", "furniture"
BLOCK_KINDS = (HEADING, QUESTION, PARAGRAPH, ITEM, CAPTION, CODE, TABLE, CONTENTS, REFERENCE, FURNITURE)
TITLES = frozenset({HEADING, QUESTION})  # name what follows them
PROSE = frozenset({PARAGRAPH, ITEM, CAPTION})  # quoted as sentences
WHOLE = frozenset({CODE, TABLE})  # quoted as one piece
UNREAD = frozenset({CONTENTS, REFERENCE, FURNITURE})  # kept in the text for the reader, never searched


@dataclass(frozen=True)
class Block:
    """A typed span of a document's reading text; ``level`` ranks headings (1 is the top)."""

    start: int
    end: int
    kind: str = PARAGRAPH
    level: int = 0

    def row(self) -> list:
        """As stored (JSON): [start, end, kind, level]."""
        return [self.start, self.end, self.kind, self.level]

    @classmethod
    def from_row(cls, row) -> "Block":
        start, end, kind, level = row
        if kind not in BLOCK_KINDS or not (isinstance(start, int) and isinstance(end, int) and isinstance(level, int)):
            raise ValueError(f"not a block: {row!r}")
        return cls(start, end, kind, level)


@dataclass(frozen=True)
class Document:
    """A document's reading text: every quotation is ``text[start:end]``.

    ``pages`` holds the offset in ``text`` where each page starts, for paged
    sources (PDF), and ``labels`` the number printed on each page (the
    document's page labels, else its physical number); both empty otherwise.
    ``blocks`` cover the text's paragraphs, headings, code and so on in
    order; empty for a document read before blocks existed.
    """

    doc_id: str
    title: str
    text: str
    path: str
    sha256: str
    pages: tuple[int, ...] = ()
    blocks: tuple[Block, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Location:
    """Where a span lies, for people: 1-based paragraph; the page (its printed
    label) where the span starts and, when it runs onto another, where it ends;
    and the headings above it, outermost first."""

    paragraph: int
    page: str | None = None
    last_page: str | None = None
    headings: tuple[str, ...] = ()

    def pages(self) -> str:
        if self.page is None:
            return ""
        if self.last_page and self.last_page != self.page:
            return f"pp. {self.page}–{self.last_page}"
        return f"p. {self.page}"

    def label(self) -> str:
        where = self.pages()
        return f"{where}, ¶ {self.paragraph}" if where else f"¶ {self.paragraph}"


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Added:
    """A document added to an index (``rag add`` or the page), not read from its corpus folder.

    ``file`` is the name it was added under, shown to people and never opened;
    ``source_sha256`` is that of the file's bytes, so adding the same file
    again reads nothing; ``added_at`` is ISO 8601 in UTC.
    """

    doc_id: str
    file: str
    kind: str
    source_sha256: str
    added_at: str


@dataclass(frozen=True)
class Corpus:
    """What an index is built from: the corpus folder's documents, less
    ``removed`` ones, plus ``added`` ones (all of them in ``documents``)."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = ()
    folder: str = ""
    name: str = ""  # what answers call it ("the essays"); "" for "the documents"
    added: tuple[Added, ...] = ()
    removed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what loading changed that the user should hear of (a name that is not UTF-8)

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


@dataclass(frozen=True)
class Chunk:
    """A span of one document: ``document.text[start:end] == text``."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its score and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int
    retriever: str
    title: str = ""


@dataclass(frozen=True)
class Quote:
    """A verbatim quotation: ``document.text[start:end] == text``."""

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    quotes: tuple[Quote, ...]
    passages: tuple[Hit, ...]
    query: str = ""
    retriever: str = ""
    notes: tuple[str, ...] = field(default=())
    # "lookup": quotations that answer a specific question, best first;
    # "broad": a summary or comparison, quotations grouped by document in
    # corpus order (render them under each document's title).
    form: str = "lookup"
    # Set when the answerability model is unsure the quotations answer the
    # question (rag.answer.abstain.CAUTION): shown before them, never dropped.
    caution: str = ""


@dataclass(frozen=True)
class Position:
    """A reading position: continue in ``doc_id`` after character ``offset``."""

    doc_id: str
    offset: int


@dataclass(frozen=True)
class Turn:
    """What a follow-up needs to know about an earlier turn.

    ``query`` is the standalone query that turn searched (its own question if
    it was not a follow-up); ``doc_ids`` the essays its answer cited, best
    first; ``end`` where its first quotation ends, for "what next?".
    """

    question: str
    query: str = ""
    doc_ids: tuple[str, ...] = ()
    end: Position | None = None
    shown: tuple[tuple[str, int, int], ...] = ()  # (doc_id, start, end) of each quotation the answer gave


@dataclass(frozen=True)
class Rewrite:
    """The query actually searched for a question, and why."""

    question: str
    query: str
    followup: bool = False
    reasons: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()  # empty: search every essay
    after: Position | None = None  # set: read on from here in reading order
    context: tuple[str, ...] = field(default=())  # words borrowed from earlier turns
    speaker: str = ""  # the person "he"/"she" stands for, or whom "what did X say next?" names
    skip: tuple[tuple[str, int, int], ...] = ()  # spans already shown, passed over when reading on
    unmentioned: tuple[str, ...] = ()  # what the question asks about that no document in scope mentions
