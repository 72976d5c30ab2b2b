"""The essays saved as HTML pages (navigation, a cookie notice, a teaser with
its own photo credit and a footer around the article) and as PDFs (typeset,
running header, "Page N of M" footers), made here, answer the essays' own
questions as well as the .txt copies, and no quotation holds the page around
the article. benchmarks/formats.py prints the same figures, and a long PDF's."""

from __future__ import annotations

import pytest

from benchmarks.formats import furniture_in, make_corpora
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

QA = ROOT / "eval" / "essays_qa.jsonl"


def _scored(index_dir, embedder):
    from rag.evaluation.qa import load_qa
    from rag.evaluation.runner import evaluate, qa_label
    from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag

    rag = Rag.open(index_dir, embedder)
    items = load_qa(QA, rag.index.documents)  # refuses a gold answer not verbatim in the reading text
    return evaluate(rag, items, qa_label(QA), DEFAULT_RETRIEVER, DEFAULT_K)


def test_html_and_pdf_copies_answer_as_well_as_the_text(tmp_path, embedder, essays_index):
    from rag.pipeline import build

    folders = make_corpora(tmp_path)
    results = {"txt": _scored(essays_index.path, embedder)}
    for kind in ("html", "pdf"):
        build(folders[kind], tmp_path / "index" / kind, embedder=embedder)
        results[kind] = _scored(tmp_path / "index" / kind, embedder)
    txt = results["txt"].metrics
    for kind in ("html", "pdf"):
        metrics = results[kind].metrics
        assert metrics["hit@1"] >= txt["hit@1"] - 0.03, (kind, metrics["hit@1"], txt["hit@1"])
        assert metrics["quote_hit"] >= txt["quote_hit"] - 0.03, (kind, metrics["quote_hit"], txt["quote_hit"])
        assert metrics["verbatim_rate"] == 1.0
        assert furniture_in(results[kind]) == []
