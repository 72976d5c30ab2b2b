"""The answerability models and post-compose steps rag knows, by name: the
built-in modules register themselves on import (rag.answer.base)."""

from __future__ import annotations

from typing import Sequence

from rag.answer import abstain, reader  # noqa: F401  (register the built-in answerability models)
from rag.answer.base import ANSWERABILITY, STEPS, AnswerabilitySpec, StepSpec
from rag.settings import SettingsError

DEFAULT_ANSWERABILITY = "logistic"


def answerability_spec(name: str) -> AnswerabilitySpec:
    if name not in ANSWERABILITY:
        raise SettingsError(
            f"unknown answerability model {name!r} (RAG_ANSWERABILITY); choose one of {', '.join(ANSWERABILITY)}"
        )
    return ANSWERABILITY[name]


def step_specs(names: Sequence[str]) -> tuple[StepSpec, ...]:
    unknown = [name for name in names if name not in STEPS]
    if unknown:
        choices = ", ".join(STEPS) or "none is registered"
        raise SettingsError(f"unknown post-compose step {unknown[0]!r} (RAG_STEPS); choose from: {choices}")
    return tuple(STEPS[name] for name in names)
