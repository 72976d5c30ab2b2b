"""Check that every answer of heldout_defs_qa.jsonl occurs verbatim in its document.

HTML: script, style and comments dropped, tags stripped both as '' and as ' ',
each with and without entities unescaped; every answer must match all four.
All text: whitespace runs collapsed to single spaces. Exit status 0 = all pass.

    python3 eval/heldout_defs/verify.py
"""

import collections
import html
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = {
    "gfdl": "gfdl.txt",
    "zlib": "zlib-faq.txt",
    "ninja": "ninja-manual.html",
    "uids": "uids-gids.md",
    "node": "node-governance.md",
}


def collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def variants(name: str) -> list[str]:
    raw = (HERE / "corpus" / name).read_text(encoding="utf-8")
    if not name.endswith(".html"):
        return [collapsed(raw)]
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", raw)
    raw = re.sub(r"(?s)<!--.*?-->", "", raw)
    out = []
    for gap in ("", " "):
        text = re.sub(r"<[^>]+>", gap, raw)
        out += [collapsed(text), collapsed(html.unescape(text))]
    return out


def main() -> int:
    texts = {doc: variants(name) for doc, name in DOCS.items()}
    kinds: collections.Counter[str] = collections.Counter()
    per_doc: collections.Counter[str] = collections.Counter()
    ids: set[str] = set()
    bad = answers = 0
    for line in (HERE / "heldout_defs_qa.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert item["id"] not in ids, item["id"]
        ids.add(item["id"])
        doc = item["id"].split("-")[0]
        kinds[item["kind"]] += 1
        per_doc[doc] += 1
        if item["kind"] == "out-of-scope":
            assert item["answers"] == [], item["id"]
        else:
            assert 1 <= len(item["answers"]) <= 2, item["id"]
        for answer in item["answers"]:
            answers += 1
            missing = [i for i, text in enumerate(texts[doc]) if collapsed(answer) not in text]
            if missing:
                bad += 1
                print("FAIL", item["id"], missing, answer[:80])
    print(dict(kinds), dict(per_doc), "answers:", answers, "failures:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
