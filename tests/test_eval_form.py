"""The eval's form check (rag.evaluation.form): each quotation that ends or starts
mid-sentence, or is a heading, is named, and whole prose and whole code pass."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_corpus

GUIDE = """# Installing the tool

The tool installs from the package index with one command.
It needs no compiler and runs on every platform that has Python.
The cache lives in the user's home folder

```
pip install thetool
```

Run it once to create its settings file.

thetool is a command-line program. It reads one file at a time.

- Reads plain text and Markdown
- Writes nothing but its report

## thetool

thetool writes nothing to the network.

## "Settings"

means the file that the first run creates.
"""


@pytest.fixture(scope="module")
def guide(tmp_path_factory, embedder):
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag

    tmp = tmp_path_factory.mktemp("form")
    corpus = write_corpus(tmp / "c", {"guide.md": GUIDE})
    index, _ = build_index(load_corpus(corpus), tmp / "i", embedder)
    return Rag(index, embedder), corpus


def _check(rag):
    from rag.evaluation.form import FormCheck

    return FormCheck(rag.index.sentences, rag.index.documents)


def _span(rag, words: str) -> tuple[str, int, int]:
    ((doc_id, doc),) = rag.index.documents.items()
    start = doc.text.index(words)
    return doc_id, start, start + len(words)


def test_whole_sentences_and_code_pass(guide):
    rag, _ = guide
    check = _check(rag)
    assert check.faults(*_span(rag, "The tool installs from the package index with one command.")) == []
    assert check.faults(*_span(rag, "pip install thetool")) == []
    # A sentence may open with a lower-case name; after a stop it is whole.
    assert check.faults(*_span(rag, "thetool is a command-line program.")) == []
    assert check.faults(*_span(rag, "thetool writes nothing to the network.")) == []
    # A list item its author ended without a stop, before the next one, is not cut.
    assert check.faults(*_span(rag, "Reads plain text and Markdown")) == []


def test_each_fault_is_named(guide):
    rag, _ = guide
    check = _check(rag)
    assert check.faults(*_span(rag, "The cache lives in the user's home folder")) == ["ends_mid_sentence"]
    assert check.faults(*_span(rag, "Installing the tool")) == ["not_prose"]
    # A definition's body without the term its heading holds is half a sentence.
    assert check.faults(*_span(rag, "means the file that the first run creates.")) == ["starts_mid_sentence"]
    doc_id, start, end = _span(rag, "The tool installs from the package index with one command.")
    # A span that takes the sentence from its fifth letter starts mid-sentence.
    assert check.faults(doc_id, start + 5, end) == ["starts_mid_sentence"]


def test_rag_eval_reports_form(guide, tmp_path):
    from rag.evaluation.qa import load_qa
    from rag.evaluation.runner import FORM_METRICS, evaluate

    rag, _ = guide
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Does the tool need a compiler?",
                "answers": ["It needs no compiler and runs on every platform that has Python."],
            }
        )
        + "\n"
    )
    result = evaluate(rag, load_qa(qa, rag.index.documents), "qa", "fusion", 5)
    for name in FORM_METRICS:
        assert 0.0 <= result.metrics[name] <= 1.0
    (asked,) = result.questions
    # The answer is the whole sentence, so its first quotation has no fault.
    assert asked.quotes[0]["text"] == "It needs no compiler and runs on every platform that has Python."
    assert asked.form_faults[0] == ()
    faults = [f for q in result.questions for f in q.form_faults]
    assert len(faults) == sum(len(q.quotes) for q in result.questions) > 0
    whole = sum(not f for f in faults) / len(faults)
    assert result.metrics["whole_prose_rate"] == pytest.approx(whole, abs=1e-4)
