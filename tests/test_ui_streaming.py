"""An answer's moments on the page, in real headless Chromium against a real
`rag serve` that failpoints pause at each of them (rag/failpoints.py):

- ``chat.answer.pending``: the page has the question and its placeholder;
- ``chat.answer.computed``: the answer is made, the page does not have it.

Paused there, the server cannot send anything more, so what the page shows
is exactly that moment, and a Stop or Clear clicked there races nothing but
the server's next step. No timing is involved: the tests wait for states.

The answer then arrives whole and the page reveals it; Stop at any moment
leaves either the finished answer or the question back in the box with
"Stopped.", Stop disabled and Ask enabled: never a half-drawn turn.
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

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
KOFMAN = "Who is Michael Kofman?"
PENDING, COMPUTED = "chat.answer.pending", "chat.answer.computed"

# The page as a person sees it, read in one go.
STATE = """() => {
  const box = document.querySelector('#rag-question textarea');
  return {
    pending: document.querySelectorAll('#rag-chat .rag-pending').length,
    turns: document.querySelectorAll('#rag-chat .rag-turn').length,
    whole: [...document.querySelectorAll('#rag-chat .rag-turn')].every(
      t => !!t.querySelector('.rag-copy, .rag-abstain')),
    questions: [...document.querySelectorAll('#rag-chat .rag-q')].map(q => q.textContent),
    stop: document.querySelector('#rag-stop').disabled,
    ask: document.querySelector('#rag-ask').disabled,
    box: box ? box.value : null,
    status: document.querySelector('#rag-status').innerText.trim(),
    error: /\\bError\\b/.test(document.querySelector('#rag-chat').innerText
                            + document.querySelector('#rag-status').innerText),
  };
}"""
# Every state the page passes through from now on, until a marker: a stopped
# answer that drew anything after Stop would show up here.
RECORD = (
    """() => {
  window.__ragStates = [];
  const read = %s;
  window.__ragWatch = new MutationObserver(() => window.__ragStates.push(read()));
  window.__ragWatch.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
    % STATE
)
RECORDED = "() => { window.__ragWatch.disconnect(); return window.__ragStates; }"
CLEAN = "() => !document.querySelector('#rag-chat .rag-pending') && document.querySelector('#rag-stop').disabled"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(essays_index):
    """`rag serve` paused at every moment of every answer, until the test releases it."""
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        ENV: f"{PENDING}@*=pause,{COMPUTED}@*=pause",
    }
    env.pop("RAG_DEBUG", None)
    proc = Paused(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", str(essays_index.path)], env
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.proc.poll() is None, (
                f"rag serve did not come up: {''.join(proc.other)}"
            )
            time.sleep(0.5)
    proc.url = url
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def open_page(browser, server, viewport):
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.wait_for_selector("#rag-chat .rag-empty-chat", timeout=30_000)
    return page


def state(page) -> dict:
    return page.evaluate(STATE)


def submit(page, question: str) -> None:
    page.fill("#rag-question textarea", question)
    page.press("#rag-question textarea", "Enter")


def at_pending(page, server) -> None:
    """The server paused with the placeholder sent; the page shows it, Stop enabled."""
    server.reached(PENDING)
    page.wait_for_function(
        "() => !!document.querySelector('#rag-chat .rag-pending') && !document.querySelector('#rag-stop').disabled",
        timeout=30_000,
    )


def through(page, server, *points) -> None:
    for point in points:
        server.reached(point)
        server.release()


def settled_after(page, server, release_points, next_question: str) -> list[dict]:
    """Release the paused answer, then ask ``next_question``: the page sends it only once the
    earlier answer's event is over (the chat's trigger mode), so everything that answer drew
    was drawn by then. Returns the states the page went through in between."""
    page.evaluate(RECORD)
    server.release()
    through(page, server, *release_points)
    states = page.evaluate(RECORDED)
    before = state(page)
    submit(page, next_question)
    at_pending(page, server)
    return [*states, before]


def assert_clean(states: list[dict], turns: int) -> None:
    """No state after Stop has a placeholder, an enabled Stop, a turn too many or one half drawn;
    at the end, Ask is enabled exactly when there is something in the box."""
    for s in states:
        assert s["pending"] == 0 and s["stop"] and not s["error"], s
        assert s["turns"] == turns and s["whole"], s
    assert states[-1]["ask"] == (not (states[-1]["box"] or "").strip()), states[-1]


def assert_stopped(page, question: str, turns: int) -> None:
    page.wait_for_function(CLEAN, timeout=30_000)
    now = state(page)
    assert now["box"] == question and "Stopped" in now["status"], now
    assert now["stop"] and not now["ask"] and now["turns"] == turns and now["whole"], now
    assert question not in " ".join(now["questions"][turns:]), now


def finish(page, server, turns: int) -> None:
    """Let the answer paused at pending through, and wait for it whole."""
    server.release()
    through(page, server, COMPUTED)
    page.wait_for_function(
        f"() => document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)').length === {turns} && {CLEAN[6:]}",
        timeout=30_000,
    )


def test_the_page_shows_the_placeholder_then_the_whole_answer_revealed(browser, server):
    page = open_page(browser, server, DESKTOP)
    submit(page, KOFMAN)
    at_pending(page, server)
    paused = state(page)
    assert paused["pending"] == 1 and paused["box"] == "" and paused["ask"] and not paused["stop"]
    assert page.locator("#rag-chat .rag-pending .rag-wait").inner_text().startswith("Searching")
    assert page.locator("#rag-chat .rag-cite, #rag-chat .rag-quote").count() == 0
    server.release()
    server.reached(COMPUTED)
    # Made, not yet sent: the page still shows the placeholder, and nothing of the answer.
    assert state(page)["pending"] == 1 and page.locator("#rag-chat .rag-quote").count() == 0
    server.release()
    page.wait_for_function(CLEAN, timeout=30_000)
    turn = page.locator("#rag-chat .rag-turn")
    assert turn.count() == 1 and "rag-fresh" in turn.get_attribute("class")
    # All of it is there at once (copy, screen readers); the browser fades its parts in.
    assert "rag-reveal" in turn.get_attribute("class")
    quotes = page.locator("#rag-chat .rag-qt").all_text_contents()
    assert quotes and any("Kofman" in q for q in quotes)
    assert page.locator("#rag-chat .rag-cite").count() == len(quotes)
    delays = page.locator("#rag-chat .rag-quote").evaluate_all(
        "qs => qs.map(q => parseFloat(getComputedStyle(q).animationDelay))"
    )
    assert delays == sorted(delays) and delays[-1] > delays[0]  # in reading order
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_stop_at_every_moment_leaves_a_clean_page(browser, server, viewport):
    nuclear, negotiate = "How close is the world to nuclear war?", "Why should the United States negotiate with Putin?"
    page = open_page(browser, server, viewport)

    # 1. Stopped with the placeholder shown: the question comes back, nothing else changes.
    submit(page, KOFMAN)
    at_pending(page, server)
    page.click("#rag-stop")
    assert_stopped(page, KOFMAN, 0)
    states = settled_after(page, server, [COMPUTED], nuclear)
    assert_clean(states, 0)
    assert states[-1]["box"] == KOFMAN and "Stopped" in states[-1]["status"]

    # 2. Stopped when the answer is made but not sent: it is dropped, never drawn.
    server.release()
    server.reached(COMPUTED)
    page.click("#rag-stop")
    assert_stopped(page, nuclear, 0)
    assert_clean(settled_after(page, server, [], KOFMAN), 0)

    # 3. Not stopped: the whole answer; Stop is disabled once it is there, and a click on it changes nothing.
    finish(page, server, 1)
    page.click("#rag-stop", force=True)
    answered = state(page)
    assert answered["turns"] == 1 and answered["whole"] and answered["stop"] and answered["ask"], answered

    # 4. A follow-up stopped at its placeholder: the earlier answer stays whole.
    submit(page, "What did he say?")
    at_pending(page, server)
    page.click("#rag-stop")
    assert_stopped(page, "What did he say?", 1)
    assert_clean(settled_after(page, server, [COMPUTED], negotiate), 1)

    # 5. Clear while an answer is on its way: the page stays empty after it.
    page.evaluate(RECORD)
    page.click("#rag-clear")
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-turn')", timeout=30_000)
    server.release()
    through(page, server, COMPUTED)
    states = page.evaluate(RECORDED)
    submit(page, nuclear)  # sent once the cleared answer's event is over
    at_pending(page, server)
    cleared = states[next(i for i, s in enumerate(states) if s["turns"] == 0) :]
    assert cleared and all(s["turns"] == 0 and s["pending"] == 0 for s in cleared), states
    finish(page, server, 1)

    # 6. An example stopped when made: dropped, and the draft in the box is left as it was.
    page.fill("#rag-question textarea", "my draft")
    page.locator("#rag-examples button").first.click()
    at_pending(page, server)
    server.release()
    server.reached(COMPUTED)
    page.click("#rag-stop")
    page.wait_for_function(CLEAN, timeout=30_000)
    stopped = state(page)
    assert stopped["turns"] == 1 and stopped["whole"] and stopped["box"] == "my draft", stopped
    assert "Stopped" in stopped["status"] and not stopped["ask"], stopped
    server.release()

    # The page still answers, and no stopped answer ever joined the conversation.
    submit(page, negotiate)
    at_pending(page, server)
    finish(page, server, 2)
    done = state(page)
    assert [q.removeprefix("You asked ") for q in done["questions"]] == [nuclear, negotiate], done
    assert done["whole"] and not done["error"], done
    page.context.close()
