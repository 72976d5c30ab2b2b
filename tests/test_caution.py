"""The answerability model's second threshold: an answer it is unsure of
comes with a caution, in every place an answer is shown."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rag.answer.abstain import CAUTION, FEATURES, Judgement, LogisticAnswerability
from rag.chat.render import answer_html
from rag.chat.restore import new_key, restore, saved_state
from rag.chat.session import respond
from rag.evaluation.fit import choose_answerability
from rag.evaluation.runner import QuestionResult, per_question_metrics
from rag.settings import TUNING_DIR, Answerability, Tuning
from tests.html_tree import parse
from tests.test_cli import run

# From eval/dev2_qa.jsonl (a development set): out of scope, and close enough
# to the off-ramp essay's words to get past the threshold (probability about
# 0.14 against 0.073), but not past the caution band's top (0.249).
NEAR_MISS = "How large is Vladimir Putin's personal fortune estimated to be?"
CLEAR = "Who is Michael Kofman?"  # probability about 0.89


def _model(threshold: float, sure: float | None) -> Answerability:
    n = len(FEATURES)
    return Answerability(FEATURES, (0.0,) * n, 0.0, (0.0,) * n, (1.0,) * n, threshold, -1.0, sure)


def _logistic(model: Answerability | None) -> LogisticAnswerability:
    no_index = SimpleNamespace(sentences=None, documents={})  # the band needs none
    return LogisticAnswerability(no_index, None if model is None else Tuning("m", {}, model))


@pytest.mark.unit
def test_the_band_lies_between_the_threshold_and_sure():
    band = _logistic(_model(0.1, 0.3))
    assert band.unsure(Judgement(True, 0.2, {}))
    assert not band.unsure(Judgement(True, 0.3, {}))
    assert not band.unsure(Judgement(True, 0.9, {}))
    assert not _logistic(None).unsure(Judgement(True, 0.2, {}))  # nobody calibrated: the note says so instead
    # "Do both essays …?" presumes the topic is there: band and threshold scale alike.
    assert not band.unsure(Judgement(True, 0.1, {}), 0.25) and band.unsure(Judgement(True, 0.05, {}), 0.25)
    assert band.reaches(Judgement(False, 0.1, {})) and not band.reaches(Judgement(False, 0.09, {}))
    assert band.reaches(Judgement(False, 0.025, {}), 0.25) and _logistic(None).reaches(Judgement(True, 0.0, {}))
    # A tuning file from before the band: no band, and a sure below the threshold is the threshold.
    assert not _logistic(_model(0.1, None)).unsure(Judgement(True, 0.1, {}))
    assert _model(0.1, 0.05).sure_threshold == 0.1


@pytest.mark.unit
def test_tuning_files_from_before_the_band_have_none():
    data = json.loads((TUNING_DIR / "all-mpnet-base-v2.json").read_text(encoding="utf-8"))
    del data["answerability"]["sure"]
    assert Tuning.from_json(data).answerability.sure is None


@pytest.mark.unit
def test_calibration_puts_at_most_the_allowed_share_of_answers_under_the_band():
    rng = np.random.default_rng(0)
    examples = []
    for g in range(200):
        answerable = g % 2 == 0
        x = dict.fromkeys(FEATURES, 0.0)
        x["top_dense"] = float(rng.normal(1.0 if answerable else -1.0, 1.0))
        examples.append((x, int(answerable), g, "answerable" if answerable else "out of scope"))
    report: list[str] = []
    model = choose_answerability(examples, 0.03, report, max_caution=0.2)
    assert model.sure > model.threshold
    probabilities = np.array([model.probability(e[0]) for e in examples if e[1] == 1])
    # On the fit itself (not cross-validated) about a fifth of the answerable fall under it.
    assert 0.1 <= float(np.mean(probabilities < model.sure)) <= 0.3
    assert any("without a caution" in line for line in report)


def test_a_near_miss_is_answered_with_a_caution_and_a_clear_answer_without(essays_rag):
    near = essays_rag.ask(NEAR_MISS)
    assert not near.abstained and near.quotes and near.caution == CAUTION
    clear = essays_rag.ask(CLEAR)
    assert not clear.abstained and clear.caution == ""
    assert essays_rag.ask("What is the capital of Australia?").caution == ""  # refused: nothing to be unsure of


def test_the_page_examples_are_answered_without_a_caution(essays_rag):
    from rag.chat.examples import ESSAY_EXAMPLES as EXAMPLES

    for question, _ in EXAMPLES:
        answer = essays_rag.ask(question)
        assert not answer.abstained and answer.caution == "", question


def test_the_caution_reaches_rag_ask_in_text_and_json(essays_index):
    text = run("ask", NEAR_MISS, "--index", str(essays_index.path))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"Caution: {CAUTION}\n")
    payload = json.loads(run("ask", "--json", CLEAR, "--index", str(essays_index.path)).stdout)
    assert payload["caution"] == ""


def test_the_page_shows_the_caution_before_the_quotations_and_keeps_it_on_restore(essays_rag):
    views = list(respond(essays_rag, NEAR_MISS))
    assert views[-1].record["caution"] == CAUTION
    turn = parse(views[-1].conversation).find_all("rag-turn")[-1]
    caution = turn.find("rag-caution")
    assert caution.text() == CAUTION
    html = views[-1].conversation
    assert html.index("rag-caution") < html.index("rag-quote")
    assert views[-1].turns[-1].answer.caution == CAUTION
    key = new_key()
    back, problem = restore(essays_rag, json.loads(json.dumps(saved_state(views[-1].turns, key))), key)
    assert problem == "" and back[-1].answer.caution == CAUTION
    plain = list(respond(essays_rag, CLEAR))[-1]
    assert "rag-caution" not in answer_html(plain.turns[-1].answer, 1, essays_rag.index.documents)


def _result(answerable: bool, abstained: bool, cautioned: bool) -> QuestionResult:
    return QuestionResult(
        "q",
        "q",
        answerable,
        1 if answerable else None,
        (answerable and not abstained) or None,
        abstained,
        (),
        (),
        cautioned=cautioned,
    )


@pytest.mark.unit
def test_eval_counts_confident_out_of_scope_answers_and_cautioned_answers():
    results = [
        _result(False, True, False),
        _result(False, False, True),
        _result(False, False, False),
        _result(False, False, False),
        _result(True, False, True),
        _result(True, False, False),
        _result(True, True, False),
        _result(True, False, False),
    ]
    metrics = per_question_metrics(results)
    assert metrics["abstain_rate"] == 0.25
    assert metrics["confident_oos_rate"] == 0.5
    assert metrics["caution_rate"] == 0.25


@pytest.mark.unit
@pytest.mark.parametrize("name", ["all-mpnet-base-v2.json", "all-MiniLM-L6-v2.json"])
def test_every_shipped_tuning_has_a_band(name):
    model = Tuning.from_json(json.loads((TUNING_DIR / name).read_text(encoding="utf-8"))).answerability
    assert model.threshold < model.sure < 1.0
