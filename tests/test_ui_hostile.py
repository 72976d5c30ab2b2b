"""Markup in an essay or a question is shown as text: nothing runs, nothing loads, nothing leaves."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import launch_chromium, start_page, write_corpus

pytestmark = pytest.mark.slow

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = '<img src=x onerror="window.__pwned = \'img\'">'
MARKDOWN = "**bold** and [link](http://example.com)"
HOSTILE_DOC = (
    f"# Garden Notes {IMG} **Title**\n\n"
    f"Tomatoes need full sun and steady water. {SCRIPT} They also need {MARKDOWN} support.\n\n"
    f"    Four spaces in. # not a heading\n1. not a list <b>not bold</b> `not code` $$x$$\n"
    f"Peppers need warmth; basil needs pinching. {IMG}\n"
)
QUESTION = f"What do tomatoes need? {SCRIPT} {IMG} {MARKDOWN}"
PANELS = "#rag-chat, #rag-sources, #rag-essay, #rag-essays, #rag-searched, #rag-inspector"


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hostile_rag(tmp_path_factory, embedder):
    from rag.pipeline import Rag
    from rag.ingest.chunking import ChunkSettings
    from rag.ingest.corpus import load_corpus
    from rag.index.build import build_index

    base = tmp_path_factory.mktemp("hostile")
    corpus = write_corpus(base / "corpus", {
        "hostile.txt": HOSTILE_DOC,  # .txt: kept exactly as written (a .md is read as Markdown, rag.ingest.loaders)
        "plain.txt": "Orchard Care Basics\n\nApple trees need pruning in late winter and mulch in spring.\n",
    })
    index, _ = build_index(load_corpus(corpus), base / "index", embedder, ChunkSettings())
    return Rag(index, embedder)


@pytest.fixture(scope="module")
def page_url(hostile_rag):
    demo, url = start_page(hostile_rag)
    yield url
    demo.close()


def test_hostile_question_and_essay_are_shown_as_text(page_url, hostile_rag, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.route("**/*", lambda route: route.continue_()
                   if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"} else route.abort())
        page.goto(page_url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.fill("#rag-question textarea", QUESTION)
        page.click("#rag-ask")
        page.wait_for_function(
            """() => { const b = document.querySelector('#rag-chat [data-testid="bot"]');
                      return b && (b.innerText.includes('Sources:') || b.innerText.includes('Not in the essays')); }""",
            timeout=30_000,
        )
        page.wait_for_selector("#rag-sources .rag-source", timeout=10_000)
        # Open the hostile essay whole, from the list of essays.
        page.locator("#rag-essays li", has_text="Garden Notes").click()
        page.wait_for_selector("#rag-essay .rag-essay", timeout=10_000)
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)

        # Nothing ran and no element was made from the text.
        assert page.evaluate("window.__pwned") is None
        made = page.evaluate(
            f"""() => [...document.querySelectorAll('{PANELS}')].flatMap(p =>
                 [...p.querySelectorAll('script, img, iframe, strong, em, code, pre, ol, h1, a[href^="http"], .katex')]
                 .concat([...p.querySelectorAll('b')].filter(b => b.textContent === 'not bold'))
                 .map(e => e.outerHTML.slice(0, 80)))"""
        )
        assert made == []

        # The question, shown in the chat, reads exactly as typed.
        user = page.locator('#rag-chat [data-testid="user"]').last.inner_text()
        assert squash(user) == squash(QUESTION)

        # The essay reads exactly as stored, in the list, the sources and the viewer.
        doc = next(d for d in hostile_rag.index.documents.values() if d.doc_id == "hostile")
        assert squash(page.locator("#rag-essay .rag-essay").inner_text()) == squash(doc.text)
        assert doc.title.startswith("Garden Notes <img")
        assert squash(doc.title) in squash(page.locator("#rag-essays").inner_text())
        sources = squash(page.locator("#rag-sources").inner_text())
        assert SCRIPT in sources or MARKDOWN in sources or IMG in sources
        bot = page.locator('#rag-chat [data-testid="bot"]').last.inner_text()
        if "Not in the essays" not in bot:
            assert SCRIPT in squash(bot) or MARKDOWN in squash(bot)
        browser.close()

    hosts = {urlparse(u).hostname for u in requests}
    assert requests and hosts <= {"127.0.0.1", "localhost"}, sorted(hosts)
