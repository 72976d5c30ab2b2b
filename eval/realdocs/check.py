#!/usr/bin/python3
"""Check realdocs_qa.jsonl against the documents in corpus/.

For every answer, look it up in the text of its document, after collapsing all
whitespace runs to single spaces on both sides. Extraction:
  .pdf  -> `pdftotext FILE -` (poppler-utils, no -layout)
  .html -> visible text via html.parser (script/style dropped, a newline at
           block-level tags, character references decoded)
  .docx -> text of every w:p paragraph from word/document.xml (w:t, w:tab,
           w:br), which includes hyperlink text; python-docx's Paragraph.text
           (0.8.x) drops hyperlink runs, so that view is reported as a warning
  .md/.txt -> raw file
PDF only: a word broken at a line end ("-\\n") is also tried joined without the
hyphen and joined keeping the hyphen (pdftotext keeps typesetting hyphens).

Which document a question belongs to comes from its id prefix (see PREFIX).
Ids starting with "all-" or "oos-" may match any document.

Prints every answer not found, answers found more than once / in several
documents (warnings), duplicate ids, kind counts. Exit status 1 on errors.
Usage: ./check.py [--grep DOCPREFIX 'phrase']
"""

import collections
import html.parser
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
QA = os.path.join(HERE, "realdocs_qa.jsonl")

PREFIX = {
    "mg": "maint-guide.pdf",
    "fm": "fetchmail-faq.html",
    "asc": "asciinema-readme.md",
    "apl": "apache-licence.txt",
    "cf": "copyright-format.txt",
    "git": "git-tutorial.docx",
}
KINDS = {"detail", "number-date", "definition", "how-to", "why-how", "paraphrase", "summary", "out-of-scope"}

BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "hr",
    "blockquote",
    "title",
    "body",
    "head",
    "html",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "address",
    "form",
    "caption",
}


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_text(path):
    p = _Text()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    p.close()
    return "".join(p.out)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(path):
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read("word/document.xml"))
    paras = []
    for p in root.iter(W + "p"):
        buf = []
        for el in p.iter():
            if el.tag == W + "t":
                buf.append(el.text or "")
            elif el.tag == W + "tab":
                buf.append("\t")
            elif el.tag in (W + "br", W + "cr"):
                buf.append("\n")
        paras.append("".join(buf))
    return "\n".join(paras)


def docx_text_python_docx(path):
    try:
        import docx  # python3-docx
    except ImportError:
        return None
    d = docx.Document(path)
    return "\n".join(p.text for p in d.paragraphs)


def pdf_text(path):
    return subprocess.run(["pdftotext", path, "-"], check=True, capture_output=True, text=True).stdout


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def variants(name):
    path = os.path.join(CORPUS, name)
    ext = name.rsplit(".", 1)[1]
    if ext == "pdf":
        raw = pdf_text(path)
        return [norm(raw), norm(re.sub(r"(?<=\w)-\n(?=\w)", "", raw)), norm(re.sub(r"(?<=\S)-\n(?=\S)", "-", raw))]
    if ext == "html":
        return [norm(html_text(path))]
    if ext == "docx":
        return [norm(docx_text(path))]
    with open(path, encoding="utf-8") as f:
        return [norm(f.read())]


def main():
    texts = {n: variants(n) for n in PREFIX.values()}
    if len(sys.argv) == 4 and sys.argv[1] == "--grep":
        t, pat = texts[PREFIX[sys.argv[2]]][0], sys.argv[3]
        for m in re.finditer(re.escape(pat), t, re.I):
            print("...", t[max(0, m.start() - 200) : m.end() + 300], "...\n")
        return 0
    pydocx = docx_text_python_docx(os.path.join(CORPUS, PREFIX["git"]))
    pydocx = norm(pydocx) if pydocx is not None else None

    errors = warnings = 0
    ids = collections.Counter()
    kinds = collections.Counter()
    per_doc = collections.Counter()
    n = 0
    with open(QA, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            q = json.loads(line)
            n += 1
            qid, kind, answers = q["id"], q["kind"], q["answers"]
            ids[qid] += 1
            kinds[kind] += 1
            if set(q) != {"id", "kind", "question", "answers"}:
                print(f"ERROR {qid}: unexpected keys {sorted(q)}")
                errors += 1
            if kind not in KINDS:
                print(f"ERROR {qid}: unknown kind {kind}")
                errors += 1
            if (kind == "out-of-scope") != (answers == []):
                print(f"ERROR {qid}: kind {kind} but {len(answers)} answers")
                errors += 1
            pre = qid.split("-", 1)[0]
            if pre in ("all", "oos"):
                docs = list(PREFIX.values())
            elif pre in PREFIX:
                docs = [PREFIX[pre]]
                per_doc[PREFIX[pre]] += 1
            else:
                print(f"ERROR {qid}: unknown id prefix")
                errors += 1
                continue
            for a in answers:
                na = norm(a)
                hits = [d for d in docs if any(na in v for v in texts[d])]
                if not hits:
                    print(f"NOT FOUND {qid} (line {lineno}) in {docs if len(docs) == 1 else 'any doc'}:\n    {a!r}")
                    errors += 1
                    continue
                where = [d for d in PREFIX.values() if any(na in v for v in texts[d])]
                count = max(v.count(na) for v in texts[hits[0]])
                if len(where) > 1 or count > 1:
                    print(
                        f"WARN {qid}: answer occurs {count}x in {hits[0]}"
                        f"{' and also in ' + str(where) if len(where) > 1 else ''}: {a[:70]!r}"
                    )
                    warnings += 1
                if hits[0].endswith(".docx") and pydocx is not None and na not in pydocx:
                    print(f"NOTE {qid}: not in python-docx Paragraph.text view (hyperlink text?): {a[:70]!r}")
    for qid, c in ids.items():
        if c > 1:
            print(f"ERROR duplicate id {qid} x{c}")
            errors += 1
    oos = kinds["out-of-scope"]
    print(f"\n{n} questions, {errors} errors, {warnings} warnings; out-of-scope {oos} ({100.0 * oos / max(n, 1):.1f}%)")
    print("per kind:", dict(sorted(kinds.items())))
    print("per document (excluding all-/oos- ids):", dict(sorted(per_doc.items())))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
