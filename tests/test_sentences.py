from rag.corpus import load_corpus
from rag.sentences import split_sentences
from tests.conftest import CORPUS


def test_sentence_spans_are_exact_and_trimmed():
    text = ("Headline Without Stop\n\nU.S. President Joe Biden spoke. He said “it will end.” Then left!  "
            "Naïve café—yes?\nLast line")
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


def test_essays_split_into_plausible_sentences():
    for doc in load_corpus(CORPUS).documents:
        spans = split_sentences(doc.text)
        assert len(spans) > 40
        for a, b in spans:
            piece = doc.text[a:b]
            assert piece == piece.strip() and piece
            assert not (a > 0 and doc.text[a - 1].isalnum())  # never starts mid-word
