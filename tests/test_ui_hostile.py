"""Markup in a document or a question is shown as text: nothing runs, nothing loads, nothing leaves.

In real headless Chromium, at desktop and phone width, through every panel:
the conversation, the source cards, the document viewer, the list of
documents, the inspector, the clipboard, and a conversation restored from
browser storage."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import launch_chromium, start_page, write_corpus

pytestmark = [pytest.mark.slow, pytest.mark.browser]  # Chromium, started here rather than by the fixture

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=\"window.__pwned = 'img'\">"
MARKDOWN = "**bold** and [link](http://example.com) \\[1\\] `code`"
HOSTILE_DOC = (
    f"# Garden Notes {IMG} **Title**\n\n"
    f"Tomatoes need full sun and steady water. {SCRIPT} They also need {MARKDOWN} support.\n\n"
    f"    Four spaces in. # not a heading\n1. not a list <b>not bold</b> `not code` $$x$$\n"
    f"Peppers need warmth; basil needs pinching. {IMG}\n"
    f'“Quoted,” she said. <a href="http://example.com" data-cite="doc-plain">a link</a> '
    f"<button data-close>close</button> \" onmouseover=\"window.__pwned='attr'\n"
)
QUESTION = f"What do tomatoes need? {SCRIPT} {IMG} {MARKDOWN}"
PANELS = "#rag-chat, #rag-viewer, #rag-doclist, #rag-status, #rag-inspector"
MADE = (
    """() => [...document.querySelectorAll('%s')].flatMap(p =>
     [...p.querySelectorAll('script, img, iframe, strong, em, code, pre, ol, h1, a, .katex, [onerror], [onmouseover]')]
     .concat([...p.querySelectorAll('b')].filter(b => b.textContent === 'not bold'))
     .map(e => e.outerHTML.slice(0, 80)))"""
    % PANELS
)


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hostile_rag(tmp_path_factory, embedder):
    from rag.index.build import build_index
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag

    base = tmp_path_factory.mktemp("hostile")
    corpus = write_corpus(
        base / "corpus",
        {
            "hostile.txt": HOSTILE_DOC,  # .txt: kept exactly as written (a .md is read as Markdown, rag.ingest.loaders)
            "plain.txt": "Orchard Care Basics\n\nApple trees need pruning in late winter and mulch in spring.\n",
        },
    )
    index, _ = build_index(load_corpus(corpus), base / "index", embedder, ChunkSettings())
    return Rag(index, embedder)


@pytest.fixture(scope="module")
def page_url(hostile_rag):
    demo, url = start_page(hostile_rag)
    yield url
    demo.close()


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_hostile_question_and_document_are_shown_as_text(page_url, hostile_rag, tmp_path, viewport):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.route(
            "**/*",
            lambda route: route.continue_()
            if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"}
            else route.abort(),
        )
        page.goto(page_url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.fill("#rag-question textarea", QUESTION)
        page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
        page.click("#rag-ask")
        page.wait_for_function("() => document.querySelector('#rag-chat .rag-turn:not(.rag-pending)')", timeout=30_000)
        doc = hostile_rag.index.documents["hostile"]
        assert doc.title.startswith("Garden Notes <img")

        # The question, shown in the chat, reads exactly as typed.
        assert squash(page.locator("#rag-chat .rag-q").inner_text()) == "You asked " + squash(QUESTION)
        answer = hostile_rag.ask_in_conversation(QUESTION)
        shown = page.locator("#rag-chat .rag-qt").all_text_contents()
        assert shown == [q.text for q in answer.quotes]
        assert answer.quotes  # the markup itself is quoted: copied exactly, markup and all
        if answer.quotes:
            page.locator("#rag-chat .rag-copy").click()
            page.wait_for_function("() => document.querySelector('#rag-chat .rag-copy').innerText === 'Copied'")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert all(q.text in copied for q in answer.quotes)
            page.locator("#rag-chat .rag-cite").first.click()
            page.wait_for_selector("#rag-viewer .rag-current", timeout=10_000)
            if viewport["width"] < 700:
                page.locator("#rag-viewer .rag-back").click()
        # The document whole, from the list of documents: it reads exactly as stored.
        page.locator("#rag-doclist .rag-docbtn", has_text="Garden Notes").click()
        page.wait_for_selector('#rag-viewer .rag-panel[data-key="doc-hostile"] .rag-doc', timeout=10_000)
        assert page.locator("#rag-viewer .rag-doc").text_content() == doc.text
        assert squash(doc.title) in squash(page.locator("#rag-doclist").inner_text())
        # Its fake data-cite and data-close are text, not controls.
        assert page.locator('#rag-viewer [data-cite="doc-plain"]').count() == 0
        if viewport["width"] < 700:
            page.keyboard.press("Escape")
        page.get_by_text("How the answer was found").click()
        page.wait_for_selector("#rag-inspector table", timeout=10_000)
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)

        # Nothing ran and no element was made from the text.
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate(MADE) == []
        browser.close()

    hosts = {urlparse(u).hostname for u in requests}
    assert requests and hosts <= {"127.0.0.1", "localhost"}, sorted(hosts)


def test_a_restored_conversation_with_markup_runs_nothing(page_url, hostile_rag):
    """The conversation comes back from browser storage after a reload; what it shows is still text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(page_url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        for n, question in enumerate((QUESTION, f"And {IMG}?"), start=1):
            page.fill("#rag-question textarea", question)
            page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
            page.click("#rag-ask")
            page.wait_for_function(
                "(n) => document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)').length === n",
                arg=n,
                timeout=30_000,
            )
        before = page.locator("#rag-chat").inner_text()
        page.reload(wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelectorAll('#rag-chat .rag-turn').length === 2", timeout=30_000)
        assert page.locator("#rag-chat").inner_text() == before
        assert page.evaluate("window.__pwned") is None and page.evaluate(MADE) == []
        browser.close()
