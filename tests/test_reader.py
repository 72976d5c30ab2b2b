"""The reader (rag.answer.reader): shipped weights, checked, read with the real model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.answer.reader import Reader, prepare, read_scores, weights_file, windows_for

WEIGHTS = weights_file("all-mpnet-base-v2")


@pytest.fixture(scope="module")
def reader():
    return Reader.load(WEIGHTS)


def test_the_shipped_weights_are_small_checksummed_and_refused_when_changed(tmp_path):
    assert WEIGHTS.stat().st_size < 20 * 2**20
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(meta["sha256"]) == 64
    copy = tmp_path / WEIGHTS.name
    shutil.copy(WEIGHTS, copy)
    shutil.copy(WEIGHTS.with_suffix(".json"), copy.with_suffix(".json"))
    Reader.load(copy)  # an exact copy loads
    data = bytearray(copy.read_bytes())
    data[-5] ^= 0x01  # one bit of one weight
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        Reader.load(copy)


def _candidates(rag, question: str, exclude: frozenset[int] = frozenset()) -> tuple[object, object, list[int]]:
    scorer = rag.scorer()
    form = rag.form(question)
    scores = scorer.scores(question, form)
    header = set(scorer.header.tolist())
    chunk = np.full(len(rag.index.chunks), -np.inf)
    for s in rag.index.sentences.sentences:
        if s.sentence_id not in exclude and s.sentence_id not in header:
            chunk[s.chunk_id] = max(chunk[s.chunk_id], float(scores.score[s.sentence_id]))
    top = set(np.argsort(-chunk, kind="stable")[:5].tolist())
    cands = [
        s.sentence_id
        for s in rag.index.sentences.sentences
        if s.chunk_id in top and s.sentence_id not in exclude and s.sentence_id not in header
    ]
    return scorer, scores, cands


def _containing(rag, text: str) -> set[int]:
    found = set()
    for s in rag.index.sentences.sentences:
        if text in rag.index.documents[s.doc_id].text[s.start : s.end]:
            found.update({s.sentence_id - 1, s.sentence_id, s.sentence_id + 1})
    assert found, text
    return found


def test_a_passage_that_answers_reads_higher_than_the_same_question_with_the_answer_taken_out(essays_rag, reader):
    question = "Who is Michael Kofman?"
    scorer, scores, cands = _candidates(essays_rag, question)
    with_answer = read_scores(reader, scorer, scores, cands)
    gone = frozenset(_containing(essays_rag, "Michael Kofman"))
    scorer, scores, cands = _candidates(essays_rag, question, gone)
    without = read_scores(reader, scorer, scores, cands, gone)
    assert 0.0 <= without < with_answer <= 1.0
    assert with_answer > 0.5


def test_an_off_topic_question_reads_lower_than_an_answerable_one(essays_rag, reader):
    answered = read_scores(reader, *_candidates(essays_rag, "Who is Michael Kofman?"))
    off = read_scores(reader, *_candidates(essays_rag, "How do I bake sourdough bread at home?"))
    assert off < answered


def test_no_term_or_no_sentence_reads_as_no_answer(reader):
    basis = reader.basis
    q_ids = np.array([0, 2], np.int32)  # special pieces only: nothing is kept
    q_tok = np.zeros((2, basis.shape[0]), np.float16)
    d, k = basis.shape
    inp = prepare(
        q_ids,
        q_tok,
        np.zeros(2, bool),
        np.zeros((0, 3)),
        np.zeros(0, np.int32),
        np.zeros((0, d)),
        np.zeros((0, k)),
        [],
        np.zeros((0, 3)),
        basis,
    )
    assert reader.probability(inp) == 0.0


def test_windows_stay_in_a_document_and_skip_what_was_taken_out(essays_index):
    layer = essays_index.sentences
    last_of_first = max(s.sentence_id for s in layer.sentences if s.doc_id == layer.sentences[0].doc_id)
    ids, windows = windows_for(layer, [last_of_first], frozenset({last_of_first - 1}))
    assert [ids[j] for j in windows[0] if j >= 0] == [last_of_first]  # no predecessor (taken out), no successor


def test_the_shipped_reader_comes_with_its_cross_validated_thresholds_and_none_for_other_models():
    from rag.answer.reader import ReaderAnswerability

    model = ReaderAnswerability.for_model("all-mpnet-base-v2")
    assert model is not None and model.name == "reader"
    assert 0.0 < model.threshold <= model.sure < 1.0
    assert ReaderAnswerability.for_model("no-such-model") is None
