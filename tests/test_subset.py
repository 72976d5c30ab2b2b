"""Searching a chosen subset of the documents: as an index of only those would answer."""

from __future__ import annotations

import pytest

from rag.errors import RagError
from rag.index.subset import subset_index

ZELENSKY = "to-support-zelensky-the-us-needs-to-negotiate-with-putin"
QUESTIONS = [
    "Who is Michael Kofman?",
    "What are the titles of the two essays?",
    "Why should the United States negotiate with Putin?",
    "Summarize the off-ramp essay.",
    "What is the best recipe for sourdough bread?",
]


def spans(answer):
    return [(q.doc_id, q.start, q.end) for q in answer.quotes], answer.abstained


def test_every_document_chosen_answers_as_the_whole_index(essays_rag):
    from rag.pipeline import Rag

    whole = Rag(subset_index(essays_rag.index, list(essays_rag.index.documents)), essays_rag.embedder)
    for question in QUESTIONS:
        assert spans(whole.ask(question)) == spans(essays_rag.ask(question)), question


def test_one_document_chosen_is_all_that_is_quoted_and_searched(essays_rag):
    from rag.pipeline import Rag

    index = subset_index(essays_rag.index, [ZELENSKY])
    assert list(index.documents) == [ZELENSKY] and index.vectors.ntotal == len(index.chunks) == index.bm25.size
    for i, chunk in enumerate(index.chunks):
        assert chunk.chunk_id == i and index.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    layer = index.sentences
    assert {s.doc_id for s in layer.sentences} == {ZELENSKY}
    assert len(layer.token_offsets) == len(layer.sentences) + 1 == len(layer.vectors) + 1
    assert int(layer.token_offsets[-1]) == len(layer.tokens) == len(layer.token_ids)
    rag = Rag(index, essays_rag.embedder)
    for question in QUESTIONS:
        answer = rag.ask(question)
        assert all(q.doc_id == ZELENSKY for q in answer.quotes), question
        assert all(h.chunk.doc_id == ZELENSKY for h in answer.passages), question
        assert all(index.documents[q.doc_id].text[q.start : q.end] == q.text for q in answer.quotes)


def test_unknown_or_no_document_is_refused(essays_rag):
    with pytest.raises(RagError, match="no document 'nope'"):
        subset_index(essays_rag.index, ["nope"])
    with pytest.raises(RagError, match="at least one document"):
        subset_index(essays_rag.index, [])
