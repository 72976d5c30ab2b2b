"""The page works under its Content-Security-Policy, in real headless Chromium:
an answer streams, a citation opens its essay, and the browser reports no
violation of the policy (every blocked script, style, font or connection
would fire a securitypolicyviolation event)."""

from __future__ import annotations

import pytest

from rag.chat.guard import CONTENT_SECURITY_POLICY
from tests.conftest import launch_chromium, start_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]  # Chromium, started here rather than by the fixture

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def page_url(essays_rag):
    demo, url = start_page(essays_rag)
    yield url
    demo.close()


def test_the_page_works_under_its_policy_and_violates_nothing(page_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        console = []
        page.on("console", lambda m: console.append(m.text))
        response = page.goto(page_url, wait_until="domcontentloaded")
        policy = response.headers["content-security-policy"]
        script_src = next(d for d in policy.split("; ") if d.startswith("script-src "))
        # Gradio's own inline scripts by hash only: no 'unsafe-inline', no other origin.
        assert script_src.startswith("script-src 'self' 'unsafe-eval' 'sha256-") and "unsafe-inline" not in script_src
        assert policy.replace(script_src, "script-src 'self' 'unsafe-eval'") == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.fill("#rag-question textarea", "Who is Michael Kofman?")
        page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
        page.click("#rag-ask")
        page.wait_for_function(
            "() => document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)').length === 1"
            " && !document.querySelector('#rag-chat .rag-pending')",
            timeout=60_000,
        )
        page.locator("#rag-chat .rag-cite").first.click()
        page.wait_for_selector("#rag-viewer .rag-panel .rag-doc", timeout=30_000)
        violations = page.evaluate("window.__cspViolations")
        browser.close()
    assert violations == [], violations
    assert not [m for m in console if "Content Security Policy" in m], console
