"""The page streams: a real `rag serve` paused by a failpoint right after the
first piece of an answer, seen in real headless Chromium.

Paused there, the server cannot send anything more, so what the page shows is
exactly the first piece: the start of the first quotation, with no citation
yet. Released, the whole answer follows and begins with that piece. No timing is involved
(rag.chat.app's short pause between pieces only makes streaming visible to people).
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request

import pytest

from rag.failpoints import ENV
from tests.conftest import Paused, launch_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]  # Chromium, started here rather than by the fixture

# The quotation texts the page shows, and whether the answer is still pending.
QUOTES = "() => [...document.querySelectorAll('#rag-chat .rag-qt')].map(q => q.textContent)"
PENDING = "() => !!document.querySelector('#rag-chat .rag-pending')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_page(server: Paused, url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.proc.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"rag serve did not come up (exit {server.proc.poll()}): {''.join(server.other)}")


def test_the_page_shows_the_first_piece_then_the_whole_answer(essays_index):
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           ENV: "chat.stream.piece=pause"}
    env.pop("RAG_DEBUG", None)
    server = Paused([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", str(essays_index.path)],
                    env)
    try:
        _wait_for_page(server, url)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page()
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("#rag-question textarea", timeout=30_000)
                page.fill("#rag-question textarea", "Who is Michael Kofman?")
                page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
                page.click("#rag-ask")
                server.reached("chat.stream.piece", timeout=120)
                # Paused after the first piece: the page ends up showing it, and nothing more.
                page.wait_for_function(f"() => ({QUOTES})().length > 0", timeout=30_000)
                first = page.evaluate(QUOTES)
                assert page.evaluate(PENDING) and page.locator("#rag-chat .rag-pending .rag-more").count() == 1
                assert page.locator("#rag-chat .rag-cite").count() == 0  # no citation before the whole quotation
                server.release()
                page.wait_for_function(f"() => !({PENDING})() && ({QUOTES})().length > 0", timeout=60_000)
                final = page.evaluate(QUOTES)
                assert page.locator("#rag-chat .rag-cite").count() == len(final)
            finally:
                browser.close()
    finally:
        server.kill()
    # The piece shown first is the start of the first quotation, cut at a word.
    assert len(first) == 1 and len(first[0].split()) >= 2
    assert final[0].startswith(first[0]) and len(final[0]) > len(first[0])
    assert any("Kofman" in q for q in final)
