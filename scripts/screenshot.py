"""Regenerate docs/screenshot.png: the page on the bundled essays, one question answered.

    .venv/bin/python scripts/screenshot.py [QUESTION]

Needs the index (`rag index`) and Debian's Chromium, like the browser tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import launch_chromium  # noqa: E402


def main(question: str = "Who is Michael Kofman?") -> None:
    from playwright.sync_api import sync_playwright

    from rag.pipeline import Rag
    from rag.chat.serve import start

    demo, url = start(Rag.open(), "127.0.0.1", None, block=False, quiet=True)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector("#rag-question textarea", timeout=30_000)
            page.fill("#rag-question textarea", question)
            page.click("#rag-ask")
            page.wait_for_function(
                """() => { const b = [...document.querySelectorAll('#rag-chat [data-testid="bot"]')].pop();
                          return b && (b.innerText.includes('Sources:') || b.innerText.includes('Not in the essays')); }""",
                timeout=30_000,
            )
            link = page.locator('#rag-chat a[href$="-q-1"]')
            if link.count():
                link.first.click()
                page.wait_for_selector("#rag-essay mark", timeout=10_000)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(500)
            out = ROOT / "docs" / "screenshot.png"
            out.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
            print(out)
    finally:
        demo.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
