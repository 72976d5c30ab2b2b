#!/usr/bin/env python3
"""Check realdocs_dev_qa.jsonl: every answer must occur verbatim in some corpus
document after collapsing whitespace runs to one space on both sides.

Text extraction: PDF -> `pdftotext` (no -layout); HTML -> visible text via
html.parser (script/style skipped); DOCX -> `pandoc -t plain --wrap=none`;
.md/.txt -> raw file.  Also checks ids are unique, kinds valid, and prints
counts.  Usage: python3 check.py [--dump DIR]
"""

import collections
import html.parser
import json
import os
import re
import subprocess
import sys
from typing import ClassVar

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
QA = os.path.join(HERE, "realdocs_dev_qa.jsonl")
KINDS = {"detail", "number-date", "definition", "how-to", "why-how", "paraphrase", "summary", "out-of-scope"}


class _Visible(html.parser.HTMLParser):
    SKIP: ClassVar[set[str]] = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in (
            "p",
            "div",
            "br",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "tr",
            "td",
            "th",
            "pre",
            "blockquote",
            "dt",
            "dd",
            "ol",
            "ul",
        ):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def extract(path):
    ext = path.rsplit(".", 1)[-1].lower()
    if ext == "pdf":
        return subprocess.run(["pdftotext", path, "-"], check=True, capture_output=True, text=True).stdout
    if ext in ("html", "htm"):
        p = _Visible()
        with open(path, encoding="utf-8", errors="replace") as f:
            p.feed(f.read())
        return "".join(p.parts)
    if ext == "docx":
        return subprocess.run(
            ["pandoc", "-f", "docx", "-t", "plain", "--wrap=none", path], check=True, capture_output=True, text=True
        ).stdout
    return open(path, encoding="utf-8", errors="replace").read()


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def variants(text):
    """Normalised text, plus two fallbacks for words hyphenated at a line end
    in PDF output: joined without the hyphen (typesetting break, 'manip-
    ulated' -> 'manipulated') and joined keeping it ('"zoo"-\nspecific' ->
    '"zoo"-specific')."""
    n = norm(text)
    joined = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    kept = re.sub(r"-[ \t]*\n\s*(?=\S)", "-", text)
    return [n, norm(joined), norm(kept)]


def main():
    dump = None
    if "--dump" in sys.argv:
        dump = sys.argv[sys.argv.index("--dump") + 1]
        os.makedirs(dump, exist_ok=True)
    docs = {}
    for name in sorted(os.listdir(CORPUS)):
        if name.startswith("."):
            continue
        text = extract(os.path.join(CORPUS, name))
        docs[name] = variants(text)
        if dump:
            with open(os.path.join(dump, name + ".txt"), "w") as f:
                f.write(text)
    bad = 0
    ids = set()
    kinds = collections.Counter()
    per_doc = collections.Counter()
    n = 0
    dehyph = 0
    prefix = collections.Counter()
    prefix_kind = collections.defaultdict(collections.Counter)
    with open(QA, encoding="utf-8") as f:
        qa_lines = f.readlines()
    for lineno, line in enumerate(qa_lines, 1):
        if not line.strip():
            continue
        n += 1
        q = json.loads(line)
        for key in ("id", "kind", "question", "answers"):
            if key not in q:
                print(f"line {lineno}: missing {key}")
                bad += 1
        if q["id"] in ids:
            print(f"line {lineno}: duplicate id {q['id']}")
            bad += 1
        ids.add(q["id"])
        if q["kind"] not in KINDS:
            print(f"{q['id']}: bad kind {q['kind']}")
            bad += 1
        kinds[q["kind"]] += 1
        pre = q["id"].split("-", 1)[0]
        prefix[pre] += 1
        prefix_kind[pre][q["kind"]] += 1
        if q["kind"] == "out-of-scope" and q["answers"]:
            print(f"{q['id']}: out-of-scope with answers")
            bad += 1
        if q["kind"] != "out-of-scope" and not q["answers"]:
            print(f"{q['id']}: no answers")
            bad += 1
        found_in = set()
        for a in q["answers"]:
            na = norm(a)
            hits = [d for d, vs in docs.items() if na in vs[0]]
            if not hits:
                hits = [d for d, vs in docs.items() if any(na in v for v in vs[1:])]
                if hits:
                    dehyph += 1
            if not hits:
                print(f"NOT FOUND {q['id']}: {a!r}")
                bad += 1
            found_in.update(hits)
        for d in found_in:
            per_doc[d] += 1
        if q["kind"] == "out-of-scope":
            per_doc["(none: out-of-scope)"] += 1
    print(f"{n} questions, {bad} problems ({dehyph} answers matched only across a PDF line-end hyphen)")
    print("per kind:", dict(sorted(kinds.items())))
    oos = kinds["out-of-scope"]
    print(f"out-of-scope share: {oos / max(n, 1):.0%}")
    print("per id prefix (document; 'gen' = off-topic, 'all' = whole corpus):")
    for pre, c in sorted(prefix.items()):
        oosn = prefix_kind[pre]["out-of-scope"]
        print(f"  {pre}: {c} ({oosn} out-of-scope)")
    print("per document (questions with an answer found there):")
    for d, c in sorted(per_doc.items()):
        print(f"  {d}: {c}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
