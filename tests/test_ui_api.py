"""The chat page's API, called with gradio_client against a real server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from rag.chat.serve import host_warning, is_loopback
from tests.conftest import start_page
from tests.html_tree import parse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page_url(essays_rag):
    demo, url = start_page(essays_rag)
    yield url
    demo.close()


def ask(client, question, retriever="fusion", k=5):
    """One turn; returns (conversation_html, panel_html, inspector_html, record, status)."""
    _, conversation, panel, inspector, record, _, status = client.predict(question, retriever, k, api_name="/chat")
    return conversation, panel, inspector, record, status


def new_client(url):
    from gradio_client import Client

    return Client(url, verbose=False)  # one Client is one session: one conversation


def last_answer(conversation: str):
    return parse(conversation).find_all("rag-turn")[-1]


def test_answer_quotes_are_verbatim_and_citations_resolve(page_url, essays_rag):
    conversation, panel, _inspector, record, _ = ask(new_client(page_url), "Who is Michael Kofman?")
    docs = essays_rag.index.documents
    assert record["abstained"] is False and record["citations"]
    turn = last_answer(conversation)
    shown = {q.attrs["data-n"]: q for q in turn.find_all("rag-quote")}
    cards = parse(panel)
    for c in record["citations"]:
        doc = docs[c["doc_id"]]  # resolves to an indexed document
        assert c["title"] == doc.title
        assert doc.text[c["start"] : c["end"]] == c["quote"]
        # Shown in the chat exactly, between one pair of outer marks, followed by its [n].
        quote = shown[str(c["n"])]
        assert quote.find("rag-qt").text() == c["quote"]
        assert quote.find("rag-cite").attrs["data-cite"] == f"{record['turn']}-q-{c['n']}"
        # Marked in a source card, under the same key.
        assert cards.find(tag="mark", data_cite=f"{record['turn']}-q-{c['n']}").text() == c["quote"]
    assert any("Kofman" in c["quote"] for c in record["citations"])
    assert record["searched_query"] == "Who is Michael Kofman?" and not turn.find_all("rag-searched")


def test_inspector_ranks_every_retriever_and_flags_quoted_passages(page_url):
    _, _, inspector, record, _ = ask(new_client(page_url), "Who is Michael Kofman?", retriever="bm25", k=3)
    heads = [th.text() for th in parse(inspector).find_all(tag="th")]
    for name in ("dense", "bm25 (used)", "hybrid", "fusion"):
        assert any(h.startswith(name) for h in heads), heads
    assert inspector.split("<tbody>")[1].count("<tr>") == 3  # k rows
    assert "quoted" in inspector
    assert len(record["passages"]) == 3 and record["retriever"] == "bm25"


def test_followup_finds_the_passage_and_explains_the_rewrite(page_url, essays_rag):
    client = new_client(page_url)
    ask(client, "Who is Michael Kofman?")
    conversation, _, _, record, _ = ask(client, "What did he say?")
    assert record["followup"] is True and record["question"] == "What did he say?"
    assert "Kofman" in record["searched_query"] and record["speaker"] == "Michael Kofman"
    assert "Kofman" in record["passages"][0]["text"]
    assert last_answer(conversation).find("rag-searched").text().startswith("“he” read as Michael Kofman")
    # A second conversation does not inherit the first one's turns.
    _, _, _, fresh, _ = ask(new_client(page_url), "What did he say?")
    assert fresh["followup"] is False and fresh["searched_query"] == "What did he say?"


def test_the_other_essay_says_when_it_never_mentions_him(page_url, essays_rag):
    client = new_client(page_url)
    _, _, _, first, _ = ask(client, "Who is Michael Kofman?")
    conversation, panel, _, other, _ = ask(client, "And the other essay?")
    cited = first["citations"][0]["doc_id"]
    assert other["scope"] and cited not in other["scope"]
    assert other["abstained"] and other["citations"] == []
    assert other["answer"].endswith("does not mention Michael Kofman.")
    assert {p["doc_id"] for p in other["passages"]} == set(other["scope"])
    # One line, then the nearest passages as related reading, not as an answer.
    turn = last_answer(conversation)
    assert turn.find("rag-abstain").text() == other["answer"]
    assert "not an answer" in turn.find("rag-related").text()
    assert not turn.find_all("rag-quote") and not turn.find_all("rag-copy")
    assert parse(panel).find_all("rag-card")


def test_an_unsure_answer_is_served_with_its_caution_first(page_url):
    from rag.answer.abstain import CAUTION
    from tests.test_caution import NEAR_MISS

    conversation, _, _, record, _ = ask(new_client(page_url), NEAR_MISS)
    assert record["abstained"] is False and record["caution"] == CAUTION
    turn = last_answer(conversation)
    assert turn.find("rag-caution").text() == CAUTION and turn.find_all("rag-quote")


def test_empty_question_gets_a_message_not_an_error(page_url):
    conversation, _, _, record, status = ask(new_client(page_url), "   ")
    assert not record
    assert status.startswith("Nothing to ask: the question is empty.") and not parse(conversation).find_all("rag-turn")


def test_api_is_queue_only_and_serves_no_files(page_url):
    request = urllib.request.Request(
        page_url + "gradio_api/api/chat",
        data=b'{"data": ["hi", "hybrid", 5]}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError):  # api_open=False: no way around the queue
        urllib.request.urlopen(request, timeout=10)
    for path in ("gradio_api/file=/etc/passwd", "gradio_api/file=" + os.path.abspath("corpus")):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(page_url + path, timeout=10)
        assert err.value.code in (403, 404)
    config = urllib.request.urlopen(page_url + "config", timeout=10).read().decode()
    assert '"analytics_enabled":false' in config.replace(" ", "")


def test_only_loopback_counts_as_local():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.com")
    assert host_warning("127.0.0.1") is None
    assert "reachable from other machines" in host_warning("0.0.0.0")


def test_the_rag_package_does_not_import_gradio():
    code = (
        "import sys, rag, rag.chat.session, rag.chat.render, rag.chat.panels, rag.chat.restore, rag.chat.serve, "
        "rag.answer.followup, rag.answer.continuation, rag.retrieval.scoped, rag.cli.main; "
        "sys.exit('gradio' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rag_serve_starts_the_page(essays_index):
    """The README's command, as a real process: it serves the page on loopback."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index", str(essays_index.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    out = ""
    try:
        deadline, html = time.time() + 90, ""
        while time.time() < deadline and proc.poll() is None:
            try:
                html = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert "<html" in html.lower(), f"rag serve did not come up (exit {proc.poll()})"
        # Printed once launch() has returned, a moment after the port opens.
        import select

        while "Serving the chat page" not in out and select.select([proc.stdout], [], [], 30)[0]:
            out += proc.stdout.readline()
    finally:
        proc.terminate()
        out += proc.communicate(timeout=30)[0]
    assert "Serving the chat page on http://127.0.0.1" in out
    assert "warning" not in out.lower()
