"""Which library reads HTML and PDF best for rag? The measurement behind docs/documents.md's choice.

    .venv/bin/python -m benchmarks.extraction [--aeb DIR] [--pdfs DIR]

HTML, on a folder laid out as scrapinghub/article-extraction-benchmark
(ground-truth.json and html/*.html.gz: 181 real news and blog pages with
their article text by hand): precision, recall and F1 of word 4-grams
against the article, per page, for trafilatura (defaults and
favor_precision), a selectolax reading of <article>/<main> without nav,
header, footer and aside, and rag's loader (trafilatura plus the article's
own header lines, which the ground truth leaves out, so its precision
against it is lower by construction).

PDF, on the essays typeset by tests/documents.py (gold answers of
eval/essays_qa.jsonl found verbatim in the reading text, running headers and
page footers leaked into it) and a 50-page PDF (seconds), for three
readers under the same paragraph rules: PDFium (pypdfium2, rag's),
pdfplumber (pdfminer.six), and pypdf (text only, no positions: paragraphs
and furniture by text alone). With --pdfs, also how many PDFs of a folder
(e.g. py-pdf/sample-files) each reads without an error.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.ingest.loaders.pdf import Line, PageLines, from_lines  # noqa: E402
from tests.documents import PAGE_HEADER, essay_pdf  # noqa: E402

# ------------------------------------------------------------------ HTML


def _shingles(text: str, n: int = 4) -> Counter:
    words = re.findall(r"\w+", text.lower())
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def _prf(true: str, pred: str) -> tuple[float, float, float]:
    a, b = _shingles(true), _shingles(pred)
    tp = sum((a & b).values())
    p = tp / sum(b.values()) if b else 0.0
    r = tp / sum(a.values()) if a else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def _selectolax(html: bytes) -> str:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script,style,noscript,nav,header,footer,aside,form,iframe,svg,button"):
        node.decompose()
    main = tree.css_first("article") or tree.css_first("main") or tree.body
    if main is None:
        return ""
    return "\n\n".join(n.text(separator=" ", strip=True) for n in main.css("p,h1,h2,h3,h4,h5,h6,li,blockquote,pre"))


def html_figures(aeb: Path) -> None:
    import trafilatura

    from rag.ingest.loaders.html import parse_html

    truth = json.loads((aeb / "ground-truth.json").read_text())
    readers = {
        "trafilatura (defaults)": lambda h: trafilatura.extract(h, include_comments=False) or "",
        "trafilatura (favor_precision)": lambda h: trafilatura.extract(h, include_comments=False, favor_precision=True)
        or "",
        "selectolax <article>/<main>": _selectolax,
        "rag (trafilatura + article header)": lambda h: parse_html(h).text,
    }
    print(f"HTML: {len(truth)} pages, word 4-gram overlap with the hand-made article text")
    for name, read in readers.items():
        scores, seconds = [], 0.0
        for key, row in truth.items():
            html = gzip.decompress((aeb / "html" / f"{key}.html.gz").read_bytes())
            start = time.perf_counter()
            try:
                text = read(html)
            except Exception:
                text = ""
            seconds += time.perf_counter() - start
            scores.append(_prf(row.get("articleBody", ""), text))
        p, r, f = (statistics.mean(s[i] for s in scores) for i in range(3))
        print(f"  {name:36} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}  {1000 * seconds / len(truth):.0f} ms/page")


# ------------------------------------------------------------------ PDF


def _pdfplumber_lines(data: bytes):
    import io

    import pdfplumber

    pages = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            lines = [
                Line(
                    ln["text"],
                    ln["x0"],
                    ln["top"],
                    ln["x1"],
                    ln["bottom"],
                    round(statistics.median(c["size"] for c in ln["chars"]), 1),
                )
                for ln in page.extract_text_lines(return_chars=True)
                if ln["text"].strip()
            ]
            pages.append(PageLines(tuple(lines), float(page.height)))
        title = (pdf.metadata or {}).get("Title", "")
    return from_lines(pages, title)


def _pypdf_text(data: bytes):
    """pypdf gives text in content order without usable positions: furniture is a
    first or last line repeated on most pages, a paragraph ends at a short line
    that ends a sentence."""
    import io

    import pypdf

    from rag.ingest.loaders.reflow import Words, join_lines

    pages = [p.extract_text().splitlines() for p in pypdf.PdfReader(io.BytesIO(data)).pages]
    edges = Counter(k for lines in pages for k in {re.sub(r"\d+", "#", ln.strip()) for ln in lines[:3] + lines[-3:]})
    repeated = {k for k, n in edges.items() if n >= max(2, 0.4 * len(pages))}
    kept = [[ln for ln in lines if re.sub(r"\d+", "#", ln.strip()) not in repeated] for lines in pages]
    words = Words.of([ln for lines in kept for ln in lines])
    paragraphs, current = [], []
    for lines in kept:
        width = max((len(ln) for ln in lines), default=0)
        for line in lines:
            current.append(line)
            if re.search(r"[.!?:][\"”’)]*$", line.strip()) and len(line) < 0.85 * width:
                paragraphs.append(join_lines(current, words))
                current = []
    paragraphs.append(join_lines(current, words))
    return "\n\n".join(p for p in paragraphs if p.strip())


def _outcome(read, path: Path) -> str:
    """ "text", "none" (no text layer, or a password needed: nothing to read), or "error"."""
    try:
        return "text" if read(path.read_bytes()).strip() else "none"
    except Exception as err:
        return "none" if re.search(r"no text layer|password|decrypt", str(err), re.I) else "error"


def pdf_figures(pdfs: Path | None) -> None:
    from rag.ingest.loaders.pdf import parse_pdf

    readers = {
        "PDFium (pypdfium2)": lambda d: parse_pdf(d).text,
        "pdfplumber": lambda d: _pdfplumber_lines(d).text,
        "pypdf (text only)": _pypdf_text,
    }
    gold = [
        a
        for line in (ROOT / "eval" / "essays_qa.jsonl").read_text().splitlines()
        if line.strip()
        for a in json.loads(line)["answers"]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        made = [
            essay_pdf(p.read_text(encoding="utf-8"), Path(tmp) / f"{p.stem}.pdf")
            for p in sorted((ROOT / "corpus").glob("*.txt"))
        ]
        long = essay_pdf(
            (ROOT / "corpus" / "putin-needs-an-off-ramp.txt").read_text(encoding="utf-8"),
            Path(tmp) / "long.pdf",
            pages_at_least=50,
        )
        print(f"PDF: the essays typeset with running headers and page footers; {len(gold)} gold answers")
        for name, read in readers.items():
            text = "\n".join(read(p.read_bytes()) for p in made)
            found = sum(a in text for a in gold)
            leaked = text.count(PAGE_HEADER) + len(re.findall(r"Page \d+ of \d+", text))
            start = time.perf_counter()
            read(long.read_bytes())
            seconds = time.perf_counter() - start
            line = (
                f"  {name:20} gold answers verbatim {found}/{len(gold)}  header/footer lines leaked {leaked}  "
                f"50 pages {seconds:.2f} s"
            )
            if pdfs:
                outcomes = Counter(_outcome(read, f) for f in sorted(pdfs.rglob("*.pdf")))
                line += (
                    f"  {pdfs.name}: text from {outcomes['text']}, none or locked {outcomes['none']}, "
                    f"error {outcomes['error']}"
                )
            print(line)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aeb", type=Path, help="article-extraction-benchmark folder (ground-truth.json, html/)")
    parser.add_argument("--pdfs", type=Path, help="a folder of PDFs to read (e.g. py-pdf/sample-files)")
    args = parser.parse_args(argv)
    if args.aeb:
        html_figures(args.aeb)
    pdf_figures(args.pdfs)


if __name__ == "__main__":
    main(sys.argv[1:])
