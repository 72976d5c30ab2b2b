"""The answer stage's term coverage reads sentences' stems: stemmed together, they are each sentence's own."""

from __future__ import annotations

from rag.answer.abstain import CorpusTerms
from rag.index.lexical import content_stems


def test_sentences_stemmed_together_have_the_stems_each_has_alone(essays_index):
    layer = essays_index.sentences
    terms = CorpusTerms(layer, essays_index.documents)
    ids = list(range(layer.n)) + [-1, layer.n, 3, 3]  # out of range ignored, repeats stemmed once
    terms.stem(ids)
    assert sorted(terms._stems) == list(range(layer.n))
    alone = CorpusTerms(layer, essays_index.documents)
    for i in range(layer.n):
        assert terms._stems[i] == frozenset(content_stems(terms.text(i))) == alone.sentence_stems(i)
    assert sum(bool(s) for s in terms._stems.values()) > layer.n // 2  # the comparison is of real stems
