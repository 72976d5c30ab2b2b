"""rag add / remove / list: on the index's own copy, with the real model and real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.index.library import Incoming, add_files, document_id, read_library, remove_documents
from rag.index.load import load_index
from rag.ingest.loaders.limits import Limits
from tests.conftest import ROOT, write_corpus
from tests.documents import essay_html, paged_pdf
from tests.test_loaders import ARTICLE, PAGE_ONE, PAGE_TWO, _flate_bomb

pytestmark = pytest.mark.slow

BASE = {
    "kettle.txt": "Kettle Care\n\nDescale the kettle once a month with white vinegar, then rinse it twice.\n",
    "lease.txt": "Residential Lease\n\nRent is due on the first day of each month; a late fee applies after five "
    "days.\n",
}


def snapshot(index_dir: Path) -> dict:
    """Everything that identifies an index: the manifest but its build time, and every file's bytes."""
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest.pop("built_at")
    files = {
        p.relative_to(index_dir).as_posix(): p.read_bytes()
        for p in sorted(index_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    return {"manifest": manifest, "files": files}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("files")
    html = base / "Orchard Care.html"
    html.write_text(essay_html(ARTICLE), encoding="utf-8")
    return {"pdf": paged_pdf(base / "orchard notes.pdf", [PAGE_ONE, PAGE_TWO]), "html": html}


@pytest.fixture()
def index_dir(tmp_path, embedder):
    from rag.pipeline import build

    corpus = write_corpus(tmp_path / "corpus", BASE)
    build(corpus, tmp_path / "index" / "default", embedder=embedder)
    return tmp_path / "index" / "default"


def test_add_then_remove_restores_the_index_exactly(index_dir, embedder, made):
    before = snapshot(index_dir)
    fingerprint = load_index(index_dir).fingerprint
    report = add_files(
        index_dir, [Incoming(made["pdf"].name, made["pdf"]), Incoming(made["html"].name, made["html"])], embedder
    )
    assert report.added == ("orchard-notes", "orchard-care") and not report.refused
    assert report.build.embedded > 0 and report.build.reused >= 2  # the base documents kept their vectors
    index = load_index(index_dir)
    assert set(index.documents) == {"kettle", "lease", "orchard-notes", "orchard-care"}
    assert index.fingerprint != fingerprint
    pdf = index.documents["orchard-notes"]
    assert pdf.pages == (0, pdf.text.index("carries on at the top of page two")) and pdf.path == "orchard notes.pdf"
    removed = remove_documents(index_dir, ["orchard-notes", "orchard-care"], embedder)
    assert removed.build.embedded == 0
    assert load_index(index_dir).fingerprint == fingerprint
    assert snapshot(index_dir) == before  # every file byte for byte, the whole manifest but its build time


def test_same_file_again_changes_nothing_and_a_changed_one_is_updated(index_dir, embedder, made, tmp_path):
    first = add_files(index_dir, [Incoming("notes.pdf", made["pdf"])], embedder)
    state = snapshot(index_dir)
    again = add_files(index_dir, [Incoming("notes.pdf", made["pdf"])], embedder)
    assert again.unchanged == ("notes",) and again.build is None and snapshot(index_dir) == state
    edited = paged_pdf(tmp_path / "notes.pdf", [PAGE_ONE, [*PAGE_TWO, "Plums want a sheltered wall facing south."]])
    update = add_files(index_dir, [Incoming("notes.pdf", edited)], embedder)
    assert update.updated == ("notes",) and first.added == ("notes",)
    assert "Plums want a sheltered wall" in load_index(index_dir).documents["notes"].text


def test_refused_files_leave_the_index_unchanged(index_dir, embedder, tmp_path, made):
    before = snapshot(index_dir)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really")
    big = tmp_path / "big.html"
    big.write_text(essay_html(ARTICLE), encoding="utf-8")
    other = tmp_path / "slides.pptx"
    other.write_bytes(b"PK\x03\x04")
    report = add_files(
        index_dir,
        [Incoming("bad.pdf", bad), Incoming("big.html", big), Incoming("slides.pptx", other)],
        embedder,
        Limits(file_bytes=1000),
    )
    assert big.stat().st_size > 1000 and bad.stat().st_size < 1000
    assert {r.path: r.reason for r in report.refused} == {
        "bad.pdf": "cannot be read as PDF: it is damaged or not a PDF",
        "big.html": f"is {big.stat().st_size:,} bytes; the limit is 1,000 bytes a file",
        "slides.pptx": "is not a type rag reads (.txt, .md, .markdown, .html, .htm, .pdf, .docx)",
    }
    assert report.build is None and snapshot(index_dir) == before
    bomb = _flate_bomb(tmp_path / "bomb.pdf", 400)  # 400 MB of text once inflated
    report = add_files(index_dir, [Incoming("../../bomb.pdf", bomb)], embedder, Limits(memory_mb=256))
    (refused,) = report.refused
    assert refused.path == "bomb.pdf" and "could not be read within the limits (256 MB of memory" in refused.reason
    assert report.build is None and snapshot(index_dir) == before


def test_file_names_never_decide_a_path(index_dir, embedder, made, tmp_path):
    assert document_id("../../etc/passwd.pdf") == "passwd"
    assert document_id("..\\..\\Windows\\win.ini.html") == "win.ini"
    assert document_id("/abs/Report (Final) ü.pdf") == "report-final-u"
    assert document_id("....pdf") == "document" and document_id("") == "document"

    def outside_the_index() -> set[str]:  # the index's generations and lock files aside
        return {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if ".default." not in p.as_posix()}

    before = outside_the_index()
    report = add_files(index_dir, [Incoming("../../../../tmp/evil/../../x.pdf", made["pdf"])], embedder)
    assert report.added == ("x",)
    assert outside_the_index() == before and not Path("/tmp/evil").exists()
    assert load_index(index_dir).documents["x"].path == "x.pdf"


def test_name_of_a_corpus_document_gets_its_kind(index_dir, embedder, made):
    report = add_files(index_dir, [Incoming("kettle.pdf", made["pdf"])], embedder)
    assert report.added == ("kettle-pdf",)  # the folder's "kettle" is untouched
    assert "Descale" in load_index(index_dir).documents["kettle"].text


def test_rag_index_and_opening_keep_added_documents(index_dir, embedder, made, tmp_path):
    from rag.pipeline import Rag, build

    add_files(index_dir, [Incoming("orchard.html", made["html"])], embedder)
    fingerprint = load_index(index_dir).fingerprint
    _, report, _ = build(tmp_path / "corpus", index_dir, embedder=embedder)  # `rag index` again
    assert report.up_to_date and load_index(index_dir).fingerprint == fingerprint
    rag = Rag.open(index_dir, embedder)  # checks the folder's documents, not the added one
    answer = rag.ask("How much wood should be taken out of an old tree in one winter?")
    assert answer.quotes and answer.quotes[0].doc_id == "orchard"
    doc = rag.index.documents["orchard"]
    assert all(doc.text[q.start : q.end] == q.text for q in answer.quotes)
    # A folder document removed stays out, and the index still opens against the folder.
    remove_documents(index_dir, ["lease"], embedder)
    Rag.open(index_dir, embedder)
    _, report, _corpus = build(tmp_path / "corpus", index_dir, embedder=embedder)
    assert report.up_to_date and "lease" not in load_index(index_dir).documents


def test_remove_refuses_unknown_ids_and_emptying_the_index(index_dir, embedder):
    before = snapshot(index_dir)
    with pytest.raises(RagError, match="no document 'nope'.*nothing was removed"):
        remove_documents(index_dir, ["nope"], embedder)
    with pytest.raises(RagError, match="at least one document"):
        remove_documents(index_dir, ["kettle", "lease"], embedder)
    assert snapshot(index_dir) == before


def test_pdf_answer_cites_page_and_paragraph(index_dir, embedder, made):
    from rag.ingest.layout import location
    from rag.pipeline import Rag

    add_files(index_dir, [Incoming("orchard.pdf", made["pdf"])], embedder)
    rag = Rag.open(index_dir, embedder)
    answer = rag.ask("How can you tell that a pear is ripe enough to pick off the tree?")
    quote = answer.quotes[0]
    doc = rag.index.documents[quote.doc_id]
    assert quote.doc_id == "orchard" and doc.text[quote.start : quote.end] == quote.text
    assert "neck yields" in quote.text and location(doc, quote.start).label() == "p. 2, ¶ 4"


# ---------------------------------------------------------------- the CLI


def rag(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "RAG_THREADS": "1", **(env or {})},
        timeout=600,
    )


def test_cli_add_list_remove(index_dir, made, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(made["pdf"], folder / "orchard.pdf")
    shutil.copy(made["html"], folder / "article.html")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / ".hidden.pdf").write_bytes(b"%PDF-1.4 hidden")
    (folder / "picture.png").write_bytes(b"\x89PNG")
    fingerprint = load_index(index_dir).fingerprint
    result = rag("add", str(folder), "--index", str(index_dir), "-q")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "rag: error: broken.pdf: cannot be read as PDF: it is damaged or not a PDF; not added"
    ]
    listed = json.loads(rag("list", "--index", str(index_dir), "--json").stdout)["documents"]
    rows = {r["doc_id"]: r for r in listed}
    assert set(rows) == {"kettle", "lease", "orchard", "article"}
    assert rows["orchard"]["kind"] == "PDF" and rows["orchard"]["pages"] == 2 and rows["orchard"]["paragraphs"] == 4
    assert rows["article"]["kind"] == "HTML" and rows["article"]["pages"] is None
    assert rows["kettle"]["added_at"] == "" and rows["orchard"]["added_at"].endswith("Z")
    asked = rag(
        "ask", "--json", "How can you tell that a pear is ripe enough to pick off the tree?", "--index", str(index_dir)
    )
    cited = json.loads(asked.stdout)["citations"][0]
    assert (cited["doc_id"], cited["page"], cited["paragraph"]) == ("orchard", "2", 4), (
        asked.stdout
    )  # page: the printed label
    assert (
        "(orchard, p. 2, ¶ 4, characters"
        in rag("ask", "How can you tell that a pear is ripe enough to pick?", "--index", str(index_dir)).stdout
    )
    text = rag("list", "--index", str(index_dir)).stdout
    assert "orchard  Field Notes  [PDF, 2 pages, 4 ¶, added 20" in text
    result = rag("remove", "orchard", "article", "--index", str(index_dir))
    assert result.returncode == 0, result.stderr
    assert "Removed orchard, article" in result.stdout and load_index(index_dir).fingerprint == fingerprint
    result = rag("remove", "ghost", "--index", str(index_dir))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "no document 'ghost'" in result.stderr


def test_cli_add_without_an_index_says_how_to_build_one(tmp_path, made):
    result = rag("add", str(made["pdf"]), "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and result.stderr.startswith("rag: error: no index at")
    assert "rag index" in result.stderr and result.stderr.count("\n") == 1
    result = rag("add", str(tmp_path / "missing.pdf"), "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and "is not a file or folder" in result.stderr


def test_bundled_corpus_is_never_written(index_dir, embedder, made):
    corpus = index_dir.parent.parent / "corpus"
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    add_files(index_dir, [Incoming("orchard.pdf", made["pdf"])], embedder)
    remove_documents(index_dir, ["orchard", "kettle"], embedder)
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert read_library(index_dir).removed == ("kettle",)
