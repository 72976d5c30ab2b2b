"""The page's document list and messages, without a server."""

from __future__ import annotations

import pytest

from rag.chat.uploads import added_message, choices
from rag.index.library import ChangeReport, Entry
from rag.types import Skipped

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)


def test_pickers_name_each_document_by_title_and_type():
    rows = [
        Entry("x", "<script>alert(1)</script> & co", "PDF", 3, 12, "2026-01-02T03:04:05Z", "x.pdf"),
        Entry("kettle", "Kettle Care", "text", None, 2, "", "kettle.txt"),
    ]
    # Gradio shows these labels as text, never as markup.
    assert choices(rows) == [("<script>alert(1)</script> & co (PDF)", "x"), ("Kettle Care (text)", "kettle")]


def test_one_line_per_fact():
    report = ChangeReport(
        added=("a", "b"),
        unchanged=("c",),
        refused=(Skipped("bad.pdf", "cannot be read as PDF: it is damaged or not a PDF"),),
    )
    assert added_message(report).split("\n") == [
        "Added a, b.",
        "Already indexed, unchanged: c.",
        "Not added: bad.pdf cannot be read as PDF: it is damaged or not a PDF.",
    ]
    assert added_message(ChangeReport()) == "Nothing was added."
