"""Accessibility of the chat page, checked by axe-core in real headless Chromium
at 1366×900 and 390×844, with an answer shown and the document viewer open;
and one font family, with every weight it uses present (a system stack).

axe-core is the copy bundled in the PyPI package axe-playwright-python 0.1.8
(the test extra pins it): axe-core 4.12.1, MPL-2.0, by Deque Systems. It is
read from the installed package and run in the page; nothing is fetched.
"""

from __future__ import annotations

from importlib.resources import files

import pytest

from tests.conftest import start_page
from tests.test_ui_browser import DESKTOP, KOFMAN, PHONE, ask, open_page

pytestmark = pytest.mark.slow

AXE_PACKAGE = "axe_playwright_python"
# Impacts that fail the page; axe's "moderate" and "minor" findings are printed, not failed.
FAILING = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 240))}));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    source = files(AXE_PACKAGE).joinpath("axe.min.js").read_text(encoding="utf-8")
    assert source.startswith("/*! axe v4.12.1"), source[:40]  # the version the module doc names
    return source


@pytest.fixture(scope="module")
def page_url(essays_rag):
    demo, url = start_page(essays_rag)
    yield url
    demo.close()


def violations(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)  # DevTools evaluation: the page's own policy still holds for the page
    return page.evaluate(RUN_AXE)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_or_critical_violations_with_an_answer_and_the_viewer_open(browser, page_url, axe_source, viewport):
    context, page = open_page(browser, page_url, viewport)
    try:
        found = violations(page, axe_source)  # the first screen
        ask(page, KOFMAN, 1)
        page.fill("#rag-question textarea", "A question typed")  # Ask enabled: its colours count too
        page.evaluate("() => document.querySelector('#rag-chat .rag-cite').click()")
        page.wait_for_selector("#rag-viewer .rag-doc .rag-current", timeout=30_000)
        if viewport is PHONE:
            page.wait_for_function("() => document.querySelector('#rag-side').classList.contains('rag-open')")
        page.wait_for_timeout(1_500)  # the answer's fade-in is over: colours are measured at rest
        found += violations(page, axe_source)
    finally:
        context.close()
    for v in found:
        print(v["impact"], v["id"], v["help"], v["nodes"])
    assert not [v for v in found if v["impact"] in FAILING], [v for v in found if v["impact"] in FAILING]


def test_a_control_check_fails_on_low_contrast(browser, page_url, axe_source):
    """The check can fail: text made 1.9:1, as the hint text was, is reported serious."""
    context, page = open_page(browser, page_url, DESKTOP)
    try:
        page.evaluate("() => { document.querySelector('.rag-header p').style.color = '#bbbbc2'; }")
        found = violations(page, axe_source)
    finally:
        context.close()
    assert any(v["id"] == "color-contrast" and v["impact"] == "serious" for v in found), found


def test_one_font_family_and_no_partial_font_files(desktop_page):
    page = desktop_page
    families = page.evaluate("""() => [...new Set(['h1', '#rag-ask', '#rag-question textarea', '.rag-doclist',
      '#rag-examples button', '.rag-empty-chat'].map(s => getComputedStyle(document.querySelector(s)).fontFamily))]""")
    assert len(families) == 1 and families[0].startswith("system-ui"), families
    # Nothing but the system's fonts: no web font file, so no font with missing glyphs.
    loaded = page.evaluate(
        "() => { const f = []; document.fonts.forEach(x => { if (x.status === 'loaded') "
        "f.push(x.family + ' ' + x.weight); }); return f; }"
    )
    assert loaded == [], loaded


@pytest.fixture
def desktop_page(browser, page_url):
    context, page = open_page(browser, page_url, DESKTOP)
    yield page
    context.close()
