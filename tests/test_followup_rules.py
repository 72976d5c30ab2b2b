"""The follow-up rules as a table: standalone questions are never rewritten,
follow-ups always are, and a standalone question asked after an unrelated
turn keeps its top passage. `scripts/followup_table.py` prints the numbers."""

from __future__ import annotations

import pytest

from tests.followup_table import FOLLOWUPS, PRIORS, STANDALONE, gold_items, rewrite_shares, rewritten


def test_the_rewritten_share_each_way(essays_index):
    standalone_gold, standalone_hand, followups = rewrite_shares(essays_index.documents)
    assert standalone_gold.n >= 3 * 120 and standalone_gold.hits == 0, standalone_gold
    assert standalone_hand.hits == 0, [
        (p, q) for q in STANDALONE for p in PRIORS if rewritten(q, [p], essays_index.documents)
    ]
    assert followups.hits == followups.n == len(FOLLOWUPS), [
        (h, q) for h, q in FOLLOWUPS if not rewritten(q, h, essays_index.documents)
    ]


@pytest.mark.slow
def test_standalone_questions_keep_their_top_passage_after_an_unrelated_turn(essays_rag):
    """Asked after an unrelated turn, each gold question gets the same passages as when asked first."""
    from rag.answer.followup import turn_from_answer

    memory = [turn_from_answer(essays_rag.ask_in_conversation(PRIORS[0]))]
    changed = []
    for item in gold_items(essays_rag.index.documents):
        first = essays_rag.ask_in_conversation(item.question)
        after = essays_rag.ask_in_conversation(item.question, memory)
        if [h.chunk.chunk_id for h in first.passages] != [h.chunk.chunk_id for h in after.passages]:
            changed.append(item.question)
    assert changed == []
