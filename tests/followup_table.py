"""The follow-up rules measured: which questions are rewritten, and whether a
standalone question asked after an unrelated turn keeps its top passage.

Shared by tests/test_followup_rules.py and scripts/followup_table.py (which
prints the table). Standalone questions with gold spans come from
eval/dev_qa.jsonl and eval/check_qa.jsonl (never the held-out blind set).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD_SETS = ("eval/dev_qa.jsonl", "eval/check_qa.jsonl")

# Unrelated turns asked before each standalone question: one per essay, and
# one the essays do not answer (the "tanks" turn).
PRIORS = (
    "Who is Michael Kofman?",
    "Why should the United States negotiate with Putin?",
    "How many tanks did Russia lose in 2023?",
)

# Standalone questions that look like replies, written for these rules: a
# full question with a subject of its own is searched as written.
STANDALONE = (
    "Why does the author think the West needs to offer Putin an off-ramp?",
    "Why might going back to how things were before the invasion no longer be feasible?",
    "And why does the author say Putin might escalate the war?",
    "What might come next if Putin's regime falls?",
    "What more could the West do to help Ukraine?",
    "Will Russia continue to fight in Ukraine?",
    "What should the next step be for the West?",
    "How serious is the danger that the war turns nuclear?",
    "Whose call should it be to decide what price to pay for peace?",
    "What is the second essay's main argument?",
    "Is it true that the world is closer to nuclear war than in 1962?",
    "What did Kofman say about Putin's regime?",
    "How does the author describe Putin's regime?",
    "In what way is Moscow being squeezed economically?",
    "What examples does the author give of authoritarian regimes that survived?",
    "Tell me about the Cuban missile crisis comparison.",
)

# (earlier questions, follow-up): each cannot stand alone.
KOFMAN = ("Who is Michael Kofman?",)
NEGOTIATE = ("Why should the United States negotiate with Putin?",)
FOLLOWUPS = (
    (KOFMAN, "What did he say?"),
    (KOFMAN, "What did he say next?"),
    (KOFMAN, "Why?"),
    (KOFMAN, "How so?"),
    (KOFMAN, "What was his warning?"),
    (KOFMAN, "Where does he work?"),
    (KOFMAN, "Who is he?"),
    (KOFMAN, "And the other essay?"),
    (KOFMAN, "What does the other essay say about him?"),
    (KOFMAN, "Tell me more"),
    (KOFMAN, "What else did he say?"),
    (KOFMAN, "Go on"),
    (KOFMAN, "Is that true?"),
    (KOFMAN, "What does this mean?"),
    (KOFMAN, "Really?"),
    (KOFMAN, "What about Putin?"),
    (KOFMAN, "And Zelensky?"),
    (KOFMAN, "But why?"),
    (KOFMAN, "Who said that?"),
    (KOFMAN, "What happens next?"),
    (KOFMAN, "What did Kofman say next?"),
    (KOFMAN, "What did she say?"),
    (KOFMAN + ("What did he say?",), "Why?"),
    (NEGOTIATE, "Why?"),
    (NEGOTIATE, "What about sanctions?"),
    (NEGOTIATE, "And the other essay?"),
    (NEGOTIATE, "How?"),
    (NEGOTIATE, "Who says so?"),
    (NEGOTIATE, "What does the other article say about sanctions relief?"),
    (NEGOTIATE, "Why is that?"),
    (NEGOTIATE, "Anything else?"),
    (NEGOTIATE, "What comes next?"),
)


def gold_items(documents):
    from rag.evaluation.qa import load_qa

    items = []
    for name in GOLD_SETS:
        items += [i for i in load_qa(ROOT / name, documents) if i.answerable]
    return items


def rewritten(question: str, history, documents) -> bool:
    from rag.answer.followup import rewrite

    return rewrite(question, list(history), documents).followup


@dataclass(frozen=True)
class Share:
    label: str
    n: int
    hits: int

    @property
    def share(self) -> float:
        return self.hits / self.n if self.n else 0.0

    def row(self) -> str:
        return f"| {self.label} | {self.n} | {self.hits} | {self.share:.3f} |"


def rewrite_shares(documents) -> list[Share]:
    """How many questions of each kind the rules rewrite, each way."""
    gold = [i.question for i in gold_items(documents)]
    after_prior = sum(rewritten(q, [p], documents) for q in gold for p in PRIORS)
    hand = sum(rewritten(q, [p], documents) for q in STANDALONE for p in PRIORS)
    follow = sum(rewritten(q, h, documents) for h, q in FOLLOWUPS)
    return [
        Share("standalone, eval/dev + eval/check, after each unrelated turn", len(gold) * len(PRIORS), after_prior),
        Share("standalone that look like replies, after each unrelated turn", len(STANDALONE) * len(PRIORS), hand),
        Share("follow-ups", len(FOLLOWUPS), follow),
    ]


def _relevant_top(answer, item) -> bool:
    from rag.evaluation.metrics import covers
    from rag.evaluation.qa import Span

    if not answer.passages:
        return False
    c = answer.passages[0].chunk
    top = Span(c.doc_id, c.start, c.end)
    return any(covers(top, g) for places in item.gold for g in places)


def top1_shares(rag) -> list[Share]:
    """Relevant top-1 share of the gold questions asked first, and after each unrelated turn."""
    from rag.answer.followup import turn_from_answer

    items = gold_items(rag.index.documents)
    shares = [
        Share("asked first", len(items), sum(_relevant_top(rag.ask_in_conversation(i.question), i) for i in items))
    ]
    for prior in PRIORS:
        memory = [turn_from_answer(rag.ask_in_conversation(prior))]
        hits = sum(_relevant_top(rag.ask_in_conversation(i.question, memory), i) for i in items)
        shares.append(Share(f"after “{prior}”", len(items), hits))
    return shares
