from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.ingest.corpus import load_corpus
from rag.ingest.layout import find_title
from tests.conftest import CORPUS, write_corpus

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)


def test_bundled_corpus_is_byte_identical_to_shared():
    shared = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    ours = sorted(p.name for p in CORPUS.glob("*.txt"))
    assert ours == sorted(p.name for p in shared.glob("*.txt"))
    for name in ours:
        assert (CORPUS / name).read_bytes() == (shared / name).read_bytes()


def test_titles_skip_credits_and_rubrics():
    docs = load_corpus(CORPUS).by_id()
    assert docs["putin-needs-an-off-ramp"].title == "Putin Needs an Off-Ramp"
    assert (
        docs["to-support-zelensky-the-us-needs-to-negotiate-with-putin"].title
        == "To Support Zelensky, the United States Needs to Negotiate With Putin"
    )


@pytest.mark.parametrize(
    "text, title",
    [
        ("Source: Getty\ncommentary\n\nA Headline About Things\n\nBody text here.", "A Headline About Things"),
        ("# Markdown Title\n\nbody", "Markdown Title"),
        ("Photo: Reuters\nthe whole thing is lower case prose.\n", "Fallback name"),
        ("", "Fallback name"),
    ],
)
def test_find_title(text, title):
    assert find_title(text, "Fallback name") == title


def test_text_is_kept_exactly_as_stored(tmp_path):
    raw = "Title Line Here\r\n\r\nCurly “quotes” — and naïve café\r\n".encode("utf-8")
    folder = write_corpus(tmp_path / "c", {"a.txt": raw})
    (doc,) = load_corpus(folder).documents
    assert doc.text.encode("utf-8") == raw  # CRLF and non-ASCII untouched
    assert doc.doc_id == "a"


def test_bad_files_are_reported_by_name(tmp_path):
    folder = write_corpus(
        tmp_path / "c",
        {
            "good.md": "# Good One\n\nSome text.",
            "empty.txt": "",
            "blank.txt": "  \n\n ",
            "latin1.txt": "caf\xe9 au lait".encode("latin-1"),
            "binary.txt": b"\x00\x01\x02PNG",
            "ignored.rtf": b"{\\rtf1 not a type rag reads}",
        },
    )
    corpus = load_corpus(folder)
    assert [d.doc_id for d in corpus.documents] == ["good"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "latin1.txt", "binary.txt"}
    assert "UTF-8" in reasons["latin1.txt"] and "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]


def test_corpus_without_usable_documents_is_an_error(tmp_path):
    folder = write_corpus(tmp_path / "c", {"empty.txt": "", "bad.txt": b"\xff\xfe\x00"})
    with pytest.raises(CorpusError, match="no usable document.*empty.txt"):
        load_corpus(folder)
    (tmp_path / "none").mkdir()
    with pytest.raises(CorpusError, match="no usable document"):
        load_corpus(tmp_path / "none")
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "missing")


def test_paragraphs_and_pages_locate_an_offset():
    from rag.ingest.layout import location, paragraph_starts
    from rag.types import Document

    text = "Title\n\nFirst paragraph.\n\n\nSecond one,\nstill second.\n\nThird."
    assert paragraph_starts(text) == [0, text.index("First"), text.index("Second"), text.index("Third")]
    doc = Document("d", "Title", text, "d.txt", "0" * 64)
    assert location(doc, text.index("still")).paragraph == 3
    assert location(doc, 0).paragraph == 1 and location(doc, 0).page is None
    # Without blank lines every line is a paragraph; pages count from 1.
    lines = Document("d", "t", "one\ntwo\nthree", "d.txt", "0" * 64, pages=(0, 8))
    assert location(lines, lines.text.index("three")).label() == "p. 2, ¶ 3"
