"""The chat page end to end in real headless Chromium, at 1366×900 and at 390×844:
first screen, asking, exact quotations and their copy, sources beside the
answer (an overlay on a phone), settings, Stop, Clear, reload."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest

from rag.chat.panels import source_windows
from rag.chat.render import copy_text
from tests.conftest import start_page

pytestmark = pytest.mark.slow

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
KOFMAN = "Who is Michael Kofman?"


@pytest.fixture(scope="module")
def page_url(essays_rag):
    demo, url = start_page(essays_rag)
    yield url
    demo.close()


def open_page(browser, url, viewport):
    context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.requests = []  # every URL the page asks for, to prove nothing leaves the machine
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.wait_for_selector("#rag-chat .rag-empty-chat, #rag-chat .rag-turn", timeout=30_000)
    return context, page


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, page_url):
    context, page = open_page(browser, page_url, VIEWPORTS[request.param])
    page.kind = request.param
    yield page
    context.close()
    assert page.requests and {urlparse(u).hostname for u in page.requests} <= LOCAL_HOSTS, page.requests


@pytest.fixture
def desktop(browser, page_url):
    context, page = open_page(browser, page_url, DESKTOP)
    yield page
    context.close()
    assert {urlparse(u).hostname for u in page.requests} <= LOCAL_HOSTS, page.requests


@pytest.fixture
def phone(browser, page_url):
    context, page = open_page(browser, page_url, PHONE)
    yield page
    context.close()
    assert {urlparse(u).hostname for u in page.requests} <= LOCAL_HOSTS, page.requests


def answered(page, n: int) -> None:
    """Wait until ``n`` turns are answered in full."""
    page.wait_for_function(
        "(n) => document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)').length === n"
        " && !document.querySelector('#rag-chat .rag-pending')",
        arg=n,
        timeout=30_000,
    )


def ask(page, question: str, turn: int) -> None:
    page.fill("#rag-question textarea", question)
    page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
    page.click("#rag-ask")
    answered(page, turn)


def rect(page, selector: str) -> dict:
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width}; }",
        selector,
    )


def in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """(s) => { const el = document.querySelector(s); if (!el) return false;
                    const r = el.getBoundingClientRect();
                    return r.top >= 0 && r.bottom <= window.innerHeight
                           && r.left >= 0 && r.right <= window.innerWidth; }""",
        selector,
    )


def click_in_place(page, selector: str) -> None:
    """A click where the element already is, so the window's scroll is the page's doing, not the test's."""
    page.evaluate("(s) => document.querySelector(s).click()", selector)


# --------------------------------------------------------------- first screen


def test_the_first_screen_names_the_documents_and_asks_from_examples(page, essays_rag):
    titles = [d.title for d in essays_rag.index.documents.values()]
    listed = page.locator("#rag-doclist li .rag-docbtn")
    assert listed.all_inner_texts() == titles
    for i in range(len(titles)):  # above the fold
        box = listed.nth(i).bounding_box()
        assert box["y"] + box["height"] <= page.viewport_size["height"]
    examples = page.locator("#rag-examples button")
    labels = examples.all_inner_texts()
    assert labels and not {"What did he say next?", "And the other essay?"} & set(labels)
    for i in range(examples.count()):  # no label cut off
        assert examples.nth(i).evaluate(
            "b => b.scrollWidth <= b.clientWidth + 1 && b.scrollHeight <= b.clientHeight + 1"
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    # Plain words for the settings, and not a second "Settings".
    page.get_by_text("Search options").click()
    page.locator("#rag-search-by label").first.wait_for(timeout=10_000)
    assert page.locator("#rag-search-by label").all_inner_texts() == ["meaning", "exact words", "both"]
    assert page.get_by_text("Settings", exact=True).count() <= 1  # only Gradio's own footer link


def test_the_first_screen_starts_at_the_top_with_documents_and_the_question_box(page):
    # Nothing scrolls on load: the box gets the cursor without scrolling (autofocus scrolled 546-662 px).
    page.wait_for_timeout(500)
    assert page.evaluate("window.scrollY") == 0
    for selector in ("#rag-header h1", "#rag-doclist", "#rag-doclist li:last-child", "#rag-question textarea"):
        assert in_viewport(page, selector), selector
    if page.kind == "desktop":
        assert page.evaluate("document.activeElement.closest('#rag-question') !== null")
        # No large empty area under the title: the conversation starts right under the top row.
        header, chat = rect(page, "#rag-header"), rect(page, "#rag-chat")
        assert chat["top"] - header["bottom"] < 160, (header, chat)
        assert in_viewport(page, "#rag-examples button")
    else:  # no keyboard popping up over half the first screen
        assert page.evaluate("document.activeElement.tagName") != "TEXTAREA"
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.scrollY") == 0


def test_a_long_question_is_counted_and_its_cut_is_said(page):
    long = ("Why should the United States negotiate with Putin, and what would it cost? " * 40)[:2985]
    box = page.locator("#rag-question textarea")
    box.fill(long)
    assert box.input_value() == long  # the box keeps all of it: nothing is cut silently
    page.wait_for_function(
        "() => document.querySelector('#rag-count').innerText.includes('2,985 characters')", timeout=10_000
    )
    assert "only the first 1,000 are searched" in page.locator("#rag-count").inner_text()
    page.click("#rag-ask")
    answered(page, 1)
    assert "shortened to its first" in page.locator("#rag-chat .rag-turn").inner_text()
    assert page.locator("#rag-count").inner_text().strip() == ""  # the box is empty again


def test_a_stale_status_line_goes_when_typing_starts(page):
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        "() => document.querySelector('#rag-status').innerText.includes('Nothing to ask')", timeout=10_000
    )
    page.type("#rag-question textarea", "Who")
    page.wait_for_function("() => document.querySelector('#rag-status').innerText.trim() === ''", timeout=10_000)


def test_search_in_never_reads_as_nothing(desktop):
    desktop.locator("#rag-manage .label-wrap").click()
    boxes = desktop.locator("#rag-scope input[type=checkbox]")
    boxes.first.wait_for(timeout=10_000)
    assert "All 2 documents are searched." in desktop.locator("#rag-doclist").inner_text()
    boxes.nth(0).uncheck()
    desktop.wait_for_function(
        "() => document.querySelector('#rag-doclist').innerText.includes('Searching 1 of 2')", timeout=10_000
    )
    boxes.nth(1).uncheck()
    desktop.wait_for_function(
        "() => document.querySelector('#rag-doclist').innerText.includes('None ticked: all 2 documents are searched.')",
        timeout=10_000,
    )


def test_every_control_shows_its_focus(desktop):
    desktop.locator("#rag-manage .label-wrap").click()
    checkbox = desktop.locator("#rag-scope input[type=checkbox]").first
    checkbox.wait_for(timeout=10_000)
    checkbox.focus()
    desktop.keyboard.press("Space")  # a key press: the browser then shows focus as for keyboard users
    desktop.keyboard.press("Space")
    outline = checkbox.evaluate("e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "none" and outline[1] != "0px", outline
    box = desktop.locator("#rag-question textarea")
    blurred = box.evaluate("e => { e.blur(); const s = getComputedStyle(e); return s.outlineStyle + s.borderColor; }")
    focused = box.evaluate("e => { e.focus(); const s = getComputedStyle(e); return s.outlineStyle + s.borderColor; }")
    assert focused != blurred and not focused.startswith("none"), (blurred, focused)


def test_an_example_asks_when_clicked_and_keeps_a_draft(page):
    page.fill("#rag-question textarea", "my draft")
    page.locator("#rag-examples button").first.click()
    answered(page, 1)
    assert page.locator("#rag-chat .rag-q").first.inner_text().endswith(KOFMAN)
    assert page.input_value("#rag-question textarea") == "my draft"


def test_ask_is_disabled_on_an_empty_box_and_enter_there_adds_nothing(page):
    assert page.locator("#rag-ask").is_disabled()
    page.fill("#rag-question textarea", "   ")
    page.wait_for_timeout(300)
    assert page.locator("#rag-ask").is_disabled()
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        "() => document.querySelector('#rag-status').innerText.includes('the question is empty')", timeout=10_000
    )
    assert page.locator("#rag-chat .rag-turn").count() == 0
    page.fill("#rag-question textarea", KOFMAN)
    page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)


def test_the_phone_question_box_is_full_width_and_its_placeholder_one_line(phone):
    box = phone.locator("#rag-question textarea")
    width = box.bounding_box()["width"]
    assert width >= 0.8 * PHONE["width"], width
    height = box.evaluate("t => t.clientHeight")
    placeholder = box.get_attribute("placeholder")
    box.fill(placeholder)  # as long as the placeholder: it fits on the one line
    phone.wait_for_timeout(300)
    assert box.evaluate("t => t.clientHeight") == height and box.evaluate("t => t.scrollHeight <= t.clientHeight")


# ----------------------------------------------------------------- answers


def test_the_answer_reads_exactly_as_in_the_document(page, essays_rag):
    # That it streams is tested without timing in test_ui_streaming.py.
    ask(page, KOFMAN, 1)
    answer = essays_rag.ask_in_conversation(KOFMAN)
    docs = essays_rag.index.documents
    quotes = page.locator("#rag-chat .rag-quote")
    assert quotes.count() == len(answer.quotes)
    for i, q in enumerate(answer.quotes):
        block = quotes.nth(i)
        assert block.locator(".rag-qm").all_text_contents() == ["“", "”"]  # one outer pair
        assert block.locator(".rag-qt").text_content() == docs[q.doc_id].text[q.start : q.end]
    # The doubled mark of the issue: the essay's own mark is the text's, the page's is drawn apart.
    first = quotes.nth(0)
    assert first.locator(".rag-qt").text_content().startswith("“For the first time")
    assert first.locator(".rag-qm").first.evaluate("m => getComputedStyle(m).position") == "absolute"
    line = page.locator("#rag-chat .rag-srcline").inner_text()
    assert "¶" in line and "characters" not in line


def test_an_unsure_answer_shows_its_caution_above_the_quotations(page, essays_rag):
    from tests.test_caution import NEAR_MISS

    turns = page.locator("#rag-chat .rag-turn").count()
    ask(page, NEAR_MISS, turns + 1)
    last = page.locator("#rag-chat .rag-turn").last
    caution = last.locator(".rag-caution")
    assert caution.is_visible() and caution.inner_text() == essays_rag.ask(NEAR_MISS).caution
    assert caution.bounding_box()["y"] < last.locator(".rag-quote").first.bounding_box()["y"]


def test_copy_puts_plain_quotations_on_the_clipboard(page, essays_rag):
    ask(page, KOFMAN, 1)
    page.locator("#rag-chat .rag-copy").click()
    page.wait_for_function("() => document.querySelector('#rag-chat .rag-copy').innerText === 'Copied'", timeout=5_000)
    copied = page.evaluate("navigator.clipboard.readText()")
    answer = essays_rag.ask_in_conversation(KOFMAN)
    assert copied == copy_text(answer, essays_rag.index.documents)
    for q in answer.quotes:
        assert f"{q.text}\n— {q.title}, ¶ " in copied
    assert "\\[" not in copied and "#cite" not in copied and "](#" not in copied


def test_one_card_per_passage_beside_the_answer(desktop, essays_rag):
    ask(desktop, KOFMAN, 1)
    answer = essays_rag.ask_in_conversation(KOFMAN)
    windows = source_windows(answer, essays_rag.index.documents)
    cards = desktop.locator("#rag-viewer .rag-card")
    assert cards.count() == len(windows) < len(answer.quotes)  # the three copies of one passage
    marked = desktop.locator("#rag-viewer mark.rag-m").all_text_contents()
    assert sorted(marked) == sorted(q.text for q in answer.quotes)
    assert rect(desktop, "#rag-viewer")["left"] >= rect(desktop, "#rag-chat")["right"]


# ---------------------------------------------------------------- the viewer


def test_a_citation_opens_the_document_beside_the_answer_without_moving_the_page(desktop, essays_rag):
    ask(desktop, KOFMAN, 1)
    before = desktop.evaluate("window.scrollY")
    click_in_place(desktop, '#rag-chat .rag-cite[data-cite="1-q-2"]')
    desktop.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-2"] .rag-doc', timeout=10_000)
    desktop.wait_for_timeout(300)
    assert desktop.evaluate("window.scrollY") == before
    answer = essays_rag.ask_in_conversation(KOFMAN)
    assert desktop.locator("#rag-viewer .rag-current").text_content() == answer.quotes[1].text
    assert in_viewport(desktop, "#rag-viewer .rag-current")
    doc_box, mark_box = rect(desktop, "#rag-viewer .rag-doc"), rect(desktop, "#rag-viewer .rag-current")
    assert doc_box["top"] <= mark_box["top"] and mark_box["bottom"] <= doc_box["bottom"]
    assert in_viewport(desktop, "#rag-chat .rag-turn .rag-q")  # the answer stays where it was


def test_the_viewer_always_belongs_to_the_answer_clicked_in(desktop, essays_rag):
    ask(desktop, KOFMAN, 1)
    click_in_place(desktop, '#rag-chat .rag-cite[data-cite="1-q-1"]')
    desktop.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-1"]', timeout=10_000)
    ask(desktop, "Why should the United States negotiate with Putin?", 2)
    # A new answer replaces the old highlight with its own sources.
    panel = desktop.locator("#rag-viewer .rag-panel")
    assert panel.get_attribute("data-turn") == "2" and panel.get_attribute("data-mode") == "sources"
    assert desktop.locator("#rag-viewer .rag-current").count() == 0
    # A citation in the older answer opens that answer's quotation.
    click_in_place(desktop, '#rag-chat .rag-cite[data-cite="1-q-1"]')
    desktop.wait_for_selector('#rag-viewer .rag-panel[data-key="1-q-1"]', timeout=10_000)
    first = essays_rag.ask_in_conversation(KOFMAN).quotes[0]
    assert desktop.locator("#rag-viewer .rag-current").text_content() == first.text
    desktop.locator("#rag-viewer .rag-allsrc").click()
    desktop.wait_for_selector('#rag-viewer .rag-panel[data-key="1-s-0"] .rag-card', timeout=10_000)


def test_on_a_phone_the_answer_reads_from_its_start_and_a_citation_opens_an_overlay(phone, essays_rag):
    ask(phone, KOFMAN, 1)
    phone.wait_for_timeout(300)
    question = rect(phone, "#rag-chat .rag-turn .rag-q")
    assert 0 <= question["top"] <= 120, question  # scrolled to the question, not to the end
    assert in_viewport(phone, "#rag-chat .rag-quote")
    # Its sources are in the answer itself.
    assert phone.locator("#rag-chat .rag-turn .rag-srcline .rag-src").count() >= 1
    assert not phone.locator("#rag-side").is_visible()
    phone.locator('#rag-chat .rag-cite[data-cite="1-q-1"]').scroll_into_view_if_needed()
    before = phone.evaluate("window.scrollY")
    click_in_place(phone, '#rag-chat .rag-cite[data-cite="1-q-1"]')
    phone.wait_for_function("() => document.querySelector('#rag-side').classList.contains('rag-open')", timeout=10_000)
    phone.wait_for_timeout(300)
    overlay = rect(phone, "#rag-side")
    assert overlay["top"] == 0 and overlay["width"] == PHONE["width"]
    assert in_viewport(phone, "#rag-viewer .rag-current") and in_viewport(phone, "#rag-viewer .rag-back")
    phone.locator("#rag-viewer .rag-back").click()
    phone.wait_for_function("() => !document.querySelector('#rag-side').classList.contains('rag-open')")
    assert phone.evaluate("window.scrollY") == before
    assert in_viewport(phone, '#rag-chat .rag-cite[data-cite="1-q-1"]')
    # A document's title opens it the same way; Escape closes it too.
    phone.evaluate("window.scrollTo(0, 0)")
    phone.locator("#rag-doclist .rag-docbtn").nth(1).click()
    phone.wait_for_function("() => document.querySelector('#rag-side').classList.contains('rag-open')", timeout=10_000)
    assert "Zelensky" in phone.locator("#rag-viewer .rag-panel-title").inner_text()
    phone.keyboard.press("Escape")
    phone.wait_for_function("() => !document.querySelector('#rag-side').classList.contains('rag-open')")


def test_on_a_phone_back_closes_the_overlay_then_leaves(browser, page_url):
    context, phone = open_page(browser, page_url, PHONE)
    try:
        phone.goto("about:blank")
        phone.goto(page_url, wait_until="domcontentloaded")
        phone.wait_for_selector("#rag-doclist .rag-docbtn", timeout=30_000)
        phone.locator("#rag-doclist .rag-docbtn").first.click()
        phone.wait_for_function(
            "() => document.querySelector('#rag-side').classList.contains('rag-open')", timeout=10_000
        )
        assert phone.locator("#rag-side").get_attribute("role") == "dialog"
        phone.go_back()
        phone.wait_for_function(
            "() => !document.querySelector('#rag-side').classList.contains('rag-open')", timeout=10_000
        )
        assert phone.url == page_url  # still on the page
        # Closed by its own button, the overlay leaves no extra step in the history either.
        phone.locator("#rag-doclist .rag-docbtn").first.click()
        phone.wait_for_function(
            "() => document.querySelector('#rag-side').classList.contains('rag-open')", timeout=10_000
        )
        phone.locator("#rag-viewer .rag-back").click()
        phone.wait_for_function("() => !document.querySelector('#rag-side').classList.contains('rag-open')")
        phone.wait_for_timeout(300)
        phone.go_back()
        phone.wait_for_url("about:blank", timeout=10_000)
    finally:
        context.close()


def test_the_document_scrolls_and_closes_from_the_keyboard(page):
    page.locator("#rag-doclist .rag-docbtn").first.focus()
    page.keyboard.press("Enter")
    doc = page.locator("#rag-viewer .rag-doc")
    doc.wait_for(timeout=10_000)
    if page.kind == "desktop":  # it ends inside the window
        assert rect(page, "#rag-viewer .rag-doc")["bottom"] <= DESKTOP["height"]
    doc.focus()
    assert doc.evaluate("d => d.scrollTop") == 0
    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.querySelector('#rag-viewer .rag-doc').scrollTop > 0", timeout=5_000)
    if page.kind == "phone":
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.querySelector('#rag-side').classList.contains('rag-open')")
        assert page.evaluate("document.activeElement.closest('#rag-side')") is None


def test_the_question_stays_visible_above_its_answer(page):
    ask(page, KOFMAN, 1)
    ask(page, "Why does the author think the West needs to offer Putin an off-ramp?", 2)
    page.wait_for_timeout(300)
    newest = "#rag-chat .rag-turn:last-child .rag-q"
    assert in_viewport(page, newest)
    if page.kind == "desktop":  # and at the top of the conversation's own box
        chat, q = rect(page, "#rag-chat"), rect(page, newest)
        assert chat["top"] <= q["top"] <= chat["top"] + 40, (chat, q)


# --------------------------------------------------------------- the rest


def test_the_inspector_shows_every_column_at_desktop_width(desktop):
    ask(desktop, KOFMAN, 1)
    desktop.get_by_text("How the answer was found").click()
    table = desktop.locator("#rag-inspector table")
    table.wait_for(timeout=10_000)
    headers = [h.split("\n")[0] for h in table.locator("thead th").all_inner_texts()]
    assert headers[0] == "rank" and {"dense", "bm25", "hybrid", "fusion (used)"} <= set(headers)
    wrap = desktop.locator("#rag-inspector .rag-table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    assert rect(desktop, "#rag-inspector table")["right"] <= DESKTOP["width"]
    assert table.locator(".rag-quoted").count() >= 1


def test_a_new_setting_asks_the_last_question_again(desktop):
    ask(desktop, KOFMAN, 1)
    desktop.get_by_text("Search options").click()
    desktop.locator("#rag-search-by label", has_text="exact words").click(timeout=10_000)
    desktop.wait_for_function(
        "() => { const t = document.querySelectorAll('#rag-chat .rag-turn:not(.rag-pending)');"
        " return t.length === 1 && t[0].getAttribute('data-turn') === '2'; }",
        timeout=30_000,
    )
    assert desktop.locator("#rag-chat .rag-q").inner_text().endswith(KOFMAN)
    desktop.get_by_text("How the answer was found").click()
    desktop.wait_for_selector("#rag-inspector table", timeout=10_000)
    assert "bm25 (used)" in desktop.locator("#rag-inspector").inner_text()


def test_clear_forgets_the_conversation_but_keeps_a_draft(page):
    ask(page, KOFMAN, 1)
    page.fill("#rag-question textarea", "half a question")
    page.click("#rag-clear")
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-turn')", timeout=10_000)
    assert page.input_value("#rag-question textarea") == "half a question"
    assert page.locator("#rag-viewer .rag-panel").get_attribute("data-mode") == "empty"


def test_the_conversation_survives_a_reload(desktop, essays_rag):
    ask(desktop, KOFMAN, 1)
    ask(desktop, "What did he say next?", 2)
    before = desktop.locator("#rag-chat .rag-qt").all_text_contents()
    desktop.reload(wait_until="domcontentloaded")
    answered(desktop, 2)
    assert desktop.locator("#rag-chat .rag-qt").all_text_contents() == before
    assert desktop.locator("#rag-chat .rag-q").last.inner_text().endswith("What did he say next?")
    # The restored turns are live: citations open, and follow-ups lean on them.
    click_in_place(desktop, '#rag-chat .rag-cite[data-cite="2-q-1"]')
    desktop.wait_for_selector('#rag-viewer .rag-panel[data-key="2-q-1"] .rag-current', timeout=10_000)
    ask(desktop, "What did he say next?", 3)
    assert "Reading on" in desktop.locator("#rag-chat .rag-turn").last.locator(".rag-searched").inner_text()
    # Storage someone edited is not believed.
    desktop.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('rag-conversation'))"
        ".forEach(k => localStorage.setItem(k, 'garbage'))"
    )
    desktop.reload(wait_until="domcontentloaded")
    desktop.wait_for_selector("#rag-chat .rag-empty-chat", timeout=30_000)


# --------------------------------------------------------------- Stop


class SlowRag:
    """The real pipeline, answering after a pause long enough to press Stop in."""

    def __init__(self, rag, pause_s: float):
        self._rag, self._pause = rag, pause_s

    def __getattr__(self, name):
        return getattr(self._rag, name)

    def answer_rewrite(self, *args, **kwargs):
        time.sleep(self._pause)
        return self._rag.answer_rewrite(*args, **kwargs)


@pytest.fixture(scope="module")
def slow_url(essays_rag):
    demo, url = start_page(SlowRag(essays_rag, 4.0))
    yield url
    demo.close()


@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_stop_ends_an_answer_and_gives_the_question_back(browser, slow_url, kind):
    context, page = open_page(browser, slow_url, VIEWPORTS[kind])
    try:
        page.fill("#rag-question textarea", KOFMAN)
        page.wait_for_function("() => !document.querySelector('#rag-ask').disabled", timeout=10_000)
        page.click("#rag-ask")
        page.wait_for_selector("#rag-chat .rag-pending", timeout=10_000)
        # A placeholder has nothing to copy and nothing to click.
        assert page.locator("#rag-chat .rag-pending .rag-copy, #rag-chat .rag-pending .rag-cite").count() == 0
        assert in_viewport(page, "#rag-chat .rag-pending .rag-q")
        page.wait_for_function("() => !document.querySelector('#rag-stop').disabled", timeout=10_000)
        page.click("#rag-stop")
        page.wait_for_function("() => !document.querySelector('#rag-chat .rag-pending')", timeout=10_000)
        page.wait_for_timeout(5_000)  # past the moment the answer would have come
        assert page.locator("#rag-chat .rag-turn").count() == 0
        assert page.input_value("#rag-question textarea") == KOFMAN
        assert "Stopped" in page.locator("#rag-status").inner_text()
        assert page.locator("#rag-stop").is_disabled() and not page.locator("#rag-ask").is_disabled()
    finally:
        context.close()
