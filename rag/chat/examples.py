"""Example questions for the page's first screen, from the index's own documents.

The bundled essays have four written for them; any other document offers its
own FAQ questions (a question heading, asked as printed) or, without one,
"What is <its title> about?". At most MAX_EXAMPLES, one document after another.
"""

from __future__ import annotations

import re

from rag.types import QUESTION

MAX_EXAMPLES = 4
# (question, a word the documents must contain for it to make sense): each
# works as a first question about the bundled essays.
ESSAY_EXAMPLES = [
    ("Who is Michael Kofman?", "Kofman"),
    ("How close is the world to nuclear war?", "nuclear"),
    ("Why should the United States negotiate with Putin?", "negotiate"),
    ("Why does the author think the West needs to offer Putin an off-ramp?", "off-ramp"),
]
_LABEL = re.compile(r"^\s*(Q[:.]|Question:|\(?\d{1,3}[.)]|\d+(\.\d+)+\.?)\s*", re.I)
MAX_CHARS = 90


def _asked(doc) -> list[str]:
    """A document's FAQ questions, without their labels ("Q:", "(3)", "5.6")."""
    out = []
    for block in doc.blocks:
        if block.kind == QUESTION:
            text = _LABEL.sub("", doc.text[block.start : block.end]).strip()
            if 12 <= len(text) <= MAX_CHARS:
                out.append(text)
    return out


def example_questions(documents) -> list[str]:
    texts = [d.text for d in documents.values()]
    chosen = [q for q, needs in ESSAY_EXAMPLES if any(needs in t for t in texts)]
    others = [d for d in documents.values() if not any(needs in d.text for _, needs in ESSAY_EXAMPLES)]
    pools = [_asked(d)[:2] or ([f"What is {d.title} about?"] if d.title and len(d.title) <= 60 else []) for d in others]
    round_ = 0
    while len(chosen) < MAX_EXAMPLES and any(round_ < len(p) for p in pools):
        chosen += [p[round_] for p in pools if round_ < len(p)][: MAX_EXAMPLES - len(chosen)]
        round_ += 1
    return chosen[:MAX_EXAMPLES]
