"""Score a question's candidate sentences: gather a few hundred, then weigh all the evidence on those.

Cost must not grow with the corpus, so a question first gathers candidates
(rag.retrieval.candidates: the sentences nearest its vector, the sentences
of the passages nearest it by meaning and by BM25), then computes every kind
of evidence for those alone (and their neighbours and headings, which the
evidence reads), each z-normalised by its mean and spread over a fixed
sample of the corpus's sentences (every sentence, in a corpus of up to
SAMPLE sentences, as before candidates existed):
- its own vector, and its vectors joined with the previous and the next
  sentence (an answer often leans on the sentence before it);
- its chunk's dense and BM25 scores (the passage around it);
- MaxSim: for each content word-piece of the question, its best contextual
  match among the sentence's word-pieces, IDF-weighted: soft term matching
  that survives paraphrase better than BM25's exact stems;
- the same, with each term's match taken over the sentence, the one before
  it and the heading it stands under: a term met there is met by the passage
  a reader sees ("he said" after the sentence that names him; on the first
  three development sets, 5-fold CV put the right passage first for 161 of
  185 questions against 153 without the previous sentence: eval/README.md,
  run 6; an FAQ's question heading names what its answer never repeats);
- minus its hubness (similarity to the corpus centroid);
- MaxSim over the sentence and its heading alone: a quotation may stand on
  the words of the heading it stands under, never on its predecessor's.
The weights are fitted per embedding model (rag.settings.Tuning, written by
rag calibrate). The question's form (rag.retrieval.question_form) adds what
its words say beyond their topic: a bonus for the sentences of the document
it names, and no header line (headline, credit, dateline) as an answer
unless it asks for one. A sentence never computed scores -inf.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from typing import Iterable, Mapping, cast

import numpy as np

from rag.index.load import Index
from rag.retrieval.candidates import Query, gather, open_store, store_name  # noqa: F401 (store_name: its old home)
from rag.retrieval.concerned import concerned_documents, sentences_of
from rag.retrieval.evidence import Evidence, SentenceScores, _nan_z, rare_words
from rag.retrieval.matches import best_matches, decoded_best_matches
from rag.retrieval.parts import header_of
from rag.retrieval.products import products
from rag.retrieval.question_form import QuestionForm
from rag.settings import Tuning, tuning_for

EVIDENCE = (
    "sentence",
    "with_prev",
    "with_next",
    "chunk_dense",
    "chunk_bm25",
    "maxsim",
    "maxsim_with_prev",
    "hubness",
    "maxsim_heading",
)
# What chooses a quotation: a quotation stands on its own words, so terms met
# only in the sentence before do not count for it.
QUOTE_EVIDENCE = tuple(name for name in EVIDENCE if name != "maxsim_with_prev")
# For a model nobody fitted weights for: the all-MiniLM-L6-v2 weights, which
# assume nothing of the model but the scale-free z units.
DEFAULT_WEIGHTS = {
    "sentence": 0.4,
    "with_prev": 0.6,
    "with_next": 0.3,
    "chunk_dense": 0.6,
    "chunk_bm25": 0.6,
    "maxsim": 1.0,
    "maxsim_with_prev": 0.0,
    "hubness": -0.25,
    "named_bonus": 2.0,
    "header_penalty": 4.0,
    "maxsim_heading": 0.0,
    # Broad questions (rag.retrieval.thesis): the question's own evidence
    # counts this much beside the thesis evidence.
    "broad_query": 0.3,
    "thesis_summary": 1.0,
    "thesis_early": 0.5,
    "thesis_recommends": 1.0,
}
# z statistics come from this many sentences spread evenly over the corpus:
# all of them in a corpus up to this size (the bundled essays have 600), so
# the essays score exactly as before candidates.
SAMPLE = 640
# Over a bigger corpus the sample is SAMPLE_SPREAD sentences in runs of
# SAMPLE_RUN consecutive ones: term matches read each sentence's predecessor,
# which is then mostly in the sample too, so the sample's word pieces (kept
# decoded) cover its context and a question decodes only its candidates'.
# Measured at 300 SciFact abstracts: 640 evenly spaced sentences made each
# question decode ~640 more rows and multiply ~26,000 word pieces. Against
# them, 320 in runs gave the same abstentions and first quotations for 40 of
# 40 SciFact *test* claims (256: 34 of 40; a cost setting checked for
# agreement, but chosen on those claims) and for 39 of 40 train claims.
SAMPLE_SPREAD = 320
SAMPLE_RUN = 8
# A document a question names or summarises is scored whole up to this many
# sentences (a long manual: those most likely to answer).
DOC_UNITS = 1000
DECODE_BATCH = 2048  # sentences whose word pieces are compared together (their products: ~75,000 rows)

# Words that say how a question is asked, not what it is about.
QUESTION_WORDS = frozenset(
    """a an the of to in on for and or but is are was were be been being do does did what which who whom
    whose why how when where that this these those it its with by as at from about into than then so such
    according author authors essay essays article commentary piece say says said describe describes
    mention mentions use uses argue argues claim claims suggest suggests write writes wrote text
    he she they them his her their there here can could would should will may might must""".split()
)


def sample_of(n: int) -> np.ndarray:
    """Every sentence up to SAMPLE; above, SAMPLE_SPREAD in runs of SAMPLE_RUN spread evenly."""
    if n <= SAMPLE:
        return np.arange(n)
    starts = np.linspace(0, n - SAMPLE_RUN, SAMPLE_SPREAD // SAMPLE_RUN).astype(np.int64)
    return np.unique((starts[:, None] + np.arange(SAMPLE_RUN)[None, :]).ravel())


class SentenceScorer:
    def __init__(self, index: Index, embedder, tuning: Tuning | None = None):
        if index.sentences is None:
            raise ValueError("this index has no sentence layer")
        self.index, self.embedder, self.layer = index, embedder, index.sentences
        self.tuning = tuning if tuning is not None else tuning_for(embedder.name)
        self.weights = {**DEFAULT_WEIGHTS, **(self.tuning.weights if self.tuning else {})}
        # Without fitted quotation weights: the ranking weights, bar the window's terms.
        self.quote_weights = {
            **{name: self.weights[name] for name in QUOTE_EVIDENCE},
            **(self.tuning.quote_weights if self.tuning else {}),
        }
        self.sentence_chunk = np.array([s.chunk_id for s in self.layer.sentences], dtype=np.int64)
        self.chunk_vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
        n = self.layer.n
        self.sample = sample_of(n)
        # Each sentence's context for terms: the one before it and its heading.
        self.context = (self.layer.prev_id, np.where(self.layer.heading_of >= 0, self.layer.heading_of, np.arange(n)))
        # The rows whose word pieces stay decoded: the sample and its context.
        self.kept = np.unique(np.concatenate([self.sample, self.context[0][self.sample], self.context[1][self.sample]]))
        self.evidence = lru_cache(maxsize=32)(self._evidence)
        # Cached per scorer: lru_cache on the methods would be one cache for the class,
        # holding every scorer (and its index) it ever saw alive.
        self._header = lru_cache(maxsize=4096)(self._header_of)
        self.thesis_of = lru_cache(maxsize=4096)(self._thesis_of)
        # Where candidates are searched (rag.retrieval.candidates): the index's own store.
        self.store = open_store(index)

    def forget(self) -> None:
        """Drop what was computed for earlier questions (the embedder changed path)."""
        self.evidence.cache_clear()

    @cached_property
    def sample_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """The word-piece vectors of the sample and its context (``kept``), decoded once
        ([T, dim] float32), and where each sentence's start."""
        tokens, offsets = self.layer.token_rows(self.kept)
        return np.ascontiguousarray(tokens, dtype=np.float32), offsets

    @cached_property
    def sentence_doc(self) -> np.ndarray:
        return np.array([s.doc_id for s in self.layer.sentences], dtype=object)

    def _header_of(self, doc_id: str) -> tuple[int, ...]:
        return tuple(header_of(self.layer, self.index.documents[doc_id]))

    def header_ids(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The header lines (headline, credit, dateline …) of ``doc_ids``."""
        ids = [i for d in doc_ids for i in self._header(d)]
        return np.array(sorted(ids), dtype=np.int64)

    @cached_property
    def header(self) -> np.ndarray:
        """Every document's header lines (fitting reads them all; a question reads its documents')."""
        return self.header_ids(self.index.documents)

    def _thesis_of(self, doc_id: str) -> dict[str, np.ndarray]:
        from rag.retrieval.thesis import thesis_evidence

        return thesis_evidence(self.layer, self.index.documents, doc_id, set(self._header(doc_id)))

    def _content_mask(self, ids: np.ndarray) -> np.ndarray:
        tokens = self.embedder.token_strings(ids)
        special = self.embedder.special_ids
        return np.array(
            [
                int(i) not in special and bool(re.search(r"\w", t)) and t.lower() not in QUESTION_WORDS
                for i, t in zip(ids, tokens)
            ],
            dtype=bool,
        )

    # ---------------------------------------------------------------- evidence

    def _evidence(self, query: str) -> Evidence:
        from rag.index.lexical import question_stems

        layer, n = self.layer, self.layer.n
        q_ids, q_tokens, q = self.embedder.embed_tokens([query])[0]
        keep = self._content_mask(q_ids)
        q_content = q_tokens[keep].astype(np.float32)
        idf = np.array([np.log((n + 1) / (self._df(int(t)) + 0.5)) for t in q_ids[keep]], dtype=np.float32)
        idf = np.maximum(idf, 0.05) if idf.size else idf
        dense = products(layer.vectors, q)
        chunk_dense = products(self.chunk_vectors, q)
        chunk_bm25 = self.index.bm25.scores_for(query)
        features = {name: np.full(n, np.nan, dtype=np.float32) for name in EVIDENCE}
        features["sentence"] = dense.astype(np.float32)
        pieces = self.embedder.token_strings(q_ids)
        evidence = Evidence(
            features,
            q,
            rare_words(pieces),
            frozenset(question_stems(query)),
            np.full((len(idf), n), np.nan, dtype=np.float32),
            idf,
            np.zeros(n, dtype=bool),
            q_tokens=q_content,
            chunk_dense=chunk_dense,
            chunk_bm25=chunk_bm25,
            question_ids=q_ids,
            question_tokens=q_tokens,
            question_pieces=tuple(pieces),
            question_special=frozenset(self.embedder.special_ids),
        )
        evidence.candidates = gather(self.store, Query(query, q, dense, chunk_dense, chunk_bm25), layer)
        self.ensure(evidence, np.concatenate([self.sample, evidence.candidates]))
        for name in EVIDENCE:
            values = evidence.features[name][self.sample].astype(np.float64)
            evidence.stats[name] = (float(values.mean()), float(values.std())) if len(values) else (0.0, 0.0)
        return evidence

    def _df(self, token: int) -> int:
        df = self.layer.df
        return int(df[token]) if 0 <= token < len(df) else 0

    def ensure(self, evidence: Evidence, ids: Iterable[int]) -> None:
        """Compute every kind of evidence for sentences ``ids`` not computed yet."""
        layer = self.layer
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64))
        ids = ids[~evidence.computed[ids]] if ids.size else ids
        if ids.size == 0:
            return
        # Term matches are read over each sentence's context too: compute those rows as well.
        rows = np.unique(np.concatenate([ids, self.context[0][ids], self.context[1][ids]]))
        need = rows[np.isnan(evidence.term_match[0, rows])] if evidence.term_match.shape[0] else rows[:0]
        q_tokens = cast(np.ndarray, evidence.q_tokens)  # set by _evidence
        if need.size and np.isnan(evidence.term_match[0, self.sample[0]]) and evidence.term_match.shape[0]:
            # The sample's word pieces are kept decoded: every question reads all of them.
            evidence.term_match[:, self.kept] = best_matches(q_tokens, *self.sample_tokens)
            need = need[np.isnan(evidence.term_match[0, need])]
        for at in range(0, need.size, DECODE_BATCH):  # a batch of sentences at a time: memory stays bounded
            part = need[at : at + DECODE_BATCH]
            evidence.term_match[:, part] = decoded_best_matches(q_tokens, layer, part)
        f = evidence.features
        f["with_prev"][ids] = layer.neighbour_scores(ids, "prev", f["sentence"])
        f["with_next"][ids] = layer.neighbour_scores(ids, "next", f["sentence"])
        chunks = self.sentence_chunk[ids]
        f["chunk_dense"][ids] = cast(np.ndarray, evidence.chunk_dense)[chunks]  # both set by _evidence
        f["chunk_bm25"][ids] = cast(np.ndarray, evidence.chunk_bm25)[chunks]
        f["hubness"][ids] = layer.hubness[ids]
        idf = evidence.term_idf
        if idf.size:
            match = evidence.term_match
            f["maxsim"][ids] = (idf @ match[:, ids]) / float(idf.sum())
            titled = np.maximum(match[:, ids], match[:, self.context[1][ids]])
            window = np.maximum(titled, match[:, self.context[0][ids]])
            f["maxsim_with_prev"][ids] = (idf @ window) / float(idf.sum())
            f["maxsim_heading"][ids] = (idf @ titled) / float(idf.sum())
        else:
            f["maxsim"][ids] = 0.0
            f["maxsim_with_prev"][ids] = 0.0
            f["maxsim_heading"][ids] = 0.0
        evidence.computed[ids] = True

    def everything(self, query: str) -> Evidence:
        """The evidence of every sentence (for fitting weights over whole corpora)."""
        evidence = self.evidence(query)
        self.ensure(evidence, np.arange(self.layer.n))
        return evidence

    # ---------------------------------------------------------------- combining

    def combine(self, evidence: Evidence, form: QuestionForm | None = None) -> SentenceScores:
        """The evidence weighted (this model's tuning), then what the question's form adds.

        Two scores: ``score`` ranks passages, where terms met in the sentence
        before (or the heading above) count (the reader sees them); ``quote``
        chooses quotations, which must stand on their own words
        (QUOTE_EVIDENCE, with weights fitted for it), so that "It is a
        question of natural justice." is not quoted for the question its
        predecessor answers."""
        w, wq = self.weights, self.quote_weights
        z = {name: evidence.z(name) for name in EVIDENCE}
        score = cast(np.ndarray, sum(w[name] * z[name] for name in EVIDENCE))
        quote = cast(np.ndarray, sum(wq[name] * z[name] for name in QUOTE_EVIDENCE))
        score, quote = self._with_form(score, evidence, form), self._with_form(quote, evidence, form)
        score = np.where(np.isnan(score), -np.inf, score).astype(np.float32)
        quote = np.where(np.isnan(quote), -np.inf, quote).astype(np.float32)
        chunk = np.full(len(self.index.chunks), -np.inf, dtype=np.float32)
        ids = evidence.ids
        np.maximum.at(chunk, self.sentence_chunk[ids], score[ids])
        for shared in (score, quote, chunk):
            shared.flags.writeable = False
        return SentenceScores(score, quote, evidence.features["sentence"], evidence.features["maxsim"], chunk, evidence)

    def _with_form(self, score: np.ndarray, evidence: Evidence, form: QuestionForm | None) -> np.ndarray:
        w = self.weights
        if form is None:
            return score
        if form.broad:
            # A summary: the document's thesis, steered a little by the question's own topic.
            score = w["broad_query"] * _nan_z(score)
            for doc_id in self.scope(evidence, form):
                t, ids = self.thesis_of(doc_id), np.asarray(self.layer.by_doc[doc_id])
                score[ids] += (
                    w["thesis_summary"] * t["summary"]
                    + w["thesis_early"] * t["early"]
                    + w["thesis_recommends"] * t["recommends"]
                )
        if len(form.documents) == 1 and not form.each:
            named = self.layer.by_doc.get(form.documents[0])
            if named is not None:
                score[named.start : named.stop] += w["named_bonus"]
        if form.part is None:
            # The header names a document; it is how a document is found, not an answer.
            docs = {self.layer.sentences[i].doc_id for i in evidence.ids}
            score[self.header_ids(docs)] -= w["header_penalty"]
        return score

    def scope(self, evidence: Evidence, form: QuestionForm) -> list[str]:
        """The documents a summary or every-document question is about (by each one's nearest sentence)."""
        return concerned_documents(form, self.layer, evidence.features["sentence"])

    def scores(self, query: str, form: QuestionForm | None = None, extra: Iterable[int] = ()) -> SentenceScores:
        """The question's scores; ``extra``: sentences to compute beyond the candidates
        (those of the passages a retriever returned, of the documents a question names)."""
        evidence = self.evidence(query)
        want = list(extra)
        if form is not None and (form.documents or form.broad or form.each or form.part):
            for doc_id in self.scope(evidence, form) if (form.broad or form.each or form.part) else form.documents:
                want.extend(self._of_document(evidence, doc_id, form.broad))
        if want:
            self.ensure(evidence, want)
        return self.combine(evidence, form)

    def _of_document(self, evidence: Evidence, doc_id: str, broad: bool) -> list[int]:
        """The sentences of a document a question is about: all of them, or in a
        long one the DOC_UNITS most likely to answer (the thesis prior for a
        summary, else closeness to the question)."""
        r = self.layer.by_doc.get(doc_id)
        if r is None:
            return []
        if len(r) <= DOC_UNITS:
            return list(r)
        if broad:
            t = self.thesis_of(doc_id)
            prior = t["summary"] + t["early"] + t["recommends"]
        else:
            prior = evidence.features["sentence"][r.start : r.stop]
        return (r.start + np.argsort(-prior, kind="stable")[:DOC_UNITS]).tolist()


__all__ = [
    "EVIDENCE",
    "QUOTE_EVIDENCE",
    "DEFAULT_WEIGHTS",
    "Evidence",
    "SentenceScores",
    "SentenceScorer",
    "concerned_documents",
    "rare_words",
    "sentences_of",
    "Mapping",
]
