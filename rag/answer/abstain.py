"""Decide whether a passage here answers the question: one calibrated decision.

No single similarity threshold separates the questions a corpus answers from
near misses that reuse its words ("How many tanks has Germany sent?" is as
close to the essays as a weakly matched question they do answer). So a small
logistic model (rag.settings.Answerability, fitted per embedding model by
`rag calibrate`, rag.evaluation.fit) weighs general evidence about the best
candidates:
- how well they match: the best combined score, its margin over the next,
  the best sentence's cosine and term-level (MaxSim) match;
- whether the question's words are there: its weakest term's best contextual
  match and the share of its terms met only weakly, and whether it names a
  person or place the corpus never mentions (unseen_names);
- answer type: a question that asks for a number or a date, against
  candidates that hold none.
``coverage`` (the share of its content words the best sentence and its
neighbours hold) and ``unseen`` (the share the whole corpus never uses) are
computed and offered to the fit too, but both shipped tunings
(rag/tuning/*.json) weigh them 0.0: kept at the sign of their meaning, they
add nothing the other features do not. A model calibrated for another
embedding model may still weigh them.
It was trained on answerable questions, out-of-scope ones, and answerable
ones with their answer removed from the corpus: near misses on the very same
topic. It is the answerability model registered as ``logistic``
(rag.answer.base), the default.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence, cast

import numpy as np

# CAUTION and Judgement live in rag.answer.base; imported from here too, as they long were.
from rag.answer.base import CAUTION, Judgement, register_answerability  # noqa: F401
from rag.index.lexical import tokenize
from rag.index.sentence_layer import SentenceLayer
from rag.retrieval.question_form import QuestionForm
from rag.retrieval.scoring import SentenceScores
from rag.settings import Answerability, Tuning
from rag.types import Document

if TYPE_CHECKING:
    from rag.index.load import Index

FEATURES = (
    "top_score",
    "margin",
    "top_dense",
    "top_maxsim",
    "coverage",
    "unseen",
    "type_missing",
    "weakest_term",
    "weak_terms",
    "unseen_name",
)
# The direction each feature's evidence points: more of it never makes an
# answer less likely (+1) or more likely (-1). Fitting keeps these signs (a
# feature whose fitted weight would turn against its meaning gets none):
# question sets carry artefacts a linear model would learn, e.g. out-of-scope
# questions written to reuse the corpus's words, which made "words the corpus
# never uses" look like evidence *for* an answer. The margin has no direction.
DIRECTION = {
    "top_score": 1,
    "top_dense": 1,
    "top_maxsim": 1,
    "coverage": 1,
    "unseen": -1,
    "type_missing": -1,
    "weakest_term": 1,
    "weak_terms": -1,
    "unseen_name": -1,
}
# Hand-set, not measured: the cosine under which a question word-piece's best
# contextual match does not count as met (weak_terms). The fit weighs the
# feature, not this cut; no other value was tried.
WEAK_TERM = 0.5
# Hand-set, not measured: the best candidates whose words count (coverage,
# weakest_term, weak_terms); 5 as `rag ask` reads 5 passages.
TOP_K = 5
# Hand-set, not measured: the candidates that must hold the answer's type,
# those an answer would quote first (a lookup quotes up to 3).
TYPE_K = 2

# A count or an amount: digits that are not a year, a number word, or a
# fraction ("a fifth of the wood"). "one" and "two" are left out: in prose
# they are mostly not quantities ("one side", "the two countries").
_NUMBER = re.compile(
    r"(?<![\d.])(?!(1[5-9]\d\d|20\d\d)\b)\d[\d,.]*|%|\$|\b(three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|percent|"
    r"half|halves|thirds?|quarters?|fifths?|sixths?|sevenths?|eighths?|ninths?|tenths?)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|\b\d{1,2}(st|nd|rd|th)\b|\b(first|last) (day|week|month|year)\b|\b(daily|weekly|monthly|annually|yearly)\b"
    r"|\b(yesterday|today|tomorrow|tonight|last (week|month|year)|next (week|month|year))\b"
    r"|\b\d+ (days?|weeks?|months?|years?|hours?)\b",
    re.I,
)
_BYLINE = re.compile(r"^\s*(?:by|written by)\s+\S", re.I)
_PROPER = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z]\.|[A-Z][a-z]+))+")
_FUNCTION_WORDS = frozenset(
    "a an the in on at by for from of to with as but and or if when while after before since until "
    "this that these those it its his her their our we they he she what which who why how there here "
    "meanwhile moreover however indeed ultimately today yesterday first second third".split()
)
# Hand-set, not measured on a question set: the difflib similarity at which
# two names are one name spelled two ways; the lowest that still joins Kiev
# and Kyiv (0.75; Donbass/Donbas 0.92), the pair it was set for (commit cd03ac8).
SPELLING_RATIO = 0.75


def has_type(text: str, kind: str | None, question: str = "") -> bool:
    """Whether ``text`` holds what a question of ``kind`` asks for."""
    if kind == "quantity":
        return bool(_NUMBER.search(text))
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "name":
        return names_someone_new(text, question)
    if kind == "author":
        return bool(_BYLINE.search(text))
    return True


def names_someone_new(text: str, question: str) -> bool:
    """A multi-word proper name in ``text`` that the question does not already give."""
    asked = question.lower()
    for match in _PROPER.finditer(text):
        words = re.split(r"[ -]", match.group())
        before = text[: match.start()].rstrip(" “\"'(")
        if not before or before[-1] in ".!?":
            # At a sentence start "In Western capitals" is no name, but
            # "Boris Johnson, for example" is: drop leading function words.
            while words and words[0].lower() in _FUNCTION_WORDS:
                words = words[1:]
        if len(words) >= 2 and " ".join(words).lower() not in asked:
            return True
    return False


def _mentioned(word: str, words: frozenset[str]) -> bool:
    """The word, or another spelling of it (Kiev / Kyiv, Donbass / Donbas), is in the corpus."""
    word = word.lower()
    if word in words:
        return True
    return any(
        w[:1] == word[:1]
        and abs(len(w) - len(word)) <= 2
        and difflib.SequenceMatcher(None, w, word).ratio() >= SPELLING_RATIO
        for w in words
    )


class CorpusTerms:
    """The corpus's words and stems (counted at build time, rag.index.sentence_layer)
    and the content stems of the sentences a question reads, stemmed when first read."""

    def __init__(self, layer: SentenceLayer, documents: Mapping[str, Document]):
        self.layer, self.documents = layer, documents
        self._stems: dict[int, frozenset[str]] = {}

    @property
    def words(self) -> frozenset[str]:
        return self.layer.words

    @property
    def stems(self) -> frozenset[str]:
        return self.layer.stems

    def sentence_stems(self, i: int) -> frozenset[str]:
        self.stem((i,))
        return self._stems[i]

    def stem(self, ids: Iterable[int]) -> None:
        """Stem sentences ``ids`` not stemmed yet, in one call (one per sentence
        cost ~0.15 ms each in bm25s's own setup: 2 % of a warm question)."""
        missing = sorted({int(i) for i in ids if 0 <= int(i) < self.layer.n} - self._stems.keys())
        for i, stems in zip(missing, tokenize([self.text(i) for i in missing])):
            self._stems[i] = frozenset(stems)

    def text(self, i: int) -> str:
        s = self.layer.sentences[i]
        return self.documents[s.doc_id].text[s.start : s.end]

    def window_stems(self, i: int, exclude: frozenset[int] = frozenset()) -> frozenset[str]:
        """Sentence ``i`` and its neighbours in the same document (bar ``exclude``)."""
        out = set(self.sentence_stems(i))
        doc = self.layer.sentences[i].doc_id
        for j in (i - 1, i + 1):
            if 0 <= j < self.layer.n and j not in exclude and self.layer.sentences[j].doc_id == doc:
                out |= self.sentence_stems(j)
        return frozenset(out)


# A place the question sets its subject in ("the summit in Vilnius").
_PLACE = re.compile(r"\b(?:in|at)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
_NOT_PLACES = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)


def unseen_names(question: str, rare: frozenset[str], words: frozenset[str]) -> list[str]:
    """What the question names that the corpus never mentions, under any close
    spelling (a feature the fitted model weighs, and the reason given with an
    abstention):
    a place it is set in ("the summit in Vilnius"), or a person
    ("Olaf Scholz") whose surname the model's vocabulary splits into several
    word pieces (``rare``): "White House" or "Cold War" are names made of plain
    words, which a question may use for what the documents call otherwise."""
    found = []
    for match in _PLACE.finditer(question):
        name = match.group(1)
        if name.split()[0].lower() not in _NOT_PLACES and not any(_mentioned(w, words) for w in name.split()):
            found.append(name)
    for match in _PROPER.finditer(question):
        names = re.split(r"[ -]", match.group())
        while names and names[0].lower() in _FUNCTION_WORDS:
            names = names[1:]
        if len(names) < 2:
            continue
        surname = re.sub(r"(’s|'s)$", "", names[-1]).lower()
        if surname in rare and not _mentioned(surname, words):
            found.append(" ".join(names))
    return found


def features(
    form: QuestionForm,
    scores: SentenceScores,
    terms: CorpusTerms,
    candidates: Iterable[int],
    exclude: frozenset[int] = frozenset(),
) -> dict[str, float]:
    """The evidence (FEATURES) about ``candidates`` (sentence ids, any order).
    ``exclude``: sentences to treat as absent from the corpus (fitting builds
    near misses by removing a question's answer)."""
    ids = np.array(sorted(set(candidates) - exclude), dtype=np.int64)
    values = dict.fromkeys(FEATURES, 0.0)
    asked = scores.evidence.content_stems
    if ids.size == 0:
        values.update(top_score=-5.0, margin=0.0, top_dense=-1.0, top_maxsim=-1.0)
    else:
        order = ids[np.argsort(-scores.score[ids], kind="stable")]
        best = int(order[0])
        values["top_score"] = float(scores.score[best])
        values["margin"] = float(scores.score[best] - scores.score[order[1]]) if len(order) > 1 else 0.0
        values["top_dense"] = float(scores.dense[ids].max())
        values["top_maxsim"] = float(np.nanmax(scores.maxsim[ids])) if np.isfinite(scores.maxsim[ids]).any() else -1.0
        if asked:
            terms.stem(j for i in order[:TOP_K] for j in (i - 1, i, i + 1))
            held = max(len(asked & terms.window_stems(int(i), exclude)) for i in order[:TOP_K])
            values["coverage"] = held / len(asked)
        match, idf = scores.evidence.term_match, scores.evidence.term_idf
        if idf.size:
            # Each question term's best match among the best candidates and their neighbours.
            near = [
                int(j)
                for i in order[:TOP_K]
                for j in (i - 1, i, i + 1)
                if 0 <= j < terms.layer.n and int(j) not in exclude
            ]
            best = np.nan_to_num(match[:, near], nan=-1.0).max(axis=1)
            values["weakest_term"] = float(best.min())
            values["weak_terms"] = float(idf[best < WEAK_TERM].sum() / idf.sum())
        if form.answer_type:
            texts = [terms.text(int(i)) for i in order[:TYPE_K]]
            values["type_missing"] = float(not any(has_type(t, form.answer_type, form.text) for t in texts))
    if asked:
        values["unseen"] = len(asked - terms.stems) / len(asked)
    values["unseen_name"] = float(bool(unseen_names(form.text, scores.rare_words, terms.words)))
    return values


def judge(
    form: QuestionForm,
    scores: SentenceScores,
    terms: CorpusTerms,
    candidates: Iterable[int],
    model: Answerability | None,
) -> Judgement:
    """Answer or abstain. Without a fitted model (a model nobody calibrated)
    every question is answered, and the caller says so."""
    values = features(form, scores, terms, candidates)
    if model is None:
        return Judgement(True, float("nan"), values)
    p = model.probability(_measurable(values, terms.layer.n, model))
    if values["top_dense"] < model.dense_floor:
        return Judgement(False, p, values, "nothing in the documents is close to this question")
    if p >= model.threshold:
        return Judgement(True, p, values)
    return Judgement(False, p, values, _reason(form, values, scores, terms))


# Features in z units over the corpus's sentences: how far the best stands out.
RELATIVE = ("top_score", "margin")


def _measurable(values: Mapping[str, float], sentences: int, model: Answerability) -> Mapping[str, float]:
    """``values``, with the relative features set to their training mean
    (no evidence either way) where the corpus is too small to measure them:
    among n sentences none can stand more than (n - 1) / sqrt(n) deviations
    above the rest, and below the typical answer's top_score (the model's
    own mean: 6.0 for all-mpnet-base-v2 and 8.1 for all-MiniLM-L6-v2 in the
    shipped tunings, reached from 39 and 69 sentences) a two-sentence note's
    answer would read as a weak one, and its clear lead over the other as the
    lone spike of a near miss."""
    if sentences < 2 or "top_score" not in model.features:
        return values
    typical = model.mean[model.features.index("top_score")]
    if (sentences - 1) / sentences**0.5 >= typical:
        return values
    means = dict(zip(model.features, model.mean))
    return {**values, **{f: means[f] for f in RELATIVE if f in means}}


def _reason(form: QuestionForm, values: Mapping[str, float], scores: SentenceScores, terms: CorpusTerms) -> str:
    names = unseen_names(form.text, scores.rare_words, terms.words)
    if names:
        return f"the documents never mention {names[0]}"
    if values["type_missing"]:
        return f"the passages that match give no {form.answer_type} for this"
    return "nothing in the documents answers this closely enough"


@register_answerability(
    "logistic",
    "a logistic model of match, terms met and answer type, fitted per embedding model by `rag calibrate` (the default)",
)
class LogisticAnswerability:
    """The fitted model of the embedding model's tuning (rag.settings.Answerability):
    answer from ``threshold``, with a caution below ``sure``. Without a tuning
    (a model nobody calibrated) it answers everything."""

    name = "logistic"

    def __init__(self, index: Index, tuning: Tuning | None):
        self.model = tuning.answerability if tuning is not None else None
        # Made only for an index with a sentence layer (Rag.answerability, after its scorer).
        self.terms = CorpusTerms(cast("SentenceLayer", index.sentences), index.documents)

    @property
    def calibrated(self) -> bool:
        return self.model is not None

    def judge(self, form: QuestionForm, scores: SentenceScores, candidates: Sequence[int]) -> Judgement:
        return judge(form, scores, self.terms, candidates, self.model)

    def reaches(self, judgement: Judgement, share: float = 1.0) -> bool:
        return self.model is None or judgement.probability >= self.model.threshold * share

    def unsure(self, judgement: Judgement, share: float = 1.0) -> bool:
        return self.model is not None and judgement.probability < self.model.sure_threshold * share
