"""The two seams of the answer stage, and the registries that name what plugs in.

- An **answerability model** decides whether the best candidate sentences
  answer the question, and owns its threshold and its caution band (answers
  it is unsure of). rag.answer.abstain's fitted logistic model is one.
- A **post-compose step** runs on every answer once its quotations are
  composed: a checker that drops or flags quotations, or a generator that
  adds words around them. None runs by default. Whatever a step returns, the
  pipeline checks each quotation against its document again, so a step can
  drop or reorder quotations but never invent their text.

Each is one module that registers itself here (``register_answerability``,
``register_step``); rag.answer.registry imports the built-in ones, and
settings (RAG_ANSWERABILITY, RAG_STEPS) choose among them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    from rag.index.load import Index
    from rag.retrieval.question_form import QuestionForm
    from rag.retrieval.scoring import SentenceScores
    from rag.settings import Tuning
    from rag.types import Answer

# Shown with an answer that its answerability model is unsure of: for the
# logistic model, a probability between its threshold and its ``sure``, where
# about half of the out-of-scope questions that get past the threshold land
# in cross-validation (eval/README.md).
CAUTION = (
    "This may not answer the question: the passages below match it only loosely. "
    "Check that they say what you asked before relying on them."
)


@dataclass(frozen=True)
class Judgement:
    """An answerability model's verdict on one set of candidate sentences."""

    answerable: bool
    probability: float  # the model's confidence that they answer; nan when nobody calibrated it
    features: Mapping[str, float]  # the evidence it weighed, for reports and fitting
    reason: str = ""  # for an abstention: what was missing, in words for the reader


class AnswerabilityModel(Protocol):
    """Answer or abstain, with a threshold and a caution band of its own.

    ``share`` scales both for a question that presumes the documents treat its
    topic (about every document, or a follow-up on one document): it then
    needs that share of the usual evidence (rag.answer.policy.EVERY_DOCUMENT_SHARE)."""

    name: str

    @property
    def calibrated(self) -> bool:
        """False when it answers everything for want of fitting (the answer then says so)."""
        ...

    def judge(self, form: QuestionForm, scores: SentenceScores, candidates: Sequence[int]) -> Judgement:
        """Whether the ``candidates`` (sentence ids) answer the question."""
        ...

    def reaches(self, judgement: Judgement, share: float = 1.0) -> bool:
        """Whether ``judgement`` reaches ``share`` of the threshold."""
        ...

    def unsure(self, judgement: Judgement, share: float = 1.0) -> bool:
        """Whether an answer on ``judgement`` falls in the caution band (scaled by ``share``)."""
        ...


@dataclass(frozen=True)
class Composed:
    """What a post-compose step may use beside the answer itself."""

    index: Index  # documents, passages and sentences: the only source of quotation text
    form: QuestionForm | None  # the question's form; None where none was read (conversation by position)
    scores: SentenceScores | None  # every sentence's evidence; None on an index without a sentence layer


class PostComposeStep(Protocol):
    """Takes a composed answer, returns an answer (the same one, or a new one)."""

    name: str

    def __call__(self, answer: Answer, composed: Composed) -> Answer: ...


@dataclass(frozen=True)
class AnswerabilitySpec:
    name: str
    description: str  # one line, for `rag info`
    make: Callable[[Index, Tuning | None], AnswerabilityModel]  # the index, and the embedding model's tuning


@dataclass(frozen=True)
class StepSpec:
    name: str
    description: str
    make: Callable[[Index], PostComposeStep]


ANSWERABILITY: dict[str, AnswerabilitySpec] = {}
STEPS: dict[str, StepSpec] = {}


def register_answerability(name: str, description: str):
    """Class decorator: ``cls(index, tuning)`` becomes answerability model ``name``."""

    def add(cls):
        ANSWERABILITY[name] = AnswerabilitySpec(name, description, cls)
        return cls

    return add


def register_step(name: str, description: str):
    """Class decorator: ``cls(index)`` becomes post-compose step ``name``."""

    def add(cls):
        STEPS[name] = StepSpec(name, description, cls)
        return cls

    return add
