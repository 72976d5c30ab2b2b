"""Measure each question-form rule (rag.retrieval.question_form.RULES) on
held-out questions: with it, and without it, question by question.

    .venv/bin/python eval/rules_ablation.py > eval/reports/current/rules.md

A question passes when its first passage is relevant, a quotation hits a gold
span and, for gold answers in several documents, each of those documents is
quoted on a gold span (answerable), or when it abstains (out of scope). A rule
stays only if it wins at least two questions net on held-out data
(eval/holdout_qa.jsonl, eval/parts/, eval/heldout_defs/) and breaks nothing on the non-essay corpus
(eval/other/). Indexes are built in a temporary folder with the default model.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed.auto import default_embedder  # noqa: E402
from rag.evaluation.qa import load_qa  # noqa: E402
from rag.evaluation.runner import evaluate  # noqa: E402
from rag.index.build import build_index  # noqa: E402
from rag.ingest.corpus import load_corpus  # noqa: E402
from rag.pipeline import Rag  # noqa: E402
from rag.retrieval.question_form import RULES  # noqa: E402

SETS = (
    ("essays", "corpus", "eval/holdout_qa.jsonl"),
    ("essays", "corpus", "eval/parts/parts_essays_qa.jsonl"),
    ("other", "eval/other/corpus", "eval/other/other_qa.jsonl"),
    ("other", "eval/other/corpus", "eval/parts/parts_other_qa.jsonl"),
    ("heldout_defs", "eval/heldout_defs/corpus", "eval/heldout_defs/heldout_defs_qa.jsonl"),
)


def outcomes(rag: Rag, items) -> dict[str, bool]:
    result = evaluate(rag, items, "ablation", "fusion", 5)
    out = {}
    for q in result.questions:
        ok = (q.first_relevant_rank == 1 and bool(q.quote_hit)) if q.answerable else q.abstained
        out[q.qid] = ok and q.each_doc_hit is not False
    return out


def main() -> None:
    embedder = default_embedder()
    print(f"# Question-form rules, measured on held-out questions ({embedder.name})\n")
    print("Net = questions won minus questions lost by the rule (its presence against its absence).\n")
    print("| rule | " + " | ".join(Path(s[2]).name for s in SETS) + " |")
    print("|---|" + "---|" * len(SETS))
    with tempfile.TemporaryDirectory(prefix="rag-rules-") as tmp:
        rags = {}
        for name, corpus, _ in SETS:
            if name not in rags:
                index, _ = build_index(load_corpus(ROOT / corpus), Path(tmp) / name, embedder)
                rags[name] = Rag(index, embedder)
        base = {}
        for name, _, qa in SETS:
            base[qa] = outcomes(rags[name], load_qa(ROOT / qa, rags[name].index.documents))
        for rule in sorted(RULES):
            cells = []
            for name, _, qa in SETS:
                rag = Rag(rags[name].index, embedder, rules=RULES - {rule})
                rag._retrievers = rags[name]._retrievers  # the same scorer and its cached evidence
                without = outcomes(rag, load_qa(ROOT / qa, rag.index.documents))
                wins = sum(base[qa][q] and not without[q] for q in without)
                losses = sum(without[q] and not base[qa][q] for q in without)
                cells.append(f"{wins - losses:+d} ({wins} won, {losses} lost)")
            print(f"| {rule} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
