"""Each file type's reading text, read from real files the tests make."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from rag.ingest.corpus import load_corpus, parse_bytes
from rag.ingest.layout import location, paragraph_starts
from rag.ingest.loaders import LoadError, loader_for
from rag.ingest.loaders.limits import Limits
from rag.ingest.loaders.reflow import Words, join_lines
from tests.documents import (
    COOKIE,
    FOOTER,
    NAV,
    SIDEBAR,
    SIDEBAR_CREDIT,
    SITE,
    docx_file,
    essay_html,
    paged_pdf,
)

LIMITS = Limits()

PAGE_ONE = [
    "Field Notes From the Orchard",
    "Apple trees need pruning in late winter, before the buds break. A clean cut just above an outward "
    "facing bud keeps the crown open to light and air.",
    [
        "The second paragraph runs over the page break, so its last line on the first page",
        "ends without a full stop and",
    ],
]
PAGE_TWO = [
    [
        "carries on at the top of page two, where it finally ends. The nego-",
        "tiation over water rights took three seasons, and the negotiation was worth it.",
    ],
    "Pears ripen off the tree: pick them when the neck yields to a gentle press, then keep them cool.",
]
PAGE_ONE_TEXT = "Apple trees need pruning in late winter, before the buds break."


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory) -> Path:
    return paged_pdf(tmp_path_factory.mktemp("pdf") / "orchard.pdf", [PAGE_ONE, PAGE_TWO])


def read(path: Path):
    return parse_bytes(path.name, path.read_bytes(), LIMITS)


# ---------------------------------------------------------------- PDF


@pytest.mark.unit
def test_pdf_two_pages_paragraphs_pages_and_title(two_pages):
    parsed = read(two_pages)
    text = parsed.text
    assert parsed.title == "Field Notes"  # the PDF's own Title, not its file name
    assert "working draft" not in text  # running header
    assert "\n2\n" not in f"\n{text}\n" and not text.rstrip().endswith("2")  # page numbers
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Field Notes From the Orchard"
    assert paragraphs[1].startswith(PAGE_ONE_TEXT)
    # The paragraph split by the page break is one line again, joined at a space.
    assert (
        "The second paragraph runs over the page break, so its last line on the first page ends without a "
        "full stop and carries on at the top of page two, where it finally ends."
    ) in paragraphs[2]
    # "nego-" + "tiation" is one word (it occurs unbroken in the same document).
    assert "The negotiation over water rights" in text and "nego-" not in text
    assert len(paragraphs) == 4 and "\n" not in "".join(paragraphs)
    page_two = text.index("carries on at the top of page two")
    assert parsed.pages == (0, page_two)


@pytest.mark.unit
def test_pdf_locations_are_page_and_paragraph(two_pages):
    from rag.ingest.corpus import make_document

    doc = make_document(read(two_pages), "orchard", "orchard.pdf", "Orchard")
    pears = doc.text.index("Pears ripen")
    assert location(doc, pears).label() == "p. 2, ¶ 4"
    assert location(doc, doc.text.index("Apple trees")).label() == "p. 1, ¶ 2"
    # A quotation from the carried-over half of paragraph 3 is on page 2, still paragraph 3.
    assert location(doc, doc.text.index("where it finally ends")).label() == "p. 2, ¶ 3"
    assert location(doc, doc.text.index("so its last line")).label() == "p. 1, ¶ 3"


@pytest.mark.unit
def test_hyphens_kept_unless_the_document_shows_the_word_unbroken():
    words = Words.of(["a zero-sum game", "the negotiation", "well"])
    assert join_lines(["a zero-", "sum game"], words) == "a zero-sum game"  # a compound stays one
    assert join_lines(["the nego-", "tiation"], words) == "the negotiation"
    assert join_lines(["an un-", "known word"], words) == "an un-known word"  # no evidence: keep what is printed
    assert join_lines(["it may already have lost—", "indeed"], words) == "it may already have lost—indeed"
    assert join_lines(["soft\u00ad", "ware"], words) == "software"
    assert join_lines(["“Curly” quotes ’n", "dashes – stay"], words) == "“Curly” quotes ’n dashes – stay"


@pytest.mark.unit
def test_repeated_title_line_is_kept_where_it_is_the_headline(tmp_path):
    """A running header repeats the title at the top of every page; the headline
    printed once lower on page 1 is the same words and stays."""
    path = paged_pdf(
        tmp_path / "t.pdf",
        [
            ["Soil Care", "Compost feeds the soil and the soil feeds the plants."],
            ["Mulch keeps the soil moist through a dry summer, and cool."],
        ],
        running_header="Soil Care",
    )
    text = read(path).text
    assert text.split("\n\n")[0] == "Soil Care" and text.count("Soil Care") == 1


@pytest.mark.unit
def test_scanned_pdf_without_text_is_refused(tmp_path):
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(tmp_path / "scan.pdf"))
    canvas.rect(50, 50, 200, 200, fill=1)
    canvas.showPage()
    canvas.save()
    with pytest.raises(LoadError, match="no text layer"):
        read(tmp_path / "scan.pdf")


def _flate_bomb(path: Path, megabytes: int) -> Path:
    """A one-page PDF whose 100-odd-kilobyte content stream inflates to ``megabytes`` MB of text."""
    line = b"(" + b"A" * 200 + b") Tj T* "
    content = b"BT /F1 12 Tf 14 TL 72 720 Td " + line * (megabytes * 1024 * 1024 // len(line)) + b"ET"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def test_pdf_bomb_is_stopped_by_the_limits(tmp_path):
    bomb = _flate_bomb(tmp_path / "bomb.pdf", 400)
    assert bomb.stat().st_size < 2 * 1024 * 1024  # small on disk, 400 MB once inflated
    with pytest.raises(LoadError) as refused:
        parse_bytes("bomb.pdf", bomb.read_bytes(), Limits(memory_mb=256, seconds=60))
    message = str(refused.value)
    assert "\n" not in message and ("memory" in message or "limit" in message), message


def test_a_small_inflated_pdf_still_reads(tmp_path):
    """The bomb's shape at a harmless size is a fine PDF: what stops the bomb is its size."""
    parsed = read(_flate_bomb(tmp_path / "small.pdf", 1))
    assert parsed.text.startswith("AAAA") and len(parsed.text) > 100_000


@pytest.mark.unit
@pytest.mark.parametrize(
    "data, reason",
    [
        (b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "cannot be read as PDF"),
        (b"\x00\x01\x02 not a pdf at all", "cannot be read as PDF"),
        (b"", "cannot be read as PDF"),
    ],
)
def test_corrupt_pdf_is_one_clear_line(data, reason):
    with pytest.raises(LoadError, match=reason) as refused:
        parse_bytes("x.pdf", data, LIMITS)
    assert "\n" not in str(refused.value)


@pytest.mark.unit
def test_file_over_the_size_limit_is_refused_before_reading(two_pages):
    with pytest.raises(LoadError, match="the limit is 1,000 bytes a file"):
        parse_bytes("orchard.pdf", two_pages.read_bytes(), Limits(file_bytes=1000))


@pytest.mark.unit
def test_a_hung_parser_is_stopped(monkeypatch):
    from rag.ingest.loaders import sandbox

    monkeypatch.setattr(sandbox, "CHILD_MODULE", "tests.hanging_child")
    with pytest.raises(LoadError, match="took longer than 1 s"):
        parse_bytes("x.pdf", b"%PDF-1.4", Limits(seconds=1))


# ---------------------------------------------------------------- HTML

ARTICLE = (
    "Orchard Care in Winter\n\n"
    "Pruning, mulch and patience: what old trees need before spring.\n\n"
    "Photo: Anna Berg / Orchard Trust\n\n"
    "Published on January 5, 2023\n\n"
    + "\n\n".join(
        [
            "Apple trees need pruning in late winter, before the buds break, and a clean cut just above an outward "
            "facing bud keeps the crown open to light and air for the whole of the coming season.",
            "Old trees need patience more than anything: take out no more than a fifth of the wood in one winter, "
            "or the tree answers with a thicket of water shoots that shade the fruit for years.",
            "Mulch goes down after the pruning, a hand’s depth of compost kept clear of the trunk — never piled "
            "against the bark, where it keeps the wood wet and invites rot.",
        ]
    )
)


@pytest.mark.unit
def test_html_article_without_navigation_teasers_or_their_credits(tmp_path):
    path = tmp_path / "orchard.html"
    path.write_text(essay_html(ARTICLE), encoding="utf-8")
    parsed = read(path)
    assert parsed.title == "Orchard Care in Winter"  # og:title / <title> without the site name
    for junk in [*NAV, SIDEBAR, SIDEBAR_CREDIT, COOKIE, FOOTER, SITE, "Most read", "newsletter", "Accept"]:
        assert junk not in parsed.text, junk
    # The article's own header stays, as lines of its own, and every paragraph verbatim.
    for block in ARTICLE.split("\n\n"):
        assert f"\n\n{block}\n\n" in f"\n\n{parsed.text}\n\n", block
    assert parsed.pages == ()


@pytest.mark.unit
def test_html_manual_keeps_the_sections_trafilatura_drops():
    """Ninja's HTML manual (a real page): in precision mode trafilatura keeps two
    thirds of it, without the introduction's list of design goals or the
    section on environment variables; the reader keeps the body whole."""
    from rag.ingest.loaders.html import parse_html

    root = Path(__file__).resolve().parents[1]
    text = parse_html((root / "eval/heldout_defs/corpus/ninja-manual.html").read_bytes()).text
    assert "Ninja supports one environment variable to control its behavior:" in text
    assert "The number of started edges." in text
    assert "very fast (i.e., instant) incremental builds, even for very large projects." in " ".join(text.split())
    assert "\n\nDesign goals\n\n" in text  # a heading, on its own


@pytest.mark.unit
def test_html_link_lists_inside_the_article_stay_out():
    """Between two paragraphs of the body, a list of links (a teaser, "related")
    is not the body's text, whatever trafilatura keeps around it."""
    from rag.ingest.loaders.html import parse_html

    prose = [
        "Apple trees need pruning in late winter, before the buds break, and a clean cut above an outward bud "
        "keeps the crown open to light and air for the whole of the coming season.",
        "Old trees need patience more than anything: take out no more than a fifth of the wood in one winter, or "
        "the tree answers with a thicket of water shoots that shade the fruit for years.",
        "Mulch goes down after the pruning, a hand's depth of compost kept clear of the trunk, never piled against "
        "the bark, where it keeps the wood wet and invites rot.",
    ]
    related = '<ul><li><a href="/a">Ten pears to plant now</a></li><li><a href="/b">Why plums split</a></li></ul>'
    page = (
        "<html><body><article><h1>Orchard care</h1>"
        + f"<p>{prose[0]}</p>{related}<p>{prose[1]}</p><h2>Mulch</h2><p>{prose[2]}</p>"
        + "</article></body></html>"
    )
    text = parse_html(page.encode("utf-8")).text
    assert all(p in text for p in prose)
    assert "Ten pears" not in text and "Why plums split" not in text


@pytest.mark.unit
def test_html_main_content_takes_back_what_trafilatura_left_out_of_the_body():
    """Given what trafilatura kept (``main``), the pieces between its first and
    last in the element holding the body come back, bar link lists, photo
    captions, one-word labels and what the page repeats; nothing outside it."""
    import lxml.html

    from rag.ingest.loaders.html import _main_pieces, _typed

    intro = "Ninja is yet another build system, and its distinguishing goal is to be fast."
    env = "Ninja supports one environment variable to control its behavior when it runs."
    page = (
        "<html><body>"
        "<div class='side'><p>Most read: seven build systems compared this week by our editors</p></div>"
        f"<div class='book'><p>{intro}</p><h2>Design goals</h2><ul><li>very fast incremental builds</li>"
        "<li><a href='/make'>Related: Make</a></li></ul><p>Advertisement</p>"
        "<figure><figcaption>The build graph of a large project, drawn by ninja -t graph</figcaption></figure>"
        "<p>Share this page with the people you build software with</p>"
        f"<pre>ninja -C out</pre><p>{env}</p></div>"
        "<div class='foot'><p>Share this page with the people you build software with</p>"
        "<p>Copyright 2022 the Ninja authors, all rights reserved.</p></div>"
        "</body></html>"
    )
    typed = _typed(lxml.html.fromstring(page).find("body"))
    main = f"{intro} {env} Copyright 2022 the Ninja authors, all rights reserved."
    texts = [p.text for p in _main_pieces(typed, main)]
    assert texts == [
        intro,
        "Design goals",
        "very fast incremental builds",
        "ninja -C out",
        env,
        "Copyright 2022 the Ninja authors, all rights reserved.",
    ]
    assert _main_pieces(typed, "nothing of the page") == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "page",
    [
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
        "<html><body><p>Hello <script>alert(1)</script>there, <b>friend</b>.</p></body></html>",
        "<p>unclosed <b>bold <i>text",
        "\x00\x01binary<html>",
    ],
)
def test_adversarial_html_gives_text_or_one_line(page):
    try:
        parsed = parse_bytes("x.html", page.encode("utf-8"), LIMITS)
    except LoadError as err:
        assert "\n" not in str(err)
        return
    assert "alert(1)" not in parsed.text and "<" not in parsed.text


# ---------------------------------------------------------------- Word


@pytest.mark.unit
def test_docx_paragraphs_table_and_core_title(tmp_path):
    import docx

    path = docx_file(
        tmp_path / "report.docx",
        "Kettle Care Guide",
        [
            "Descale the kettle once a month with a cup of white vinegar.",
            "Rinse it twice before boiling water for tea again.",
        ],
        heading="Care and Cleaning",
    )
    document = docx.Document(str(path))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Model", "K-200"
    section = document.sections[0]
    section.header.paragraphs[0].text = "Confidential draft header"
    section.footer.paragraphs[0].text = "Page footer text"
    document.save(str(path))
    parsed = read(path)
    assert parsed.title == "Kettle Care Guide"
    assert parsed.text.split("\n\n") == [
        "Care and Cleaning",
        "Descale the kettle once a month with a cup of white vinegar.",
        "Rinse it twice before boiling water for tea again.",
        "Model K-200",
    ]


@pytest.mark.unit
def test_damaged_docx_is_one_line(tmp_path):
    with pytest.raises(LoadError, match="cannot be read as a Word document"):
        parse_bytes("x.docx", b"PK\x03\x04 not really a zip", LIMITS)


# ---------------------------------------------------------------- Markdown


MARKDOWN = """# Garden *Notes*

Tomatoes need **full sun** and [steady water](https://example.com/water "tips").
Basil needs `pinching` ![a basil plant](basil.png) often.

- Peppers need warmth.
- Mint spreads <b>everywhere</b>.

| plant | water |
|-------|-------|
| fern  | daily |
"""


@pytest.mark.unit
def test_markdown_is_read_as_text(tmp_path):
    path = tmp_path / "garden.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    parsed = read(path)
    assert parsed.title == "Garden Notes"
    assert parsed.text.split("\n\n") == [
        "Garden Notes",
        "Tomatoes need full sun and steady water. Basil needs pinching a basil plant often.",
        "Peppers need warmth.",
        "Mint spreads everywhere.",
        "plant water",
        "fern daily",
    ]
    assert "example.com" not in parsed.text and "*" not in parsed.text


def test_markdown_front_matter_names_the_document_and_is_not_read(tmp_path):
    """Jekyll/Hugo metadata was read as a rule and a setext heading: the title was
    "title: Users, Groups … layout: default …" (systemd's UIDS-GIDS.md)."""
    path = tmp_path / "uids.md"
    path.write_text(
        "---\ntitle: 'Users and Groups'\nlayout: default\nSPDX-License-Identifier: LGPL-2.1-or-later\n---\n\n"
        "# Users, Groups and UIDs\n\nEvery user has a number.\n\n---\n\nA rule above.\n",
        encoding="utf-8",
    )
    parsed = read(path)
    assert parsed.title == "Users and Groups"
    assert parsed.text.split("\n\n") == ["Users, Groups and UIDs", "Every user has a number.", "A rule above."]
    # Without a key: value line it is not front matter: a rule, then text, as CommonMark reads it.
    plain = tmp_path / "rules.md"
    plain.write_text("---\n\nNot metadata at all.\n", encoding="utf-8")
    assert read(plain).text == "Not metadata at all."


# ---------------------------------------------------------------- the corpus folder


@pytest.mark.unit
def test_folder_of_mixed_types_loads_each_with_its_loader(tmp_path, two_pages):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "orchard.pdf").write_bytes(two_pages.read_bytes())
    (folder / "article.html").write_text(essay_html(ARTICLE), encoding="utf-8")
    (folder / "garden.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "notes.txt").write_bytes("Plain Notes Here\r\n\r\nKept “exactly”.\r\n".encode())
    corpus = load_corpus(folder)
    docs = corpus.by_id()
    assert sorted(docs) == ["article", "garden", "notes", "orchard"]
    assert docs["notes"].text == "Plain Notes Here\r\n\r\nKept “exactly”.\r\n"  # plain text untouched
    assert docs["orchard"].pages and docs["article"].pages == ()
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        ("broken.pdf", "cannot be read as PDF: it is damaged or not a PDF")
    ]
    for doc in docs.values():
        assert paragraph_starts(doc.text)[0] == 0


@pytest.mark.unit
def test_registry_by_suffix():
    assert loader_for("A.PDF").kind == "PDF" and loader_for("x.htm").kind == "HTML"
    assert loader_for("notes.txt").kind == "text" and loader_for("x.docx").kind == "Word"
    assert loader_for("x.doc") is None and loader_for("pdf") is None


@pytest.mark.unit
@pytest.mark.parametrize(
    "source",
    [
        "# T <img src=x onerror=alert(1)>\n\n<script>alert(2)</script>\n\nText [x](javascript:alert(3)) ![y](z.png)",
        "[" * 20000 + "deep" + "]" * 20000,
        "> " * 5000 + "quoted",
        "*" * 50000,
        "\x00\x01 binary",
    ],
)
def test_adversarial_markdown_gives_text_or_one_line(source):
    try:
        parsed = parse_bytes("x.md", source.encode("utf-8"), LIMITS)
    except LoadError as err:
        assert "\n" not in str(err)
        return
    # Tags are markup and go; a link CommonMark refuses (javascript:) is the text the file holds, kept
    # as text (the viewer escapes everything).
    assert "<img" not in parsed.text and "<script>" not in parsed.text
    if source.startswith("# T"):
        assert parsed.title == "T" and "[x](javascript:alert(3))" in parsed.text


@pytest.mark.unit
def test_a_sentence_carried_into_the_next_column_stays_one_paragraph(tmp_path):
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(tmp_path / "columns.pdf"), pagesize=(612, 792))
    canvas.setFont("Times-Roman", 10)
    left = [
        "Compost heaps need air, water and a mix of green",
        "and brown material, turned every few weeks so",
        "that the middle stays warm and the whole heap",
    ]
    right = ["breaks down evenly by the end of the summer.", "", "Worms arrive on their own once it cools."]
    for x, lines in ((72, left), (320, right)):
        y = 700
        for line in lines:
            if line:
                canvas.drawString(x, y, line)
            y -= 12
    canvas.showPage()
    canvas.save()
    text = read(tmp_path / "columns.pdf").text
    assert text.split("\n\n") == [
        "Compost heaps need air, water and a mix of green and brown material, turned every few weeks so that the "
        "middle stays warm and the whole heap breaks down evenly by the end of the summer.",
        "Worms arrive on their own once it cools.",
    ]
