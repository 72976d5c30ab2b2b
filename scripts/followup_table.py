"""Print the follow-up rules' table: which questions are rewritten, each way,
and the relevant top-1 share of standalone questions asked first and after
an unrelated turn (gold spans from eval/dev_qa.jsonl and eval/check_qa.jsonl).

    .venv/bin/python scripts/followup_table.py

Needs the index (`rag index`). Takes a few minutes (each gold question is
answered four times).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.followup_table import rewrite_shares, top1_shares  # noqa: E402


def main() -> None:
    from rag.pipeline import Rag

    rag = Rag.open()
    print("| questions | n | rewritten | share |\n|---|---|---|---|")
    for share in rewrite_shares(rag.index.documents):
        print(share.row())
    print("\n| standalone gold questions | n | relevant top-1 | share |\n|---|---|---|---|")
    for share in top1_shares(rag):
        print(share.row())


if __name__ == "__main__":
    main()
