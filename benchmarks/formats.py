"""Do the essays answer as well as HTML pages and PDFs as they do as .txt?

    .venv/bin/python -m benchmarks.formats [--out DIR] [--pages 50]

Makes the two bundled essays into HTML pages (site navigation, a cookie
notice, a sidebar teaser with its own photo credit and a footer around the
article) and into PDFs (typeset, with a running header and "Page N of M" on
every page), builds an index of each corpus, and scores eval/essays_qa.jsonl
on each with the default retriever. Then it checks that no quotation holds
navigation, credits, headers or footers, adds a long PDF (--pages) to the
.txt index as `rag add` does, asks questions whose answers lie deep in it,
and removes it again, comparing fingerprints. Prints figures, and the `rag`
commands that give the same numbers from the folders it leaves in --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.documents import (  # noqa: E402  (the same file makers the tests use)
    COOKIE,
    FOOTER,
    NAV,
    PAGE_HEADER,
    SIDEBAR,
    SIDEBAR_CREDIT,
    SITE,
    essay_html,
    essay_pdf,
)

FURNITURE = [*NAV, SIDEBAR, SIDEBAR_CREDIT, COOKIE, FOOTER, SITE, PAGE_HEADER, "Page 1 of", "Most read", "newsletter"]
QA = ROOT / "eval" / "essays_qa.jsonl"
DEEP_QUESTIONS = [
    "Who is Michael Kofman?",
    "What did Boris Johnson say about Putin's act of aggression?",
    "How close are we to nuclear war?",
]


def make_corpora(out: Path) -> dict[str, Path]:
    folders = {kind: out / kind for kind in ("txt", "html", "pdf")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for essay in sorted((ROOT / "corpus").glob("*.txt")):
        text = essay.read_text(encoding="utf-8")
        shutil.copy(essay, folders["txt"] / essay.name)
        (folders["html"] / f"{essay.stem}.html").write_text(essay_html(text), encoding="utf-8")
        essay_pdf(text, folders["pdf"] / f"{essay.stem}.pdf")
    return folders


def furniture_in(result) -> list[str]:
    return [
        f"{q.qid}: {junk!r}"
        for q in result.questions
        for quote in q.quotes
        for junk in FURNITURE
        if junk in quote["text"]
    ]


def score(folders: dict[str, Path], out: Path, embedder) -> dict[str, dict]:
    from rag.evaluation.qa import load_qa
    from rag.evaluation.runner import evaluate, qa_label
    from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, Rag, build

    rows = {}
    for kind, folder in folders.items():
        index_dir = out / "index" / kind
        build(folder, index_dir, embedder=embedder)
        rag = Rag.open(index_dir, embedder)
        items = load_qa(QA, rag.index.documents)  # every gold answer must be verbatim in the reading text
        result = evaluate(rag, items, qa_label(QA), DEFAULT_RETRIEVER, DEFAULT_K)
        rows[kind] = {
            **{m: round(v, 3) for m, v in result.metrics.items()},
            "furniture_in_quotes": furniture_in(result),
            "chars": sum(len(d.text) for d in rag.index.documents.values()),
        }
    return rows


def long_pdf(out: Path, pages: int, embedder) -> dict:
    from rag.index.library import Incoming, add_files, remove_documents
    from rag.index.load import load_index
    from rag.ingest.layout import location
    from rag.pipeline import Rag

    essay = (ROOT / "corpus" / "putin-needs-an-off-ramp.txt").read_text(encoding="utf-8")
    path = essay_pdf(essay, out / f"report-{pages}-pages.pdf", title="A Long Report", pages_at_least=pages)
    index_dir = out / "index" / "txt"
    before = load_index(index_dir).fingerprint
    files_before = json.loads((index_dir / "manifest.json").read_text())["files"]
    steps: list[str] = []
    start = time.perf_counter()
    report = add_files(
        index_dir,
        [Incoming(path.name, path)],
        embedder,
        progress=True,
        on_file=lambda n, total, name: steps.append(f"reading {name} ({n}/{total})"),
    )
    added_s = time.perf_counter() - start
    rag = Rag.open(index_dir, embedder)
    doc_id = report.added[0]
    doc = rag.index.documents[doc_id]
    cited = []
    for question in DEEP_QUESTIONS:
        answer = rag.ask(question)
        cited += [
            f"{question} → [{q.n}] {q.doc_id} {location(rag.index.documents[q.doc_id], q.start).label()}"
            for q in answer.quotes
            if q.doc_id == doc_id
        ]
    remove_documents(index_dir, [doc_id], embedder)
    after = load_index(index_dir)
    return {
        "pdf_pages": len(doc.pages),
        "pdf_bytes": path.stat().st_size,
        "chars": len(doc.text),
        "add_seconds": round(added_s, 1),
        "embedded_chunks": report.build.embedded,
        "reused_chunks": report.build.reused,
        "progress_steps": steps,
        "citations_in_the_pdf": cited,
        "fingerprint_before": before[:16],
        "fingerprint_after_remove": after.fingerprint[:16],
        "same_fingerprint": after.fingerprint == before,
        "same_files": json.loads((index_dir / "manifest.json").read_text())["files"] == files_before,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="Keep the corpora and indexes here.")
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args(argv)
    from rag.embed.auto import default_embedder

    out = args.out or Path(tempfile.mkdtemp(prefix="rag-formats-"))
    embedder = default_embedder()
    folders = make_corpora(out)
    rows = score(folders, out, embedder)
    print("corpus  hit@1  mrr@10  quote_hit  abstain_rate  verbatim_rate  furniture in quotes")
    for kind, row in rows.items():
        print(
            f"{kind:6}  {row['hit@1']:.3f}  {row['mrr@10']:.3f}   {row['quote_hit']:.3f}      "
            f"{row['abstain_rate']:.3f}         {row['verbatim_rate']:.3f}          "
            f"{len(row['furniture_in_quotes'])}"
        )
    for kind in ("html", "pdf"):
        gap = rows["txt"]["hit@1"] - rows[kind]["hit@1"]
        print(f"{kind}: hit@1 {gap:+.3f} below .txt ({'within' if gap <= 0.03 else 'NOT within'} 0.03)")
    print(json.dumps(long_pdf(out, args.pages, embedder), indent=1, ensure_ascii=False))
    print("\nThe same figures from the command line:")
    for kind in ("txt", "html", "pdf"):
        print(f"  rag index --corpus {folders[kind]} --index {out}/cli/{kind} && rag eval --index {out}/cli/{kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
