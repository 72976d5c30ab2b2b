import shutil

import pytest

import rag.ingest.sentences
from rag.ingest.corpus import load_corpus
from rag.ingest.sentences import split_many, split_sentences
from tests.conftest import CORPUS


@pytest.mark.unit
def test_sentence_spans_are_exact_and_trimmed():
    text = (
        "Headline Without Stop\n\nU.S. President Joe Biden spoke. He said “it will end.” Then left!  "
        "Naïve café—yes?\nLast line"
    )
    spans = split_sentences(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces == [
        "Headline Without Stop",
        "U.S. President Joe Biden spoke.",
        "He said “it will end.”",
        "Then left!",
        "Naïve café—yes?",
        "Last line",
    ]
    for (a, b), (c, _) in zip(spans, spans[1:]):
        assert b <= c and "\n" not in text[a:b]


@pytest.mark.unit
def test_essays_split_into_plausible_sentences():
    for doc in load_corpus(CORPUS).documents:
        spans = split_sentences(doc.text)
        assert len(spans) > 40
        for a, b in spans:
            piece = doc.text[a:b]
            assert piece == piece.strip() and piece
            assert not (a > 0 and doc.text[a - 1].isalnum())  # never starts mid-word


def _big_texts() -> list[str]:
    """Enough varied text for split_many to use its helper process."""
    texts = [doc.text for doc in load_corpus(CORPUS).documents]
    out, size = [], 0
    while size < rag.ingest.sentences.PARALLEL_MIN_CHARS * 1.5:
        for i, t in enumerate(texts):
            variant = f"Copy {len(out)}: U.S. officials met on Jan. 5. " + t[i * 100 :]
            out.append(variant)
            size += len(variant)
    return out


def test_split_many_in_a_helper_process_equals_splitting_here(monkeypatch):
    texts = _big_texts()
    monkeypatch.setattr(rag.ingest.sentences, "ROUND_CHARS", 100_000)  # several rounds
    # On one core (taskset -c 0) split_many would rightly not start a helper.
    monkeypatch.setattr(rag.ingest.sentences, "_cores", lambda: 2)
    started = []
    real = rag.ingest.sentences._Helper.__init__

    def spy(self):
        real(self)
        started.append(self.proc)

    monkeypatch.setattr(rag.ingest.sentences._Helper, "__init__", spy)
    assert list(split_many(texts)) == [split_sentences(t) for t in texts]
    assert len(started) == 1 and started[0] is not None and started[0].returncode is not None  # ran, then exited


def test_split_many_without_a_working_helper_still_splits_everything(monkeypatch):
    texts = _big_texts()
    expected = [split_sentences(t) for t in texts]
    monkeypatch.setattr(rag.ingest.sentences.sys, "executable", "/nonexistent/python")
    assert list(split_many(texts)) == expected
    # a helper that starts but answers nonsense
    monkeypatch.setattr(rag.ingest.sentences.sys, "executable", shutil.which("cat"))
    assert list(split_many(texts)) == expected
