"""A document's thesis is a statement: never a line that ends without a stop
(a figure's axis labels read out of a PDF, a command, a title read as prose)."""

from __future__ import annotations

from tests.conftest import write_corpus

PAPER = """# Ordered observations in R

The zoo package provides a class and methods for indexed totally ordered observations, such as irregular time series.

Jan 01 Jan 15 Feb 01 Feb 15 Mar 01 Mar 15

Its key design goal is independence of a particular index class, so that any ordered index can be used.

R> plot(z, screens = 1, col = 1:3)

The methods follow the conventions of the base time series class wherever that is possible.
"""


def test_a_thesis_is_a_statement_not_a_line_without_a_stop(tmp_path, embedder):
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag
    from rag.retrieval.thesis import thesis_body

    index, _ = build_index(load_corpus(write_corpus(tmp_path / "c", {"zoo.md": PAPER})), tmp_path / "i", embedder)
    layer, doc = index.sentences, index.documents["zoo"]
    body = [doc.text[layer.sentences[i].start : layer.sentences[i].end] for i in thesis_body(layer, doc, set())]
    assert any(t.startswith("The zoo package provides") for t in body)
    assert not any(t.startswith("Jan 01") for t in body)
    answer = Rag(index, embedder).ask("What is the main point of this paper?")
    assert not answer.abstained and all(q.text.rstrip().endswith(".") for q in answer.quotes)
