"""The page's document list and messages, without a server."""

from __future__ import annotations

from rag.chat.uploads import added_message, choices, documents_table_html
from rag.index.library import ChangeReport, Entry
from rag.types import Skipped


def test_document_list_escapes_every_name():
    rows = [Entry("x", "<script>alert(1)</script> & co", "PDF", 3, 12, "2026-01-02T03:04:05Z", "<b>.pdf"),
            Entry("kettle", "Kettle Care", "text", None, 2, "", "kettle.txt")]
    table = documents_table_html(rows)
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in table
    assert "3 pages, 12 ¶" in table and "2026-01-02 03:04:05 UTC" in table and "bundled" in table
    assert choices(rows) == [("<script>alert(1)</script> & co (PDF)", "x"), ("Kettle Care (text)", "kettle")]


def test_one_line_per_fact():
    report = ChangeReport(added=("a", "b"), unchanged=("c",),
                          refused=(Skipped("bad.pdf", "cannot be read as PDF: it is damaged or not a PDF"),))
    assert added_message(report).split("\n") == [
        "Added a, b.", "Already indexed, unchanged: c.",
        "Not added: bad.pdf cannot be read as PDF: it is damaged or not a PDF."]
    assert added_message(ChangeReport()) == "Nothing was added."
