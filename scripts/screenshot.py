"""Regenerate docs/screenshot.png (1366×900) and docs/screenshot-phone.png (390×844):
the page on the bundled essays, a question answered; on the desktop its
first quotation open in its document beside the answer.

    .venv/bin/python scripts/screenshot.py

Needs the index (`rag index`) and Debian's Chromium, like the browser tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import launch_chromium  # noqa: E402

QUESTIONS = ("Who is Michael Kofman?",)


def ask(page, question: str, n: int) -> None:
    page.fill("#rag-question textarea", question)
    page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
    page.click("#rag-ask")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)').length === n"
        " && !document.querySelector('#rag-chat .rag-pending')",
        arg=n,
        timeout=30_000,
    )


def shoot(browser, url: str, viewport: dict, out: Path, open_citation: bool) -> None:
    page = browser.new_page(viewport=viewport)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    for n, question in enumerate(QUESTIONS, start=1):
        ask(page, question, n)
    if open_citation:
        page.evaluate("() => document.querySelector('#rag-chat .rag-cite[data-cite=\"1-q-1\"]').click()")
        page.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-1"] .rag-current', timeout=10_000)
    page.wait_for_timeout(1_500)  # past the answer's fade-in (rag.chat.scripts.CHAT_JS)
    page.screenshot(path=str(out))
    page.close()
    print(out)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from rag.chat.serve import start
    from rag.pipeline import Rag

    demo, url = start(Rag.open(), "127.0.0.1", None, block=False, quiet=True)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            docs = ROOT / "docs"
            docs.mkdir(exist_ok=True)
            shoot(browser, url, {"width": 1366, "height": 900}, docs / "screenshot.png", open_citation=True)
            shoot(browser, url, {"width": 390, "height": 844}, docs / "screenshot-phone.png", open_citation=False)
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
