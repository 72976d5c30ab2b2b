"""Metric code against hand-computed cases, and eval/BEIR file handling."""

from __future__ import annotations

import json
import math

import pytest

from rag.errors import EvalDataError
from rag.evaluation.beir import load_beir
from rag.evaluation.metrics import (
    BEIR_METRICS,
    RETRIEVAL_METRICS,
    covers,
    first_relevant_rank,
    hit_curve,
    ir_evaluate,
    label_ranking,
    quote_hits,
    span_qrels,
    span_run,
)
from rag.evaluation.qa import Span, load_qa
from rag.types import Document

DOCS = {
    "a": Document("a", "A", "Alpha one. Alpha two is here. Alpha three.", "a.txt", ""),
    "b": Document("b", "B", "Beta one. Repeated line. Repeated line.", "b.txt", ""),
}


@pytest.mark.unit
def test_covers_needs_half_of_the_gold_span():
    gold = Span("a", 10, 30)  # 20 characters
    assert covers(Span("a", 0, 20), gold)  # exactly 10 of 20
    assert not covers(Span("a", 0, 19), gold)  # 9 of 20
    assert covers(Span("a", 15, 100), gold)
    assert not covers(Span("b", 10, 30), gold)  # other document
    assert not covers(Span("a", 30, 40), gold)  # touching is not overlapping


@pytest.mark.unit
def test_label_ranking_counts_each_answer_once():
    gold = [(Span("a", 0, 10),), (Span("a", 50, 60),)]
    passages = [Span("b", 0, 5), Span("a", 0, 12), Span("a", 2, 9), Span("a", 45, 70)]
    labels = label_ranking(passages, gold)
    assert labels == [None, 0, None, 1]  # the repeat of answer 0 is not relevant again
    assert first_relevant_rank(labels) == 2
    assert first_relevant_rank([None, None]) is None


@pytest.mark.unit
def test_ir_metrics_match_hand_computation():
    pytest.importorskip("ir_measures", reason="the eval extra computes these")
    # q1: one answer found at rank 2. q2: two answers, one found at rank 1.
    # q3: one answer, never found, empty ranking (must count as zero, not vanish).
    labels = {"q1": [None, 0, None], "q2": [1, None], "q3": []}
    qrels = span_qrels({"q1": 1, "q2": 2, "q3": 1})
    aggregate, per_query = ir_evaluate(qrels, span_run(labels), RETRIEVAL_METRICS)
    assert per_query["q1"]["hit@1"] == 0 and per_query["q1"]["hit@5"] == 1
    assert per_query["q1"]["mrr@10"] == pytest.approx(0.5)
    assert per_query["q1"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert per_query["q2"]["ndcg@10"] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert per_query["q2"]["recall@5"] == pytest.approx(0.5)
    assert per_query["q3"] == dict.fromkeys(RETRIEVAL_METRICS, 0.0)
    assert aggregate["hit@1"] == pytest.approx(1 / 3)
    assert aggregate["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert aggregate["recall@5"] == pytest.approx((1 + 0.5 + 0) / 3)


@pytest.mark.unit
def test_beir_metric_names_and_depth():
    pytest.importorskip("ir_measures", reason="the eval extra computes these")
    qrels = {"q": {"d1": 1, "d2": 1}}
    ranking = [f"x{i}" for i in range(50)] + ["d1"] + [f"y{i}" for i in range(60)] + ["d2"]
    aggregate, _ = ir_evaluate(qrels, {"q": ranking}, BEIR_METRICS)
    assert aggregate["recall@100"] == pytest.approx(0.5)  # d1 at 51 counts, d2 at 112 does not
    assert aggregate["mrr@10"] == 0 and aggregate["ndcg@10"] == 0


@pytest.mark.unit
def test_hit_curve_and_quote_hits():
    assert hit_curve([1, 3, None, 10], depth=10)[:3] == [0.25, 0.25, 0.5]
    assert hit_curve([1, 3, None, 10], depth=10)[-1] == 0.75
    gold = [(Span("a", 0, 10),)]
    assert quote_hits([Span("a", 5, 20)], gold) and not quote_hits([Span("a", 6, 20)], gold)


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_load_qa_locates_answers(tmp_path):
    path = write(
        tmp_path / "qa.jsonl",
        [
            json.dumps({"id": "1", "question": "Which alpha?", "answers": ["Alpha two is here."]}),
            "",
            json.dumps({"id": "2", "question": "Out of scope?", "answers": []}),
            json.dumps({"id": "3", "question": "Repeated?", "answers": ["Repeated line."]}),
        ],
    )
    items = load_qa(path, DOCS)
    assert [i.qid for i in items] == ["1", "2", "3"]
    assert items[0].gold == ((Span("a", 11, 29),),)
    assert not items[1].answerable
    assert len(items[2].gold[0]) == 2  # both occurrences are gold places


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"id": "x", "question": "q"}', "line 2: missing answers"),
        ('{"id": "x", "question": "", "answers": []}', "line 2: question must be"),
        ('{"id": "x", "question": "q", "answers": "Alpha one."}', "line 2: answers must be a list"),
        ('{"id": "ok", "question": "q", "answers": []}', "line 2: duplicate id"),
        (
            '{"id": "y", "question": "q", "answers": ["Gamma <b>never</b> said"]}',
            "line 2 \\(y\\): answer .* is not found in the documents",
        ),
    ],
)
@pytest.mark.unit
def test_malformed_eval_lines_name_their_line(tmp_path, line, message):
    path = write(tmp_path / "qa.jsonl", [json.dumps({"id": "ok", "question": "q", "answers": []}), line])
    with pytest.raises(EvalDataError, match=message):
        load_qa(path, DOCS)


@pytest.mark.unit
def test_eval_file_problems(tmp_path):
    with pytest.raises(EvalDataError, match="cannot read"):
        load_qa(tmp_path / "missing.jsonl", DOCS)
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(EvalDataError, match="not UTF-8"):
        load_qa(tmp_path / "bin.jsonl", DOCS)
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(EvalDataError, match="no questions"):
        load_qa(tmp_path / "empty.jsonl", DOCS)


def make_beir(folder, with_qrels=True):
    (folder / "qrels").mkdir(parents=True)
    write(
        folder / "corpus.jsonl",
        [
            json.dumps({"_id": "d1", "title": "Cats", "text": "Cats purr when content."}),
            json.dumps({"_id": "d2", "title": "Dogs", "text": "Dogs bark at strangers."}),
            json.dumps({"_id": "d3", "title": "", "text": "Fish swim in schools."}),
        ],
    )
    write(
        folder / "queries.jsonl",
        [
            json.dumps({"_id": "q1", "text": "Why do cats purr?"}),
            json.dumps({"_id": "q2", "text": "Which animal barks?"}),
            json.dumps({"_id": "q3", "text": "unjudged"}),
        ],
    )
    if with_qrels:
        write(folder / "qrels" / "test.tsv", ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q2\td2\t1", "q2\tnope\t1"])
    return folder


@pytest.mark.unit
def test_beir_loader(tmp_path):
    data = load_beir(make_beir(tmp_path / "tiny"), "test")
    assert [d.doc_id for d in data.corpus.documents] == ["d1", "d2", "d3"]
    assert data.corpus.documents[0].text == "Cats\n\nCats purr when content."
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}  # unknown doc dropped, q3 unjudged


@pytest.mark.unit
def test_beir_missing_files(tmp_path):
    folder = make_beir(tmp_path / "tiny", with_qrels=False)
    with pytest.raises(EvalDataError, match="no qrels for this split"):
        load_beir(folder, "test")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(EvalDataError, match="missing queries.jsonl"):
        load_beir(folder, "train")
    with pytest.raises(EvalDataError, match="not found"):
        load_beir(tmp_path / "nowhere")


def test_beir_end_to_end_and_cache(tmp_path, embedder):
    from rag.evaluation.beir import evaluate_beir, open_beir
    from rag.ingest.chunking import ChunkSettings

    data = load_beir(make_beir(tmp_path / "tiny"), "test")
    rag = open_beir(data, tmp_path / "cache", embedder, ChunkSettings(200, 0), progress=False)
    result = evaluate_beir(rag, data, "dense", progress=False)
    assert result["metrics"]["ndcg@10"] == pytest.approx(1.0)  # each query's document ranks first
    folders = list((tmp_path / "cache").iterdir())
    again = open_beir(data, tmp_path / "cache", embedder, ChunkSettings(200, 0), progress=False)
    assert again.index.fingerprint == rag.index.fingerprint  # reused, not rebuilt
    assert list((tmp_path / "cache").iterdir()) == folders
