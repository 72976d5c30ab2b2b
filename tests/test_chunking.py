import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import ChunkSettings, chunk_document, chunk_documents
from rag.ingest.corpus import load_corpus
from rag.types import Document
from tests.conftest import CORPUS

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)


def doc(text: str) -> Document:
    return Document("d", "T", text, "d.txt", "")


def assert_exact_and_covering(d: Document, chunks):
    last_start = -1
    covered = [False] * len(d.text)
    for c in chunks:
        assert d.text[c.start : c.end] == c.text
        assert c.start > last_start
        last_start = c.start
        for i in range(c.start, c.end):
            covered[i] = True
    missing = [i for i, ch in enumerate(d.text) if not covered[i] and not ch.isspace()]
    assert not missing, f"characters not in any chunk: {missing[:5]}"


def test_bundled_essays_slice_exactly():
    docs = load_corpus(CORPUS).documents
    for size, overlap in [(200, 0), (400, 80), (800, 100), (1500, 300)]:
        chunks = chunk_documents(docs, ChunkSettings(size, overlap))
        assert [c.chunk_id for c in chunks] == list(range(len(chunks)))
        for d in docs:
            assert_exact_and_covering(d, [c for c in chunks if c.doc_id == d.doc_id])
        assert max(len(c.text) for c in chunks) <= size


def test_a_chunk_of_repeated_text_is_located_past_the_previous_one():
    """The splitter gives "A. A." then "A." (the third); the second "A." lies inside
    the first chunk, so it cannot be the next chunk (Hypothesis's example)."""
    d = doc(" ".join(["Alpha beta gamma."] * 3))
    chunks = chunk_document(d, ChunkSettings(50, 17))
    assert [(c.start, c.end) for c in chunks] == [(0, 35), (36, 53)]
    assert_exact_and_covering(d, chunks)


def test_repeated_sentences_map_to_their_own_place():
    sentence = "The same sentence “with curly quotes” — and an em-dash appears again. "
    text = "Intro para.\n\n" + sentence * 12 + "\n\nNaïve café Zürich 東京 ends here."
    d = doc(text)
    chunks = chunk_document(d, ChunkSettings(150, 40))
    assert_exact_and_covering(d, chunks)
    starts = [c.start for c in chunks]
    assert len(set(starts)) == len(starts)


def test_chunks_do_not_start_mid_sentence_when_sentences_fit():
    d = load_corpus(CORPUS).by_id()["putin-needs-an-off-ramp"]
    for c in chunk_document(d, ChunkSettings(400, 0)):
        before = d.text[: c.start].rstrip()
        assert not before or before[-1] in '.!?”’"\n:)' or d.text[c.start - 1] == "\n", c.text[:40]


@pytest.mark.parametrize("size, overlap", [(10, 0), (100, 100), (100, -1)])
def test_bad_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        ChunkSettings(size, overlap)


SENTENCES = ["Alpha beta gamma.", "Curly “quote” here.", "Dash—there!", "Ünïcödé façade?", "x", "Same again."]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=80),
    st.sampled_from([" ", "\n", "\n\n", "  "]),
    st.integers(50, 200),
    st.integers(0, 49),
)
def test_offsets_hold_for_any_repetitive_text(parts, sep, size, overlap):
    d = doc(sep.join(parts))
    assert_exact_and_covering(d, chunk_document(d, ChunkSettings(size, overlap)))
