"""The answer stage's seams (rag.answer.base): an answerability model and a
post-compose step, each one class registered by name in this file, chosen by
settings, listed by `rag info` and used by the pipeline with no other file
changed. Wiring only, with the fake embedder (tests/fakes.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.answer import base
from rag.answer.base import Judgement, register_answerability, register_step
from rag.answer.policy import Choice
from rag.embed.base import TokenEmbedder
from rag.index.build import build_index
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag
from rag.settings import Settings, SettingsError
from tests.conftest import write_corpus
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
DOCS = {
    "harbour.txt": "Harbour Log\n\nThe ferry leaves at noon every day. Fishing boats return at dusk. "
    "The lighthouse keeper writes every ship down in a red book.",
    "garden.txt": "Garden Notes\n\nTomatoes need full sun and steady water. Basil grows well beside them.",
}


class ToyReader:
    """Reads question and sentences together: answerable when a sentence holds
    every word of the question longer than four letters."""

    name = "toy-reader"
    calibrated = True

    def __init__(self, index, tuning):
        self.index, self.calls = index, []

    def judge(self, form, scores, candidates):
        words = {w.strip("?.").lower() for w in form.text.split() if len(w.strip("?.")) > 4}
        layer, docs = self.index.sentences, self.index.documents
        texts = [
            docs[layer.sentences[i].doc_id].text[layer.sentences[i].start : layer.sentences[i].end].lower()
            for i in candidates
        ]
        p = max((sum(w in t for w in words) / max(len(words), 1) for t in texts), default=0.0)
        self.calls.append((form.text, p))
        return Judgement(p >= 1.0, p, {"share_of_words": p}, "" if p >= 1.0 else "the toy reader found no sentence")

    def reaches(self, judgement, share=1.0):
        return judgement.probability >= share

    def unsure(self, judgement, share=1.0):
        return False


class ToyChecker:
    """Keeps only quotations that name a word of the question, and says so."""

    name = "toy-checker"

    def __init__(self, index):
        self.index = index

    def __call__(self, answer, composed):
        if answer.abstained:
            return answer
        words = {w.strip("?.").lower() for w in composed.form.text.split()}
        kept = tuple(q for q in answer.quotes if words & {w.strip(".,").lower() for w in q.text.split()})
        return dataclasses.replace(answer, quotes=kept, notes=(*answer.notes, f"toy checker kept {len(kept)}"))


class Inventor:
    """A step that breaks the rule: it rewrites a quotation's text."""

    name = "inventor"

    def __init__(self, index):
        pass

    def __call__(self, answer, composed):
        q = answer.quotes[0]
        return dataclasses.replace(answer, quotes=(dataclasses.replace(q, text=q.text.upper()),))


@pytest.fixture
def toys():
    saved = dict(base.ANSWERABILITY), dict(base.STEPS)
    register_answerability("toy-reader", "reads question and sentence together (a test)")(ToyReader)
    register_step("toy-checker", "drops quotations that share no word with the question (a test)")(ToyChecker)
    register_step("inventor", "rewrites a quotation (a test; refused)")(Inventor)
    yield
    for registry, before in zip((base.ANSWERABILITY, base.STEPS), saved):
        registry.clear()
        registry.update(before)


@pytest.fixture
def index(tmp_path):
    built, _ = build_index(load_corpus(write_corpus(tmp_path / "corpus", DOCS)), tmp_path / "index", FakeEmbedder())
    return built


def test_the_fake_embedder_is_a_token_embedder():
    assert isinstance(FakeEmbedder(), TokenEmbedder)


def test_settings_choose_a_registered_reader_and_steps(toys, index, monkeypatch):
    monkeypatch.setenv("RAG_ANSWERABILITY", "toy-reader")
    monkeypatch.setenv("RAG_STEPS", "toy-checker")
    rag = Rag.open(index.path, FakeEmbedder())  # as `rag ask` and `rag serve` open it
    assert isinstance(rag.answerability, ToyReader) and [type(s) for s in rag.steps] == [ToyChecker]
    answer = rag.ask("When does the ferry leave?")
    assert rag.answerability.calls and rag.answerability.calls[0][0] == "When does the ferry leave?"
    assert not answer.abstained and answer.notes[-1].startswith("toy checker kept")
    assert answer.quotes and "ferry" in answer.quotes[0].text.lower()  # the fake embedder ranks only roughly
    # The reader's own abstention, with its reason; the step lets it through.
    refused = rag.ask("When does the submarine surface?")
    assert refused.abstained and not refused.quotes and "the toy reader found no sentence" in refused.notes
    # No calibration note: the reader says it needs none.
    assert not any("calibration" in note for note in answer.notes)


def test_rag_info_lists_them(toys, index, monkeypatch):
    from rag.cli.info import info

    monkeypatch.setenv("RAG_ANSWERABILITY", "toy-reader")
    result = CliRunner().invoke(info, ["--json", "--index", str(index.path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    readers = {a["name"]: a["chosen"] for a in data["answerability"]}
    assert readers == {"logistic": False, "reader": False, "toy-reader": True}
    assert {s["name"] for s in data["steps"]} == {"toy-checker", "inventor"}
    text = CliRunner().invoke(info, ["--index", str(index.path)]).output
    assert "Answerability models (RAG_ANSWERABILITY):" in text and "toy-reader" in text and "toy-checker" in text


def test_the_default_is_the_logistic_model_and_no_step(index, monkeypatch):
    monkeypatch.delenv("RAG_ANSWERABILITY", raising=False)
    monkeypatch.delenv("RAG_STEPS", raising=False)
    rag = Rag(index, FakeEmbedder())
    assert rag.answerability.name == "logistic" and rag.steps == ()
    # The fake model was never calibrated: it answers, and says so.
    answer = rag.ask("When does the ferry leave?")
    assert not rag.answerability.calibrated and any("no answerability calibration" in n for n in answer.notes)


def test_a_step_cannot_invent_quotation_text(toys, index):
    rag = Rag(index, FakeEmbedder(), steps=("inventor",))
    with pytest.raises(AssertionError, match=r"quotation \[1\] does not match"):
        rag.ask("The ferry leaves at noon every day.")


def test_unknown_names_are_one_line_errors(index, monkeypatch):
    with pytest.raises(
        SettingsError,
        match=r"^unknown answerability model 'oracle' \(RAG_ANSWERABILITY\); "
        r"choose one of logistic, reader$",
    ):
        Rag(index, FakeEmbedder(), answerability="oracle")
    monkeypatch.setenv("RAG_STEPS", "summarise")
    with pytest.raises(SettingsError, match=r"unknown post-compose step 'summarise' \(RAG_STEPS\)"):
        Rag(index, FakeEmbedder())
    assert Settings.from_env({"RAG_STEPS": " a, b ,"}).steps == ("a", "b")
    assert Settings.from_env({}).steps == () and Settings.from_env({}).answerability is None
    with pytest.raises(SettingsError, match="RAG_ANSWERABILITY"):
        Settings.from_env({"RAG_ANSWERABILITY": "a,b"})
    with pytest.raises(SettingsError, match="RAG_STEPS"):
        Settings.from_env({"RAG_STEPS": "a;b"})


def test_the_policy_returns_a_typed_choice_and_rag_reads_no_threshold():
    choice = Choice((("doc", 0, 5),), grouped=True)
    assert (choice.spans, choice.grouped, choice.reason, choice.unsure) == ((("doc", 0, 5),), True, None, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.unsure = True  # type: ignore[misc]
    pipeline = (ROOT / "rag" / "pipeline.py").read_text(encoding="utf-8")
    assert "threshold" not in pipeline and ".answerability." not in pipeline


def test_quoting_and_the_fusion_retriever_share_one_scorer(index):
    rag = Rag(index, FakeEmbedder())
    assert rag.retriever("fusion").scorer is rag.scorer() is not None
    assert Rag(index, FakeEmbedder(), scorer=rag.scorer()).retriever("fusion").scorer is rag.scorer()
