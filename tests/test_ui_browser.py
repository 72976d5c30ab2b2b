"""The chat page end to end in real headless Chromium: ask, follow a citation."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import launch_chromium, start_page

pytestmark = pytest.mark.slow

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

@pytest.fixture(scope="module")
def page_url(essays_rag):
    demo, url = start_page(essays_rag)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, page_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []  # every URL the page asks for, to prove nothing leaves the machine
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(page_url, wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    yield page
    context.close()
    assert page.requests and {urlparse(u).hostname for u in page.requests} <= LOCAL_HOSTS, page.requests


def ask(page, question: str, turn: int) -> None:
    """Ask and wait until turn ``turn`` is answered in full (its last line has arrived)."""
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    page.wait_for_function(
        """(n) => {
          const bots = document.querySelectorAll('#rag-chat [data-testid="bot"]');
          const t = bots.length === n ? bots[n - 1].innerText : '';
          return t.includes('Sources:') || t.includes('Not in the essays');
        }""",
        arg=turn, timeout=30_000,
    )


def in_view(page, selector: str, container: str) -> bool:
    """The element is inside its scrolling container's visible box and the window's."""
    return page.evaluate(
        """([sel, box]) => {
          const el = document.querySelector(sel), c = document.querySelector(box);
          if (!el || !c) return false;
          const r = el.getBoundingClientRect(), b = c.getBoundingClientRect();
          return r.bottom > b.top && r.top < b.bottom && r.top < window.innerHeight && r.bottom > 0;
        }""",
        [selector, container],
    )


def test_ask_stream_highlight_and_open_the_cited_essay(page, essays_rag, tmp_path):
    page.fill("#rag-question textarea", "Who is Michael Kofman?")
    page.press("#rag-question textarea", "Enter")

    page.wait_for_selector("#rag-sources .rag-source mark", timeout=30_000)
    page.wait_for_function(
        "() => { const b = document.querySelector('#rag-chat [data-testid=\"bot\"]');"
        " return b && b.innerText.includes('Sources:'); }", timeout=30_000,
    )
    final = page.locator('#rag-chat [data-testid="bot"]').last.inner_text()
    # That the page streams is tested without timing in test_ui_streaming.py.
    assert "Kofman" in final and "[1]" in final

    # Each quotation reads exactly as in the essay; its source entry marks it.
    first_mark = page.locator("#rag-sources .rag-source").first.locator("mark").inner_text()
    doc = next(d for d in essays_rag.index.documents.values() if d.title == "Putin Needs an Off-Ramp")
    assert " ".join(first_mark.split()) in " ".join(doc.text.split())
    assert " ".join(first_mark.split()) in " ".join(final.split())
    assert "characters " in page.locator("#rag-sources .rag-source").first.inner_text()

    # Clicking [1] in the answer shows the whole essay, scrolled to the marked span.
    page.locator('#rag-chat a[href="#cite-1-q-1"]').click()
    page.wait_for_selector("#rag-essay .rag-essay mark", timeout=15_000)
    page.wait_for_function(
        "() => document.querySelector('#rag-essay .rag-essay').scrollTop > 0", timeout=10_000
    )
    essay = page.locator("#rag-essay .rag-essay")
    assert " ".join(essay.inner_text().split()) == " ".join(doc.text.split())  # the whole essay
    assert page.locator("#rag-essay mark").inner_text() == first_mark
    assert in_view(page, "#rag-essay mark", "#rag-essay .rag-essay")
    assert page.locator("#rag-essay mark").is_visible()
    page.screenshot(path=str(tmp_path / "answered.png"), full_page=True)
    assert (tmp_path / "answered.png").stat().st_size > 10_000

    # Clicking the second source entry moves the viewer to that span.
    sources = page.locator("#rag-sources .rag-source")
    if sources.count() > 1:
        second = sources.nth(1).locator("mark").inner_text()
        sources.nth(1).click()
        page.wait_for_function(
            "(t) => { const m = document.querySelector('#rag-essay mark'); return m && m.innerText === t; }",
            arg=second, timeout=10_000,
        )
        assert in_view(page, "#rag-essay mark", "#rag-essay .rag-essay")


def test_inspector_tab_and_followup_query_are_shown(page):
    ask(page, "Who is Michael Kofman?", 1)
    ask(page, "What did he say?", 2)
    assert "follow-up" in page.locator("#rag-searched").inner_text()
    assert "Kofman" in page.locator("#rag-searched").inner_text()
    page.get_by_role("tab", name="Retrieval inspector").click()
    table = page.locator("#rag-inspector table")
    table.wait_for(timeout=10_000)
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:1] == ["rank"] and {"dense", "bm25", "hybrid", "fusion (used)"} <= set(headers)
    assert table.locator(".rag-quoted").count() >= 1

    page.click("#rag-clear")
    page.wait_for_function("() => !document.querySelector('#rag-chat [data-testid=\"bot\"]')", timeout=10_000)
    assert page.locator("#rag-searched").inner_text().strip() == ""


def test_phone_width_has_no_sideways_scroll_and_lists_the_essays(browser, page_url, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(page_url, wait_until="domcontentloaded")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.fill("#rag-question textarea", "Who is Michael Kofman?")
        page.click("#rag-ask")
        page.wait_for_selector("#rag-sources .rag-source mark", timeout=30_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        essays = page.locator("#rag-essays li").all_inner_texts()
        assert any(t.startswith("Putin Needs an Off-Ramp") for t in essays) and len(essays) == 2
        page.locator("#rag-essays li").nth(1).click()
        page.wait_for_selector("#rag-essay .rag-essay", timeout=10_000)
        assert "Zelensky" in page.locator("#rag-essay .rag-essay-head").inner_text()
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    finally:
        context.close()
