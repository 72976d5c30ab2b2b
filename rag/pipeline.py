"""The Python API that the CLI, the page and the eval all use."""

from __future__ import annotations

import dataclasses
import operator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from rag.answer.base import CAUTION, AnswerabilityModel, Composed, PostComposeStep
from rag.answer.compose import MAX_QUOTES, answer_from_passages, compose, verify_quote, with_quoted
from rag.answer.policy import choose
from rag.answer.question import clean_question
from rag.answer.registry import DEFAULT_ANSWERABILITY, answerability_spec, step_specs
from rag.answer.select import concerned
from rag.embed.auto import default_embedder
from rag.embed.base import TokenEmbedder
from rag.errors import IndexMismatch, QuestionError
from rag.index.build import BuildReport, build_index
from rag.index.load import Index, load_index, rebuild_hint
from rag.index.manifest import Expected
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.retrieval.base import Retriever
from rag.retrieval.candidates import open_store, store_name
from rag.retrieval.question_form import RULES, LazyMap, QuestionForm, header_terms, name_terms, read_question
from rag.retrieval.registry import RETRIEVERS, make_retriever
from rag.retrieval.registry import spec as retriever_spec
from rag.retrieval.scoring import SentenceScorer, SentenceScores, sentences_of
from rag.settings import settings as current_settings
from rag.types import Answer, Corpus, Hit

if TYPE_CHECKING:
    from rag.settings import StoreSpec
    from rag.types import Rewrite

DEFAULT_RETRIEVER = "fusion"
DEFAULT_K = 5  # passages read before answering; hand-set (the answerability model was fitted at 5)
MAX_K = 100  # as `rag ask --k`; the page's API takes k from the caller, so it is checked here too


def _check_k(k, limit: int | None = None) -> int:
    """A positive whole number (numpy integers too), at most ``limit``."""
    try:
        n = operator.index(k)  # refuses floats and strings rather than rounding them
    except TypeError:
        n = None
    if n is None or isinstance(k, bool) or n < 1 or (limit is not None and n > limit):
        bound = f"from 1 to {limit}" if limit else "of at least 1"
        raise QuestionError(f"k (passages to retrieve) must be a whole number {bound}, not {k!r}")
    return n


def project_root() -> Path:
    """The checkout this package runs from, or the working folder."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def default_corpus_dir() -> Path:
    return current_settings().corpus or project_root() / "corpus"


def default_index_dir() -> Path:
    return current_settings().index or project_root() / "index" / "default"


def build(
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    settings: ChunkSettings = ChunkSettings(),
    embedder: TokenEmbedder | None = None,
    progress: bool = False,
    force: bool = False,
    name: str | None = None,
    store: "StoreSpec | None" = None,
) -> tuple[Index, BuildReport, Corpus]:
    """Load the corpus and (re)build its index unless it is up to date.

    ``name`` is what answers call the corpus ("the essays"); by default the
    bundled corpus is "the essays" and any other "the documents". ``store``:
    where candidates are searched (rag.settings.StoreSpec; None keeps the
    index's current store)."""
    from rag.index.library import corpus_for_rebuild

    index_dir = index_dir or default_index_dir()
    bundled = corpus_dir is None and current_settings().corpus is None
    corpus = load_corpus(corpus_dir or default_corpus_dir())
    corpus = dataclasses.replace(corpus, name=name if name is not None else ("the essays" if bundled else ""))
    # Documents added with `rag add` live only in the index: carry them over.
    corpus = corpus_for_rebuild(corpus, index_dir)
    index, report = build_index(
        corpus, index_dir, embedder or default_embedder(), settings, progress, force=force, store=store
    )
    return index, report, corpus


class Rag:
    """An opened, checked index plus the model that queries it.

    The one place that wires the stages: clean the question, read its form
    once, retrieve passages, score their sentences, then quote or abstain
    (rag.answer.policy, with the answerability model chosen by
    RAG_ANSWERABILITY), compose the answer and run the post-compose steps
    (RAG_STEPS). Whatever the retriever, quotations are the best sentences
    of the passages it found, ranked by Rag's one sentence scorer
    (rag.retrieval.scoring), which the fusion retriever shares.
    """

    def __init__(
        self,
        index: Index,
        embedder: TokenEmbedder,
        rules: frozenset[str] = RULES,
        scorer: SentenceScorer | None = None,
        answerability: str | None = None,
        steps: tuple[str, ...] | None = None,
    ):
        """``answerability`` and ``steps`` name registered ones (rag.answer.registry);
        by default those of the settings (RAG_ANSWERABILITY, RAG_STEPS)."""
        self.index = index
        self.embedder = embedder
        self.rules = rules  # question-form rules in use (rag.retrieval.question_form)
        self._retrievers: dict[str, Retriever] = {}
        self._scorer = scorer
        configured = current_settings()
        self._answerability = answerability_spec(answerability or configured.answerability or DEFAULT_ANSWERABILITY)
        self._steps = step_specs((configured.steps or ()) if steps is None else steps)

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        embedder: TokenEmbedder | None = None,
        corpus_dir: str | Path | None = None,
        **options,
    ) -> "Rag":
        """Open an index and check it against the model and the corpus folder.

        The corpus folder defaults to the one the index was built from; if
        that folder is gone the index (which holds the texts) still serves.
        The folder is compared by its files' sizes and times, never read
        (rag.index.freshness; `rag check` reads and hashes every file).
        ``options``: as for Rag().
        """
        embedder = embedder or default_embedder()
        index_dir = Path(index_dir or default_index_dir())
        index = load_index(index_dir, Expected(model_name=embedder.name, model_dim=embedder.dim))
        folder = corpus_dir or index.manifest.get("corpus", {}).get("folder")
        if folder and (corpus_dir is not None or Path(folder).is_dir()):
            from rag.index.freshness import corpus_changes, describe

            changes = corpus_changes(index.manifest, folder)
            if changes:
                raise IndexMismatch(
                    f"the corpus changed since {index_dir} was built ({describe(changes)}); {rebuild_hint(index_dir)}"
                )
        if index.sentences is not None and store_name(index) != "local":
            open_store(index)  # a store outside the index is checked against it now, not at the first question
        return cls(index, embedder, **options)

    def retriever(self, name: str = DEFAULT_RETRIEVER) -> Retriever:
        if name not in RETRIEVERS:
            raise ValueError(f"unknown retriever {name!r}; choose one of {', '.join(RETRIEVERS)}")
        if name not in self._retrievers:
            scorer = self.scorer() if retriever_spec(name).scored else None
            self._retrievers[name] = make_retriever(name, self.index, self.embedder, scorer)
        return self._retrievers[name]

    def scorer(self) -> SentenceScorer | None:
        """The sentence scorer, shared by quoting and the fusion retriever; None without a sentence layer."""
        if self._scorer is None and self.index.sentences is not None:
            self._scorer = SentenceScorer(self.index, self.embedder)
        return self._scorer

    @cached_property
    def answerability(self) -> AnswerabilityModel:
        """The answerability model, made for this index with the embedding model's tuning."""
        scorer = self.scorer()
        return self._answerability.make(self.index, scorer.tuning if scorer is not None else None)

    @cached_property
    def steps(self) -> tuple[PostComposeStep, ...]:
        return tuple(spec.make(self.index) for spec in self._steps)

    @cached_property
    def _names(self) -> Mapping[str, frozenset[str]]:
        return LazyMap(self.index.documents, name_terms)

    @cached_property
    def _headers(self) -> Mapping[str, frozenset[str]]:
        """Each document's name terms, read only when a question names a
        document: a question that does not pays nothing for the corpus's size."""
        return LazyMap(self.index.documents, header_terms)

    def form(self, query: str) -> QuestionForm:
        """What the (cleaned) question asks for, read once for every stage."""
        return read_question(query, self.index.documents, self._headers, self.rules, self._names)

    def search(self, query: str, k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER) -> list[Hit]:
        query, _ = clean_question(query)
        return self.retriever(retriever).search(query, _check_k(k), form=self.form(query))

    def keep_warm(self) -> None:
        """Ready for many questions in this process (the chat page, before
        its port opens): the model, scorer and retrievers loaded, questions
        encoded the faster way where the embedder has one (FastEmbedder.keep_warm),
        and numpy's BLAS on one thread for the whole process. Its idle threads
        spin for about 0.1 s after each matrix product, and on two cores they
        took 7 ms from the next question's encoder (benchmarks/RESULTS.md)."""
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        if self.embedder.keep_warm():
            scorer = self.scorer()
            if scorer is not None:  # evidence from the other path would answer a repeated question differently
                scorer.forget()
        self.ask("warm up")

    def ask(
        self, question: str, k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER, max_quotes: int = MAX_QUOTES
    ) -> Answer:
        """Quotations that answer ``question`` from the top ``k`` passages, or an abstention."""
        query, notes = clean_question(question)
        form = self.form(query)
        searched = form.topic or query  # a comparison is searched by its topic (QuestionForm.topic)
        hits = self.retriever(retriever).search(searched, _check_k(k, MAX_K), form=form)
        return self._answer_from_hits(question, searched, hits, retriever, notes, max_quotes, form)

    def _answer_from_hits(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        retriever: str,
        notes: tuple[str, ...] = (),
        max_quotes: int = MAX_QUOTES,
        form: QuestionForm | None = None,
        scoped: bool = False,
    ) -> Answer:
        """Quote from ``hits`` (already searched for ``query``), or abstain.
        ``scoped``: the reader asked about these documents in particular (a
        follow-up on "the other essay"), which presumes they treat the topic."""
        form = form or self.form(query)
        extra: dict[str, Any] = {"query": query, "retriever": retriever, "notes": notes}
        scorer = self.scorer()
        if scorer is None or not hits:
            return self._after_compose(answer_from_passages(self.index, question, hits, max_quotes, **extra), form)
        # Every sentence of the passages found is scored, whatever gathered them (rag.retrieval.scoring).
        scores = scorer.scores(query, form, extra=sentences_of(self.index.sentences, (h.chunk.chunk_id for h in hits)))
        model = self.answerability
        choice = choose(self.index, form, scores, hits, max_quotes, self._header(form, scores, hits), model, scoped)
        if choice.unsure:
            extra["caution"] = CAUTION
        if not model.calibrated:
            extra["notes"] = (
                *notes,
                f"no answerability calibration for {self.embedder.name}: questions the "
                f"documents do not answer may still get quotations (run `rag calibrate`)",
            )
        answer = compose(
            self.index,
            question,
            choice.spans,
            with_quoted(self.index, hits, choice.spans, scores),
            choice.reason,
            grouped=choice.grouped,
            **extra,
        )
        return self._after_compose(answer, form, scores)

    def _header(self, form: QuestionForm, scores: SentenceScores, hits: list[Hit]) -> set[int]:
        """The header lines (never quoted unless asked for) of the documents
        this answer may quote from: those of the passages, and those a summary
        or every-document question concerns."""
        docs = {h.chunk.doc_id for h in hits}
        if form.broad or form.each:
            docs.update(concerned(form, scores, self.index.layer))
        scorer = self.scorer()
        assert scorer is not None  # answers are chosen only where there is a scorer
        return set(scorer.header_ids(docs).tolist())

    def _after_compose(
        self, answer: Answer, form: QuestionForm | None = None, scores: SentenceScores | None = None
    ) -> Answer:
        """The answer through each post-compose step, its quotations checked
        against their documents after each: a step may drop or flag, never invent."""
        if not self.steps:
            return answer
        composed = Composed(self.index, form, scores)
        for step in self.steps:
            answer = step(answer, composed)
            for quote in answer.quotes:
                verify_quote(self.index, quote)
        return answer

    # ------------------------------------------------------------ conversation
    # Added for the chat page; the methods above are unchanged.

    def search_rewrite(self, rewrite: "Rewrite", k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER) -> list[Hit]:
        """Hits for a rewritten question, honouring its essay scope or reading position."""
        from rag.retrieval.scoped import read_on, search_in_documents

        query, _ = clean_question(rewrite.query)
        if rewrite.after is not None:
            return read_on(self.retriever(retriever), self.index, query, k, rewrite.after)
        return search_in_documents(self.retriever(retriever), self.index, query, k, rewrite.doc_ids)

    def answer_rewrite(self, rewrite: "Rewrite", k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER) -> Answer:
        """Answer a rewritten question: searched as ``rewrite.query``, reported as the user's question."""
        import dataclasses

        if not rewrite.followup:
            return self.ask(rewrite.question, k=k, retriever=retriever)
        if rewrite.unmentioned or rewrite.after is not None:
            return self._answer_in_place(rewrite, k, retriever)
        if not rewrite.doc_ids:
            answer = self.ask(rewrite.query, k=k, retriever=retriever)
        else:
            query, notes = clean_question(rewrite.query)
            hits = self.search_rewrite(rewrite, k, retriever)
            answer = self._answer_from_hits(rewrite.question, query, hits, retriever, notes, scoped=True)
        return dataclasses.replace(answer, question=rewrite.question)

    def _answer_in_place(self, rewrite: "Rewrite", k: int, retriever: str) -> Answer:
        """ "The other essay" that never mentions the topic, and "what next": answered
        by position, not by selection (rag.answer.continuation)."""
        from rag.answer import continuation

        query, notes = clean_question(rewrite.query)
        hits = self.search_rewrite(rewrite, k, retriever)
        extra: dict[str, Any] = {"query": query, "retriever": retriever, "notes": notes}
        if rewrite.unmentioned:
            line = continuation.not_mentioned([self.index.title(d) for d in rewrite.doc_ids], rewrite.unmentioned)
            return self._after_compose(Answer(rewrite.question, line, True, (), tuple(hits), **extra))
        after = rewrite.after
        assert after is not None  # this is called for a rewrite that is unmentioned (above) or reads on
        doc = self.index.documents.get(after.doc_id)
        if doc is None:  # the document left the index since that turn
            return self._answer_from_hits(rewrite.question, query, hits, retriever, notes)
        spans = continuation.read_on(doc, self._sentences(doc), after.offset, rewrite.speaker, rewrite.skip)
        if not spans:
            line = continuation.nothing_more(doc.title, rewrite.speaker)
            return self._after_compose(Answer(rewrite.question, line, True, (), tuple(hits), **extra))
        quoted = [(doc.doc_id, s, e) for s, e in spans]
        return self._after_compose(compose(self.index, rewrite.question, quoted, hits, **extra))

    def _sentences(self, doc) -> list[tuple[int, int]]:
        if self.index.sentences is not None:
            return [(s.start, s.end) for s in self.index.sentences.sentences if s.doc_id == doc.doc_id]
        from rag.ingest.sentences import split_sentences

        return split_sentences(doc.text)

    def ask_in_conversation(
        self, question: str, history=(), k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER
    ) -> Answer:
        """Like ``ask``, but a follow-up is first made standalone from ``history``.

        ``history``: earlier ``rag.answer.followup.Turn``s, plain question
        strings, or chat messages. ``answer.query`` is the query searched.
        """
        from rag.answer.followup import rewrite

        clean_question(question)  # an empty question fails here, before any work
        return self.answer_rewrite(rewrite(question, history, self.index.documents), k, retriever)

    def compare_retrievers(self, rewrite: "Rewrite", k: int = DEFAULT_K) -> dict[str, list[Hit]]:
        """What each retriever ranks for the same rewritten question, for the inspector."""
        return {name: self.search_rewrite(rewrite, k, name) for name in RETRIEVERS}
