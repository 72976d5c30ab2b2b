"""Each format's structure read into typed blocks, from small real files (rag.ingest.loaders)."""

from __future__ import annotations

import pytest

from rag.ingest.corpus import make_document, parse_bytes
from rag.ingest.layout import describe, location
from rag.ingest.loaders.limits import Limits
from rag.ingest.sentences import split_sentences
from rag.ingest.units import headings_of, units_of

pytestmark = pytest.mark.unit

LIMITS = Limits()


def kinds(parsed) -> list[tuple[str, str]]:
    return [(b.kind, parsed.text[b.start : b.end]) for b in parsed.blocks]


def of_kind(parsed, kind: str) -> list[str]:
    return [text for k, text in kinds(parsed) if k == kind]


WRAPPED = """\
Widget Licence
==============

Contents
--------

1. Definitions ........................ 1
2. Conditions ......................... 2

1. Definitions
--------------

1.1. "Widget"
    means the software distributed under this Licence, including its
    documentation and any later version of it.

2. Conditions
-------------

You may copy and distribute the Widget, provided that you keep this
notice intact and give every recipient a copy of this Licence; the
written offer stays valid for at least three years and valid for as
long as you offer spare parts.

    (a) you must not remove the notice; and

    (b) you must state any change you made, with the date of the
        change.

To install it, run:

        widget --install --prefix=/usr/local ~/.widgetrc

Q:  Can I sell copies of the Widget?

A:  Yes. You may charge any price for each copy that you convey, and
    you may offer support for a fee.

References
----------

Smith, J. (2001). Widgets and their licences. Journal of Widgets, 4, 1-9.
"""


def test_hard_wrapped_text_is_joined_into_paragraphs_with_its_structure():
    parsed = parse_bytes("widget.txt", WRAPPED.encode(), LIMITS)
    assert parsed.title == "Widget Licence"
    headings = of_kind(parsed, "heading")
    assert headings[:2] == ["Widget Licence", "Contents"]
    assert "1. Definitions" in headings and "2. Conditions" in headings
    # A term whose definition carries on its sentence is one paragraph with it.
    assert (
        '1.1. "Widget" means the software distributed under this Licence, including its documentation and any '
        "later version of it." in of_kind(parsed, "paragraph")
    )
    # A sentence wrapped over three lines is one line of reading text.
    sentence = "the written offer stays valid for at least three years and valid for as long as you offer spare parts."
    assert sentence in parsed.text and "valid for as\n" not in parsed.text
    assert of_kind(parsed, "contents") == [
        "1. Definitions ........................ 1",
        "2. Conditions ......................... 2",
    ]
    assert of_kind(parsed, "item") == [
        "(a) you must not remove the notice; and",
        "(b) you must state any change you made, with the date of the change.",
    ]
    assert of_kind(parsed, "code") == ["widget --install --prefix=/usr/local ~/.widgetrc"]
    assert of_kind(parsed, "question") == ["Q: Can I sell copies of the Widget?"]
    answer = [t for t in of_kind(parsed, "paragraph") if t.startswith("Yes.")]
    assert answer == [
        "Yes. You may charge any price for each copy that you convey, and you may offer support for a fee."
    ]
    assert of_kind(parsed, "reference") == ["Smith, J. (2001). Widgets and their licences. Journal of Widgets, 4, 1-9."]
    # Paragraph numbers count blocks; a file that opens with blank lines is not one lower.
    doc = make_document(parsed, "widget", "widget.txt", "Widget")
    shifted = make_document(parse_bytes("w.txt", ("\n\n   \n" + WRAPPED).encode(), LIMITS), "w", "w.txt", "W")
    at = doc.text.index("Yes. You may")
    assert (
        location(doc, at).paragraph
        == location(shifted, shifted.text.index("Yes. You may")).paragraph
        == doc.text[:at].count("\n\n") + 1
    )


def test_a_numbered_title_wrapped_over_two_lines_is_one_heading():
    """The MPL's "10.4. Distributing Source Code Form that is Incompatible With
    Secondary" / "Licenses": one heading, not a sentence to quote; a numbered
    paragraph (it has its stops) stays a paragraph."""
    text = (
        "Widget Licence\n\n"
        "10.3. Modified Versions\n\n"
        "If you create software not governed by this License, and you want to\n"
        "create a new license for such software, you may create and use a\n"
        "modified version of this License.\n\n"
        "10.4. Distributing Source Code Form that is Incompatible With Secondary\n"
        "Licenses\n\n"
        "5.1. The rights granted under this License will terminate automatically\n"
        "if You fail to comply with any of its terms.\n"
    )
    parsed = parse_bytes("widget.txt", text.encode(), LIMITS)
    assert "10.4. Distributing Source Code Form that is Incompatible With Secondary Licenses" in of_kind(
        parsed, "heading"
    )
    assert (
        "5.1. The rights granted under this License will terminate automatically if You fail to comply with any "
        "of its terms." in of_kind(parsed, "paragraph")
    )


def test_text_with_one_paragraph_a_line_is_kept_as_stored(tmp_path):
    text = (
        "Field Notes From the Orchard\n\nApple trees need pruning in late winter, before the buds break. "
        "A clean cut just above an outward facing bud keeps the crown open.\nPhoto: Jane Doe / Reuters\n"
    )
    parsed = parse_bytes("orchard.txt", text.encode(), LIMITS)
    assert parsed.text == text
    assert kinds(parsed)[0] == ("heading", "Field Notes From the Orchard")
    assert [k for k, _ in kinds(parsed)[1:]] == ["paragraph", "paragraph"]


MARKDOWN = """# Widget

## Install

```sh
pip install widget
widget --init ~/.config/widget
```

- fast
- small

### How do I upgrade? ¶

Run the installer again.

| option | meaning |
|---|---|
| -q | quiet |
"""


def test_markdown_headings_code_items_tables_and_questions():
    parsed = parse_bytes("readme.md", MARKDOWN.encode(), LIMITS)
    assert [(b.kind, b.level) for b in parsed.blocks if b.kind in ("heading", "question")] == [
        ("heading", 1),
        ("heading", 2),
        ("question", 3),
    ]
    assert of_kind(parsed, "question") == ["How do I upgrade?"]  # the permalink glyph is dropped
    assert of_kind(parsed, "code") == ["pip install widget\nwidget --init ~/.config/widget"]
    assert of_kind(parsed, "item") == ["fast", "small"]
    assert of_kind(parsed, "table") == ["option meaning", "-q quiet"]


HTML = """<html><head><title>Widget FAQ</title></head><body>
<nav><a href="/">Home</a> <a href="/docs">Docs</a></nav>
<main><h1>Widget FAQ</h1>
<ol><li><a href="#q1">Can I run it twice?</a></li><li><a href="#q2">Is it free?</a></li></ol>
<p><b>(1) Can I run it twice?</b></p>
<blockquote><p>Yes, and each run reads the configuration again from the file in your home folder.</p>
<pre>
widget --reload
widget --status
</pre>
<p>The second command shows what the running copy has loaded, so you can check the change before you rely on it.</p></blockquote>
<h2>Licence<a class="headerlink" href="#licence">¶</a></h2>
<p>Widget is free software released under the terms of the licence that comes with every copy of it.</p>
<ul><li>You may copy it.</li><li>You may change it.</li></ul>
</main><footer>© Widget makers. All rights reserved.</footer></body></html>"""  # noqa: E501 (a page as served: one line per element)


def test_html_typed_blocks_from_the_main_content():
    parsed = parse_bytes("faq.html", HTML.encode(), LIMITS)
    assert of_kind(parsed, "question") == ["(1) Can I run it twice?"]
    assert of_kind(parsed, "code") == ["widget --reload\nwidget --status"]
    assert "Licence" in of_kind(parsed, "heading")  # without its ¶ link
    assert of_kind(parsed, "item") == ["You may copy it.", "You may change it."]
    # The page's own links to its questions are contents; one to nothing on the page is not kept at all.
    assert of_kind(parsed, "contents") == ["Can I run it twice?"] and "Is it free?" not in parsed.text
    assert "All rights reserved" not in parsed.text and "Home" not in parsed.text.split("\n\n")[0]


def test_word_styles_give_headings_items_and_code(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Widget Guide", style="Title")
    document.add_paragraph("Installing", style="Heading 1")
    document.add_paragraph("Download the archive and unpack it anywhere you like to keep programs.")
    document.add_paragraph("Check the signature first.", style="List Bullet")
    code = document.styles.add_style("Source Code", 1)
    document.add_paragraph("tar xf widget.tar.gz", style=code)
    path = tmp_path / "guide.docx"
    document.save(path)
    parsed = parse_bytes(path.name, path.read_bytes(), LIMITS)
    assert kinds(parsed)[:2] == [("heading", "Widget Guide"), ("heading", "Installing")]
    assert of_kind(parsed, "item") == ["Check the signature first."]
    assert of_kind(parsed, "code") == ["tar xf widget.tar.gz"]


def _pdf(path):
    """Three pages typeset as a manual: roman front matter (a contents page
    with leader dots), a running header with the printed page number, a
    bold heading, Courier code, and a paragraph that runs onto the next page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    _width, height = A4
    c.addPageLabel(0, style="ROMAN_LOWER", start=1)
    c.addPageLabel(1, style="ARABIC", start=1)

    def header(text):
        c.setFont("Helvetica", 9)
        c.drawString(72, height - 40, text)

    header("Widget Manual i")
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, height - 100, "Contents")
    c.setFont("Helvetica", 11)
    for k, line in enumerate(
        ["1 Installing . . . . . . . . . . . . . . 1", "2 Using . . . . . . . . . . . . . . . . 2"]
    ):
        c.drawString(72, height - 140 - 16 * k, line)
    c.showPage()
    header("Chapter 1: Installing 1")
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, height - 100, "1 Installing")
    c.setFont("Helvetica", 11)
    body = [
        "Unpack the archive in a folder of your own and run the setup script from a",
        "terminal, then follow what it prints until it reports that all is done.",
    ]
    for k, line in enumerate(body):
        c.drawString(72, height - 140 - 14 * k, line)
    c.setFont("Courier", 10)
    c.drawString(90, height - 190, "./setup --prefix=$HOME/.local")
    c.setFont("Helvetica", 11)
    tail = [
        "The setup script keeps a log of every file it writes, so that removing the",
        "widget later takes every one of those files away again and leaves the",
    ]
    for k, line in enumerate(tail):
        c.drawString(72, height - 230 - 14 * k, line)
    c.showPage()
    header("Chapter 1: Installing 2")
    c.setFont("Helvetica", 11)
    c.drawString(72, height - 100, "folder as it was before, with nothing of the widget left in it at all.")
    c.save()
    return path


def test_pdf_headings_code_contents_labels_and_page_spans(tmp_path):
    path = _pdf(tmp_path / "manual.pdf")
    parsed = parse_bytes(path.name, path.read_bytes(), LIMITS)
    assert parsed.labels == ("i", "1", "2")
    assert "Chapter 1: Installing" not in parsed.text  # running header with the page's number
    assert [t for k, t in kinds(parsed) if k == "heading"] == ["Contents", "1 Installing"]
    assert len(of_kind(parsed, "contents")) == 2
    assert of_kind(parsed, "code") == ["./setup --prefix=$HOME/.local"]
    doc = make_document(parsed, "manual", "manual.pdf", "Manual")
    start = doc.text.index("The setup script keeps")
    end = doc.text.index("at all.") + len("at all.")
    assert location(doc, start, end=end).pages() == "pp. 1–2"  # printed labels, both pages
    assert describe(doc, start, end).startswith("1 Installing, pp. 1–2, ¶")


def test_units_quote_code_whole_and_never_end_mid_sentence():
    parsed = parse_bytes("widget.txt", WRAPPED.encode(), LIMITS)
    doc = make_document(parsed, "widget", "widget.txt", "Widget")
    units = units_of(doc, split_sentences(doc.text))
    texts = {doc.text[u.start : u.end]: u.kind for u in units}
    assert texts["widget --install --prefix=/usr/local ~/.widgetrc"] == "code"
    assert not any(u.kind in ("contents", "reference") for u in units)
    heads = headings_of(doc, units)
    answer = next(i for i, u in enumerate(units) if doc.text[u.start : u.end].startswith("You may charge"))
    assert doc.text[units[heads[answer]].start : units[heads[answer]].end] == "Q: Can I sell copies of the Widget?"
    # The title heads everything and tells nothing apart: no unit stands under it.
    assert all(
        units[h].kind != "heading" or doc.text[units[h].start : units[h].end] != "Widget Licence"
        for h in heads
        if h >= 0
    )
    # "e.g." does not end a sentence that goes on in lower case.
    note = make_document(
        parse_bytes("n.txt", b"Use a short name, e.g. widget or gadget, for the tool.\n", LIMITS), "n", "n.txt", "N"
    )
    assert [note.text[u.start : u.end] for u in units_of(note, split_sentences(note.text))] == [note.text.strip()]


def test_the_pages_examples_come_from_the_indexs_own_documents():
    from rag.chat.examples import ESSAY_EXAMPLES, example_questions

    faq = make_document(parse_bytes("widget.txt", WRAPPED.encode(), LIMITS), "widget", "widget.txt", "Widget")
    readme = make_document(parse_bytes("readme.md", MARKDOWN.encode(), LIMITS), "readme", "readme.md", "Readme")
    assert example_questions({"widget": faq, "readme": readme}) == [
        "Can I sell copies of the Widget?",
        "How do I upgrade?",
    ]
    essay = make_document(
        parse_bytes(
            "e.txt",
            b"Kofman on nuclear risk\n\nMichael Kofman said nuclear war may come; we must negotiate an off-ramp.\n",
            LIMITS,
        ),
        "e",
        "e.txt",
        "E",
    )
    assert example_questions({"e": essay}) == [q for q, _ in ESSAY_EXAMPLES]


def _numbered_titles_pdf(path):
    """A manual's enumerated sections at body size, as R's data manual prints
    them ("8. Blank lines"): a little more space above the title and more below;
    then a numbered list whose items follow at the usual leading."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    _width, height = A4
    c.setFont("Helvetica", 11)
    y = height - 100
    lines = [
        ("If a separator is specified, leading and trailing white space in character fields is", 13.2),
        ("kept as part of the field. To strip the space, use the argument strip.white = TRUE.", 14.2),
        ("8. Blank lines", 18.4),
        ("By default, the reader ignores empty lines. This can be changed by setting the", 13.2),
        ("argument blank.lines.skip to FALSE, which is useful only with fill = TRUE.", 14.2),
        ("9. Classes for the variables", 18.4),
        ("Unless told otherwise, every column is read as character and then converted", 13.2),
        ("to logical, integer, numeric or complex, whichever fits all of its entries first.", 13.2),
        ("To install it, follow the steps below in the order they are given here:", 13.2),
        ("1. Download the archive", 13.2),
        ("2. Unpack it in a folder", 13.2),
        ("The reader is then ready to use.", 13.2),
    ]
    for text, step in lines:
        c.drawString(72, y, text)
        y -= step
    c.save()
    return path


def test_pdf_numbered_title_set_apart_is_a_heading(tmp_path):
    path = _numbered_titles_pdf(tmp_path / "manual.pdf")
    parsed = parse_bytes(path.name, path.read_bytes(), LIMITS)
    assert [t for k, t in kinds(parsed) if k == "heading"] == ["8. Blank lines", "9. Classes for the variables"]
    paragraphs = of_kind(parsed, "paragraph")
    assert paragraphs[0].endswith("strip.white = TRUE.")
    assert paragraphs[1].startswith("By default")
    # Items at the usual leading stay with their paragraph, as they read.
    assert not any(t.startswith(("1. Download", "2. Unpack")) for k, t in kinds(parsed) if k == "heading")


def test_a_term_whose_definition_continues_it_is_one_sentence():
    """'1.1. "Contributor"' over an indented "means each individual …" is one
    sentence, not a heading over half of one; a term over a definition that
    opens as a sentence stays a heading (the MPL's layout, and a glossary's)."""
    text = (
        "1. Definitions\n\n"
        '1.1. "Contributor"\n'
        "    means each individual or legal entity that creates, contributes to\n"
        "    the creation of, or owns Covered Software.\n\n"
        '1.2. "Larger Work"\n'
        "    means a work that combines Covered Software with other material, in\n"
        "    a separate file or files, that is not Covered Software.\n\n"
        "Glossary entry\n"
        "    A word that the rest of this text uses in one sense only, given here\n"
        "    with that sense so that a reader can look it up.\n"
    )
    parsed = parse_bytes("licence.txt", text.encode(), LIMITS)
    paragraphs = of_kind(parsed, "paragraph")
    assert (
        '1.1. "Contributor" means each individual or legal entity that creates, contributes to the creation of, '
        "or owns Covered Software." in paragraphs
    )
    assert any(p.startswith('1.2. "Larger Work" means a work') for p in paragraphs)
    assert "Glossary entry" in [t for k, t in kinds(parsed) if k == "heading"]
