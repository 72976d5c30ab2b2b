"""Real files for the loader tests and the format measurement, made from text.

Each maker writes a file the way a real producer would: a PDF typeset by
reportlab (wrapped, justified lines; a running header and a page footer on
every page), an HTML page with site navigation, a cookie notice, a sidebar
teaser with its own photo credit and a footer around the article, a DOCX
from python-docx with core properties. ``blocks`` are the paragraphs of a
.txt essay: text separated by blank lines, lines inside a block kept.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from rag.ingest.layout import CREDIT_LINE, DATELINE

SITE = "The Policy Review"
NAV = ["World", "Politics", "Economy", "Opinion", "Podcasts", "Subscribe"]
# Around-the-article text that must never be quoted: every string here is
# checked against the reading text by the tests.
SIDEBAR_CREDIT = "Photo: Maria Lopez / Reuters"
SIDEBAR = "Most read: How grain prices shape a harvest season across three continents"
COOKIE = "We use cookies to improve your experience. Accept all cookies or manage preferences."
FOOTER = f"© 2022 {SITE}. All rights reserved. Privacy policy. Terms of use."
PAGE_HEADER = f"{SITE} · Commentary"  # printed at the top of every PDF page


def blocks(text: str) -> list[str]:
    return [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]


def _kind(line: str, is_title: bool) -> str:
    if is_title:
        return "title"
    if DATELINE.search(line):
        return "dateline"
    if CREDIT_LINE.search(line) and len(line) <= 120:
        return "credit"
    return "header" if len(line) <= 200 else "body"


def essay_parts(text: str) -> list[tuple[str, str]]:
    """(kind, line) for each line of a .txt essay: title, header, credit, dateline or body."""
    from rag.ingest.layout import find_title

    title = find_title(text, "")
    parts, in_body = [], False
    for block in blocks(text):
        for line in block.split("\n"):
            kind = "body" if in_body else _kind(line, line.strip() == title)
            in_body = in_body or (kind == "body" and len(line) > 200)
            parts.append((kind, line))
    return parts


def essay_html(text: str, title: str | None = None) -> str:
    """The essay as a news site would serve it: the article amid navigation, teasers and credits."""
    parts = essay_parts(text)
    head_title = title or next(line for kind, line in parts if kind == "title")
    e = html.escape
    article = []
    for kind, line in parts:
        if kind == "title":
            article.append(f"<h1>{e(line)}</h1>")
        elif kind == "credit":
            article.append(
                f'<figure><img src="lead.jpg" alt=""><figcaption><span class="credit">{e(line)}</span>'
                "</figcaption></figure>"
            )
        elif kind == "dateline":
            article.append(f'<p class="dateline"><time datetime="2022-03-10">{e(line)}</time></p>')
        elif kind == "header":
            article.append(f'<p class="dek">{e(line)}</p>')
        else:
            article.append(f"<p>{e(line)}</p>")
    nav = "".join(f'<li><a href="/{n.lower()}">{e(n)}</a></li>' for n in NAV)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(head_title)} | {e(SITE)}</title>
<meta property="og:title" content="{e(head_title)}">
<meta property="og:site_name" content="{e(SITE)}">
<link rel="stylesheet" href="/site.css"></head>
<body>
<div class="cookie-banner">{e(COOKIE)} <button>Accept</button></div>
<header class="site-header"><a class="logo" href="/">{e(SITE)}</a>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<main>
<article class="story">
{chr(10).join(article)}
</article>
<aside class="sidebar"><h3>Most read</h3>
<figure><img src="grain.jpg" alt=""><figcaption>{e(SIDEBAR_CREDIT)}</figcaption></figure>
<p><a href="/economy/grain">{e(SIDEBAR)}</a></p>
<p><a href="/newsletter">Sign up for our newsletter</a></p></aside>
</main>
<footer class="site-footer"><nav><a href="/about">About</a> <a href="/contact">Contact</a></nav>
<p>{e(FOOTER)}</p></footer>
</body></html>
"""


def essay_pdf(text: str, path: Path, title: str | None = None, pages_at_least: int = 0) -> Path:
    """The essay typeset as a PDF with a running header and "Page N of M" footers.

    ``pages_at_least`` repeats the body (numbered parts) until the PDF has
    that many pages, for the long-document measurement.
    """
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    parts = essay_parts(text)
    doc_title = title or next(line for kind, line in parts if kind == "title")
    styles = {
        "title": ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=20, leading=24, spaceAfter=10),
        "header": ParagraphStyle("header", fontName="Helvetica-Oblique", fontSize=12, leading=15, spaceAfter=8),
        "credit": ParagraphStyle("credit", fontName="Helvetica", fontSize=8, leading=10, spaceAfter=8),
        "dateline": ParagraphStyle("dateline", fontName="Helvetica", fontSize=9, leading=11, spaceAfter=10),
        "body": ParagraphStyle(
            "body", fontName="Times-Roman", fontSize=11, leading=14, spaceAfter=9, alignment=TA_JUSTIFY
        ),
    }
    story = [(kind, line) for kind, line in parts]
    body = [line for k, line in parts if k == "body"]

    def decorate(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(72, letter[1] - 40, PAGE_HEADER)
        canvas.drawRightString(letter[0] - 72, letter[1] - 40, doc_title[:60])
        canvas.drawCentredString(letter[0] / 2, 30, f"Page {document.page} of {document._total}")
        canvas.restoreState()

    def build(lines) -> int:
        story_now = [Paragraph(html.escape(line), styles[kind]) for kind, line in lines] + [Spacer(1, 1)]
        # Two passes: the first counts pages for "Page N of M".
        count = {"n": 0}

        def counting(canvas, document):
            count["n"] = document.page

        SimpleDocTemplate(str(path), pagesize=letter, title=doc_title, author=SITE).build(
            story_now, onFirstPage=counting, onLaterPages=counting
        )
        total = count["n"]

        def final(canvas, document):
            document._total = total
            decorate(canvas, document)

        story_now = [Paragraph(html.escape(line), styles[kind]) for kind, line in lines] + [Spacer(1, 1)]
        SimpleDocTemplate(str(path), pagesize=letter, title=doc_title, author=SITE).build(
            story_now, onFirstPage=final, onLaterPages=final
        )
        return total

    part = 1
    while build(story) < pages_at_least:
        part += 1
        story.append(("title", f"Part {part}"))
        story += [("body", f"({part}) {line}") for line in body]
    return path


def paged_pdf(
    path: Path,
    pages: list[list[str | list[str]]],
    title: str = "Field Notes",
    running_header: str | None = "Field Notes — working draft",
) -> Path:
    """A PDF with the given paragraphs on each page, a running header and a page number.

    A paragraph is a string (wrapped by reportlab) or a list of its printed
    lines (to control line breaks, hyphens included). Paragraphs are
    separated by half a line of space.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=A4)
    canvas.setTitle(title)
    width, height = A4
    for number, paragraphs in enumerate(pages, start=1):
        canvas.setFont("Helvetica", 8)
        if running_header:
            canvas.drawString(72, height - 40, running_header)
        canvas.drawCentredString(width / 2, 30, str(number))
        y = height - 90
        canvas.setFont("Times-Roman", 12)
        for paragraph in paragraphs:
            lines = paragraph if isinstance(paragraph, list) else simpleSplit(paragraph, "Times-Roman", 12, width - 144)
            for line in lines:
                canvas.drawString(72, y, line)
                y -= 15
            y -= 9
        canvas.showPage()
    canvas.save()
    return path


def docx_file(path: Path, title: str, paragraphs: list[str], heading: str | None = None) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    if heading:
        document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path
