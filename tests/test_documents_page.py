"""Adding documents from the chat page, in real headless Chromium and through gradio_client:
upload, ask, follow the citation to the highlighted span on its page; progress; remove;
read-only; refused uploads change nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import write_corpus
from tests.documents import essay_pdf, paged_pdf
from tests.test_loaders import PAGE_ONE, PAGE_TWO

pytestmark = pytest.mark.slow

BASE = {
    "kettle.txt": "Kettle Care\n\nDescale the kettle once a month with white vinegar, then rinse it twice.\n",
    "lease.txt": "Residential Lease\n\nRent is due on the first day of each month; a late fee applies after five "
    "days.\n",
}
PEARS = "How can you tell that a pear is ripe enough to pick off the tree?"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def fingerprint(index_dir: Path) -> str:
    return json.loads((index_dir / "manifest.json").read_text())["fingerprint"]


def serve_adding(tmp_path: Path, embedder):
    """A page with adding on, over a small index of its own."""
    from rag.chat.serve import start
    from rag.pipeline import Rag, build

    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    corpus = write_corpus(tmp_path / "corpus", BASE)
    index_dir = tmp_path / "index" / "default"
    build(corpus, index_dir, embedder=embedder)
    demo, url = start(Rag.open(index_dir, embedder), "127.0.0.1", None, block=False, quiet=True, adding=True)
    return demo, url, index_dir


@pytest.fixture()
def served(tmp_path, embedder):
    demo, url, index_dir = serve_adding(tmp_path, embedder)
    yield url, index_dir, tmp_path
    demo.close()


@pytest.fixture()
def served_small(tmp_path):
    """As ``served``, with the small bundled model (MiniLM): 50 pages embed in a
    fifth of the default model's time, and the page's path is the same."""
    from rag.embed.auto import default_embedder

    demo, url, index_dir = serve_adding(tmp_path, default_embedder("minilm"))
    yield url, index_dir, tmp_path
    demo.close()


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.locator("#rag-manage .label-wrap").click()  # "Choose, add or remove documents" folds away
    page.locator("#rag-add").wait_for(timeout=10_000)
    return context, page


def reload(page) -> None:
    """Load the page again and unfold the documents panel, as open_page does (it loads folded)."""
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.locator("#rag-manage .label-wrap").click()
    page.locator("#rag-scope").wait_for(timeout=10_000)


def upload(page, *paths: Path) -> None:
    page.locator("#rag-add input[type=file]").set_input_files([str(p) for p in paths])


def status_text(page, contains: str, timeout: int = 120_000) -> str:
    page.wait_for_function(
        "(s) => (document.querySelector('#rag-doc-status')?.innerText || '').includes(s)", arg=contains, timeout=timeout
    )
    return page.locator("#rag-doc-status").inner_text()


def test_upload_ask_click_the_citation_see_the_span_on_its_page(browser, served):
    url, _index_dir, tmp_path = served
    pdf = paged_pdf(tmp_path / "orchard notes.pdf", [PAGE_ONE, PAGE_TWO])
    context, page = open_page(browser, url)
    upload(page, pdf)
    assert "Added orchard-notes." in status_text(page, "Added")
    assert "Field Notes" in page.locator("#rag-doclist").inner_text()
    assert (
        "orchard-notes" in page.locator("#rag-scope").inner_text()
        or "Field Notes" in page.locator("#rag-scope").inner_text()
    )
    page.fill("#rag-question textarea", PEARS)
    page.click("#rag-ask")
    citation = page.locator('#rag-chat .rag-cite[data-cite="1-q-1"]')
    citation.wait_for(timeout=60_000)
    citation.click()
    page.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-1"] .rag-doc', timeout=15_000)
    mark = page.locator("#rag-viewer .rag-current")
    assert (
        mark.text_content() == "Pears ripen off the tree: pick them when the neck yields to a gentle press, "
        "then keep them cool."
    )
    viewer = page.locator("#rag-viewer").inner_text()
    assert "Field Notes" in viewer and re.search(r"p\. 2, ¶ 4", viewer), viewer[:400]
    context.close()
    assert {urlparse(u).hostname for u in page.requests} <= LOCAL_HOSTS


def test_fifty_page_pdf_shows_progress_cites_pages_and_remove_restores(browser, served_small):
    url, index_dir, tmp_path = served_small
    before = fingerprint(index_dir)
    essay = (Path(__file__).resolve().parents[1] / "corpus" / "putin-needs-an-off-ramp.txt").read_text()
    pdf = essay_pdf(essay, tmp_path / "long report.pdf", title="A Long Report", pages_at_least=50)
    context, page = open_page(browser, url)
    # Records every progress text Gradio shows while the file is read and embedded.
    page.evaluate("""() => { window.__ragProgress = [];
      new MutationObserver(() => document
        .querySelectorAll('.progress-text, .progress-level-inner, .meta-text, .eta-bar')
        .forEach(e => { const t = e.innerText || e.className; if (t) window.__ragProgress.push(t); }))
        .observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    upload(page, pdf)
    assert "Added long-report." in status_text(page, "Added", timeout=600_000)
    seen = page.evaluate("window.__ragProgress")
    assert any(re.search(r"Reading|Embedding|Splitting|\d+/\d+|%", t) for t in seen), seen[:20]
    assert "50 pages" in page.locator("#rag-doclist").inner_text()
    page.fill("#rag-question textarea", "Who is Michael Kofman?")
    page.click("#rag-ask")
    citation = page.locator('#rag-chat .rag-cite[data-cite="1-q-1"]')
    citation.wait_for(timeout=120_000)
    citation.click()
    page.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-1"] .rag-doc', timeout=15_000)
    assert "Kofman" in page.locator("#rag-viewer .rag-current").text_content()
    assert re.search(r"p\. \d+, ¶ \d+", page.locator("#rag-viewer").inner_text())
    # Remove it from the page: the index is as it was before.
    page.locator("#rag-remove-pick input").click()
    page.get_by_role("option", name=re.compile("A Long Report")).click()
    page.click("#rag-remove")
    assert "Removed long-report." in status_text(page, "Removed", timeout=300_000)
    assert fingerprint(index_dir) == before
    context.close()


def test_the_browser_refuses_empty_oversized_and_foreign_files_with_their_reason(browser, served):
    url, index_dir, tmp_path = served
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (25 * 1024 * 1024))  # the 25 MB file: a passing toast, then "Error"
    foreign = tmp_path / "photo.png"
    foreign.write_bytes(b"\x89PNG\r\n")
    good = tmp_path / "orchard.txt"
    good.write_text("Orchard Notes\n\nPears ripen off the tree: pick them when the neck yields.\n")
    context, page = open_page(browser, url)
    refused = page.locator("#rag-add-limits .rag-refused-here")
    upload(page, empty, big, foreign, good)
    said = refused.inner_text()
    assert "Not added: empty.pdf is empty (0 bytes)." in said
    assert "Not added: big.txt is 25.0 MB; the limit is 20.0 MB a file." in said
    assert "Not added: photo.png: not a type rag reads" in said
    # The good one goes on alone; the server never sees the others.
    status = status_text(page, "Added")
    assert "Added orchard." in status and "Not added" not in status
    assert "Error" not in page.locator("#rag-add").inner_text()
    before = fingerprint(index_dir)
    upload(page, empty)  # nothing good: nothing is sent
    page.wait_for_function(
        "() => document.querySelector('#rag-add-limits .rag-refused-here').innerText"
        ".includes('empty.pdf is empty') && !document.querySelector('#rag-add-limits')"
        ".innerText.includes('big.txt')",
        timeout=10_000,
    )
    assert fingerprint(index_dir) == before and page.locator("#rag-doc-status").inner_text() == status
    context.close()


def test_an_empty_file_sent_anyway_is_called_empty_not_damaged(served):
    from gradio_client import Client, handle_file

    url, _index_dir, tmp_path = served
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    try:
        _, _, status, _, _ = Client(url, verbose=False).predict(
            [handle_file(str(empty))], [], api_name="/add_documents"
        )
    except Exception as refused:  # the guard may refuse an empty upload before the page sees it
        assert "413" in str(refused) or "400" in str(refused), refused
        return
    assert "Not added: empty.pdf is empty (0 bytes)." in status and "damaged" not in status


def test_refused_uploads_change_nothing_and_say_why(served):
    from gradio_client import Client, handle_file

    url, index_dir, tmp_path = served
    before = fingerprint(index_dir)
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really a pdf")
    sneaky = tmp_path / "..%2F..%2Fetc%2Fpasswd.pdf"
    sneaky.write_bytes(b"%PDF-1.4\nnot really a pdf")
    client = Client(url, verbose=False)
    _table, _scope, status, _, _ = client.predict(
        [handle_file(str(bad)), handle_file(str(sneaky))], [], api_name="/add_documents"
    )
    assert "Not added: broken.pdf cannot be read as PDF: it is damaged or not a PDF." in status
    assert status.count("Not added:") == 2 and "Added" not in status
    assert fingerprint(index_dir) == before
    # Over the size limit: refused by the upload route itself, before anything is stored.
    import urllib.request

    body = (
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        + b"a" * (20 * 1024 * 1024 + 1)
        + b"\r\n--x--\r\n"
    )
    request = urllib.request.Request(
        url.rstrip("/") + "/gradio_api/upload",
        data=body,
        method="POST",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    many = [handle_file(str(bad))] * 21
    _, _, status, _, _ = client.predict(many, [], api_name="/add_documents")
    assert "21 files at once; the limit is 20. Nothing was added." in status
    assert fingerprint(index_dir) == before
    assert not list((tmp_path / "index").glob("*passwd*")) and not Path("/etc/passwd.pdf").exists()


def test_search_in_a_chosen_subset(served, tmp_path):
    from gradio_client import Client, handle_file

    url, _index_dir, _ = served
    pdf = paged_pdf(tmp_path / "orchard.pdf", [PAGE_ONE, PAGE_TWO])
    client = Client(url, verbose=False)
    client.predict([handle_file(str(pdf))], [], api_name="/add_documents")
    client.predict(["orchard"], api_name="/search_in")  # this session searches the orchard notes only
    answer = client.predict(PEARS, "fusion", 5, api_name="/chat")
    record = [v for v in answer if isinstance(v, dict) and "citations" in v][0]
    assert record["citations"] and {c["doc_id"] for c in record["citations"]} == {"orchard"}
    answer = client.predict("When is rent due?", "fusion", 5, api_name="/chat")
    record = [v for v in answer if isinstance(v, dict) and "citations" in v][0]
    assert all(c["doc_id"] == "orchard" for c in record["citations"])  # the lease was not searched
    # Another session, which chose nothing, searches every document.
    other = Client(url, verbose=False).predict("When is rent due?", "fusion", 5, api_name="/chat")
    record = [v for v in other if isinstance(v, dict) and "citations" in v][0]
    assert "lease" in {c["doc_id"] for c in record["citations"]}


def test_read_only_page_has_no_adding_and_refuses_uploads(tmp_path, embedder):
    import urllib.request

    from rag.chat.serve import adding_allowed, start
    from rag.pipeline import Rag, build

    assert adding_allowed("127.0.0.1") and adding_allowed("::1") and not adding_allowed("0.0.0.0")
    assert not adding_allowed("127.0.0.1", read_only=True) and adding_allowed("0.0.0.0", read_only=False)
    corpus = write_corpus(tmp_path / "corpus", BASE)
    build(corpus, tmp_path / "index", embedder=embedder)
    demo, url = start(Rag.open(tmp_path / "index", embedder), "127.0.0.1", None, block=False, quiet=True, adding=False)
    try:
        from gradio_client import Client

        names = Client(url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert "/add_documents" not in names and "/remove_documents" not in names
        body = b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n'
        request = urllib.request.Request(
            url.rstrip("/") + "/gradio_api/upload",
            data=body,
            method="POST",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code in (400, 413)
    finally:
        demo.close()


def test_one_document_list_for_the_whole_server(browser, served, tmp_path):
    """Issue 24, point 5: a document one visitor adds is listed on every page load
    (a new visitor's and a reload), and another session searches in it and removes it."""
    from gradio_client import Client, handle_file

    url, _index_dir, _ = served
    context, before = open_page(browser, url)  # opened before the document is added
    pdf = paged_pdf(tmp_path / "orchard.pdf", [PAGE_ONE, PAGE_TWO])
    _, _, status, _, _ = Client(url, verbose=False).predict([handle_file(str(pdf))], [], api_name="/add_documents")
    assert "Added orchard." in status

    def listed(page) -> bool:
        page.wait_for_function(
            "() => (document.querySelector('#rag-doclist')?.innerText || '').includes('3 documents')", timeout=30_000
        )
        return (
            "Field Notes" in page.locator("#rag-doclist").inner_text()
            and "Field Notes" in page.locator("#rag-scope").inner_text()
        )

    other_context, fresh = open_page(browser, url)
    assert listed(fresh)
    reload(before)
    assert listed(before)
    # Another session, by the API: "Search in" and "Remove" take the added document.
    other = Client(url, verbose=False)
    other.predict(["orchard"], api_name="/search_in")
    answer = other.predict(PEARS, "fusion", 5, api_name="/chat")
    record = [v for v in answer if isinstance(v, dict) and "citations" in v][0]
    assert {c["doc_id"] for c in record["citations"]} == {"orchard"}
    _, _, status, _ = other.predict(["orchard"], [], api_name="/remove_documents")
    assert "Removed orchard." in status
    reload(fresh)
    fresh.wait_for_function(
        "() => (document.querySelector('#rag-doclist')?.innerText || '').includes('2 documents')", timeout=30_000
    )
    assert "Field Notes" not in fresh.locator("#rag-scope").inner_text()
    context.close()
    other_context.close()
