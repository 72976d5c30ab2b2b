"""The Python API that the CLI, the page and the eval all use."""

from __future__ import annotations

import dataclasses
import operator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.abstain import CAUTION, CorpusTerms, judge
from rag.answer.compose import MAX_QUOTES, answer_from_passages, compose
from rag.answer.question import clean_question
from rag.answer.select import PER_DOCUMENT, best_in_document, concerned, lookup, part_spans, per_document
from rag.embed.auto import default_embedder
from rag.embed.base import Embedder
from rag.errors import IndexMismatch, QuestionError
from rag.index.build import BuildReport, build_index
from rag.index.load import Index, load_index, rebuild_hint
from rag.index.manifest import Expected
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.retrieval.base import Retriever
from rag.retrieval.question_form import RULES, QuestionForm, header_terms, read_question
from rag.retrieval.registry import RETRIEVERS, make_retriever
from rag.retrieval.candidates import open_store, store_name
from rag.retrieval.scoring import sentences_of
from rag.settings import settings as current_settings
from rag.types import Answer, Corpus, Hit

if TYPE_CHECKING:
    from rag.settings import StoreSpec
    from rag.types import Rewrite

DEFAULT_RETRIEVER = "fusion"
EVERY_DOCUMENT_SHARE = 0.25
DEFAULT_K = 5
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
    embedder: Embedder | None = None,
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


def _in_document(layer, doc_id: str, exclude: set[int]) -> list[int]:
    return [i for i in layer.by_doc.get(doc_id, ()) if i not in exclude]


def _with_quoted(index: Index, hits: list[Hit], spans, scores) -> list[Hit]:
    """The passages, plus any passage a quotation comes from that was not retrieved."""
    hits = list(hits)
    have = {h.chunk.chunk_id for h in hits}
    layer = index.sentences
    for doc_id, start, end in spans:
        near = [layer.sentences[i].chunk_id for i in layer.by_doc.get(doc_id, ())
                if layer.sentences[i].start <= start < layer.sentences[i].end] if layer is not None else []
        around = range(max(0, min(near, default=0) - 2), min(len(index.chunks), max(near, default=-1) + 3)) \
            if near else range(len(index.chunks))
        for chunk in (index.chunks[c] for c in around):
            if chunk.doc_id == doc_id and chunk.start <= start and end <= chunk.end and chunk.chunk_id not in have:
                hits.append(Hit(chunk, float(scores.chunk[chunk.chunk_id]), len(hits) + 1,
                                hits[0].retriever if hits else "fusion", index.title(doc_id)))
                have.add(chunk.chunk_id)
                break
    return hits


class Rag:
    """An opened, checked index plus the model that queries it.

    The one place that wires the stages: clean the question, read its form
    once, retrieve passages, score their sentences, then quote (a lookup,
    every document concerned, or a summary of each) or abstain. Whatever the
    retriever, quotations are the best sentences of the passages it found,
    ranked by the sentence scorer (rag.retrieval.scoring).
    """

    def __init__(self, index: Index, embedder: Embedder, rules: frozenset[str] = RULES):
        self.index = index
        self.embedder = embedder
        self.rules = rules  # question-form rules in use (rag.retrieval.question_form)
        self._retrievers: dict[str, Retriever] = {}

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        embedder: Embedder | None = None,
        corpus_dir: str | Path | None = None,
    ) -> "Rag":
        """Open an index and check it against the model and the corpus folder.

        The corpus folder defaults to the one the index was built from; if
        that folder is gone the index (which holds the texts) still serves.
        The folder is compared by its files' sizes and times, never read
        (rag.index.freshness; `rag check` reads and hashes every file).
        """
        embedder = embedder or default_embedder()
        index_dir = Path(index_dir or default_index_dir())
        index = load_index(index_dir, Expected(model_name=embedder.name, model_dim=embedder.dim))
        folder = corpus_dir or index.manifest.get("corpus", {}).get("folder")
        if folder and (corpus_dir is not None or Path(folder).is_dir()):
            from rag.index.freshness import corpus_changes, describe

            changes = corpus_changes(index.manifest, folder)
            if changes:
                raise IndexMismatch(f"the corpus changed since {index_dir} was built ({describe(changes)}); "
                                    f"{rebuild_hint(index_dir)}")
        if index.sentences is not None and store_name(index) != "local":
            open_store(index)  # a store outside the index is checked against it now, not at the first question
        return cls(index, embedder)

    def retriever(self, name: str = DEFAULT_RETRIEVER) -> Retriever:
        if name not in RETRIEVERS:
            raise ValueError(f"unknown retriever {name!r}; choose one of {', '.join(RETRIEVERS)}")
        if name not in self._retrievers:
            self._retrievers[name] = make_retriever(name, self.index, self.embedder)
        return self._retrievers[name]

    def scorer(self):
        """The sentence scorer, shared by the fusion retriever and quoting; None without a sentence layer."""
        if self.index.sentences is None:
            return None
        return self.retriever("fusion").scorer

    @cached_property
    def _headers(self) -> dict[str, frozenset[str]]:
        return {doc_id: header_terms(doc) for doc_id, doc in self.index.documents.items()}

    @cached_property
    def terms(self) -> CorpusTerms | None:
        return None if self.index.sentences is None else CorpusTerms(self.index.sentences, self.index.documents)

    def form(self, query: str) -> QuestionForm:
        """What the (cleaned) question asks for, read once for every stage."""
        return read_question(query, self.index.documents, self._headers, self.rules)

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
        warm = getattr(self.embedder, "keep_warm", None)
        if warm is not None and warm():
            scorer = self.scorer()
            if scorer is not None:  # evidence from the other path would answer a repeated question differently
                scorer.forget()
        self.ask("warm up")

    def ask(self, question: str, k: int = DEFAULT_K, retriever: str = DEFAULT_RETRIEVER,
            max_quotes: int = MAX_QUOTES) -> Answer:
        """Quotations that answer ``question`` from the top ``k`` passages, or an abstention."""
        query, notes = clean_question(question)
        form = self.form(query)
        hits = self.retriever(retriever).search(query, _check_k(k, MAX_K), form=form)
        return self._answer_from_hits(question, query, hits, retriever, notes, max_quotes, form)

    def _answer_from_hits(self, question: str, query: str, hits: list[Hit], retriever: str,
                          notes: tuple[str, ...] = (), max_quotes: int = MAX_QUOTES,
                          form: QuestionForm | None = None, scoped: bool = False) -> Answer:
        """Quote from ``hits`` (already searched for ``query``), or abstain.
        ``scoped``: the reader asked about these documents in particular (a
        follow-up on "the other essay"), which presumes they treat the topic."""
        form = form or self.form(query)
        extra = {"query": query, "retriever": retriever, "notes": notes}
        scorer = self.scorer()
        if scorer is None or not hits:
            return answer_from_passages(self.index, question, hits, max_quotes, **extra)
        # Every sentence of the passages found is scored, whatever gathered them (rag.retrieval.scoring).
        scores = scorer.scores(query, form, extra=sentences_of(self.index.sentences, (h.chunk.chunk_id for h in hits)))
        spans, grouped, reason, unsure = self._choose(form, scores, hits, max_quotes, scorer, scoped)
        if unsure:
            extra["caution"] = CAUTION
        if scorer.tuning is None or scorer.tuning.answerability is None:
            extra["notes"] = (*notes, f"no answerability calibration for {self.embedder.name}: questions the "
                              f"documents do not answer may still get quotations (run `rag calibrate`)")
        return compose(self.index, question, spans, _with_quoted(self.index, hits, spans, scores), reason,
                       grouped=grouped, **extra)

    def _every_document(self, form: QuestionForm, scores, hits: list[Hit], max_quotes: int, header: set[int],
                        model) -> tuple:
        """A question about every document, once judged answerable: the best
        quotations, plus the best sentence of each other document concerned
        whose own evidence reaches EVERY_DOCUMENT_SHARE of the threshold (the
        reader asked about it too); grouped by document."""
        layer, terms = self.index.sentences, self.terms
        bar = model.threshold * EVERY_DOCUMENT_SHARE if model is not None else 0.0
        spans = list(lookup(form, scores, layer, self.index.documents, hits, max_quotes).spans)
        for doc_id in concerned(form, scores, layer):
            if any(span[0] == doc_id for span in spans):
                continue
            verdict = judge(form, scores, terms, _in_document(layer, doc_id, header), model)
            best = best_in_document(doc_id, scores, layer, 1, exclude=header, documents=self.index.documents)
            if best and (model is None or verdict.probability >= bar):
                s = layer.sentences[best[0]]
                spans.append((doc_id, s.start, s.end))
        order = {d: k for k, d in enumerate(self.index.documents)}
        return tuple(sorted(spans, key=lambda span: (order[span[0]], span[1])))

    def _choose(self, form: QuestionForm, scores, hits: list[Hit], max_quotes: int, scorer, scoped: bool = False):
        """(spans, grouped by document, abstention reason or None, whether the
        answer falls in the answerability model's caution band)."""
        layer, documents, terms = self.index.sentences, self.index.documents, self.terms
        model = scorer.tuning.answerability if scorer.tuning is not None else None
        if form.part:
            return part_spans(form, scores, layer, documents)[:max(max_quotes, 1)], False, None, False
        docs = concerned(form, scores, layer) if (form.broad or form.each) else []
        header = set(scorer.header_ids({*docs, *(h.chunk.doc_id for h in hits)}).tolist())
        if form.broad:
            return per_document(docs, scores, layer, PER_DOCUMENT, header, documents).spans, True, None, False
        candidates = [i for i in sentences_of(layer, (h.chunk.chunk_id for h in hits)) if i not in header]
        verdict = judge(form, scores, terms, candidates, model)
        lenient = model is not None and verdict.probability >= model.threshold * EVERY_DOCUMENT_SHARE
        # The band scales with the threshold where the question presumes its topic is there.
        unsure = verdict.unsure(model, EVERY_DOCUMENT_SHARE if form.each or scoped else 1.0)
        if form.each and lenient:
            # A question about how every document treats something presumes
            # they do; it needs less evidence than a lookup (see EVERY_DOCUMENT_SHARE).
            return self._every_document(form, scores, hits, max_quotes, header, model), True, None, unsure
        if scoped and lenient:
            verdict = dataclasses.replace(verdict, answerable=True)
        if not verdict.answerable:
            return (), False, verdict.reason, False
        if form.each:
            return self._every_document(form, scores, hits, max_quotes, header, model), True, None, unsure
        selection = lookup(form, scores, layer, documents, hits, max_quotes)
        if not selection.spans:
            return (), False, "no retrieved passage holds a quotable sentence", False
        return selection.spans, False, None, unsure

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
        """"The other essay" that never mentions the topic, and "what next": answered
        by position, not by selection (rag.answer.continuation)."""
        from rag.answer import continuation

        query, notes = clean_question(rewrite.query)
        hits = self.search_rewrite(rewrite, k, retriever)
        extra = {"query": query, "retriever": retriever, "notes": notes}
        if rewrite.unmentioned:
            line = continuation.not_mentioned([self.index.title(d) for d in rewrite.doc_ids], rewrite.unmentioned)
            return Answer(rewrite.question, line, True, (), tuple(hits), **extra)
        doc = self.index.documents.get(rewrite.after.doc_id)
        if doc is None:  # the document left the index since that turn
            return self._answer_from_hits(rewrite.question, query, hits, retriever, notes)
        spans = continuation.read_on(doc, self._sentences(doc), rewrite.after.offset, rewrite.speaker, rewrite.skip)
        if not spans:
            line = continuation.nothing_more(doc.title, rewrite.speaker)
            return Answer(rewrite.question, line, True, (), tuple(hits), **extra)
        return compose(self.index, rewrite.question, [(doc.doc_id, s, e) for s, e in spans], hits, **extra)

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
