"""The conversation as HTML, and an answer as plain text for the clipboard.

Corpus and user text is never trusted: every piece of it goes through
``escape`` (HTML entities, quotes included, so it is safe in attributes
too), and nothing is rendered as Markdown. Only the tags written here are
raw. Plain strings in, plain strings out: nothing here imports gradio.

A quotation is shown between one pair of outer marks of the page's own
(``rag-qm``, drawn apart from the text), and the text between them is
exactly ``document.text[start:end]``, inner quotation marks included.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Mapping, Sequence

from rag.answer import followup
from rag.ingest.layout import describe, paragraph_starts
from rag.text import without_bidi_controls
from rag.types import Answer, Document, Hit, Quote, Rewrite

SNIPPET_CHARS = 160
RELATED_SHOWN = 3


def escape(text: object) -> str:
    """Text as HTML that shows exactly that text, in content or in a quoted attribute.

    A carriage return becomes a character reference: the HTML parser would
    otherwise turn it into a line feed, and a copied quotation would differ.
    Bidirectional controls (U+202E and its kin) become U+FFFD, as in the CLI:
    a browser obeys them, so a document could show its words in another
    order than the one quoted, or reorder the page's own text after them.
    """
    return html.escape(without_bidi_controls(str(text)), quote=True).replace("\r", "&#13;")


def cite_key(turn_id: int, kind: str, n: int | str | None) -> str:
    """A citation's address on the page: turn, "q" (quotation), "p" (passage) or "c" (card), number."""
    return f"{turn_id}-{kind}-{n}"


@lru_cache(maxsize=64)
def _starts(doc_id: str, sha256: str, text: str) -> tuple[int, ...]:
    return tuple(paragraph_starts(text))


def place(doc: Document | None, start: int, end: int | None = None) -> str:
    """Where a span is, for people: "¶ 12", "¶ 12–13", "p. 2, ¶ 5", with the
    section it is in (rag.ingest.layout.describe)."""
    if doc is None:
        return ""
    return describe(doc, start, end, list(_starts(doc.doc_id, doc.sha256, doc.text)))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


# ----------------------------------------------------------------- plain text


def copy_text(answer: Answer, documents: Mapping[str, Document]) -> str:
    """The answer for the clipboard: each quotation exactly as in its document,
    then a line with the document's title and where the quotation is."""
    return "\n\n".join(
        f"{q.text}\n— {q.title}, {place(documents.get(q.doc_id), q.start, q.end)}"
        for q in ordered_quotes(answer, documents)
    )


def ordered_quotes(answer: Answer, documents: Mapping[str, Document]) -> list[Quote]:
    """Quotations in the order shown: best first, or, for a broad answer, by document in corpus order."""
    if answer.form != "broad":
        return list(answer.quotes)
    order = {d: i for i, d in enumerate(documents)}
    return sorted(answer.quotes, key=lambda q: (order.get(q.doc_id, len(order)), q.start))


# ---------------------------------------------------------------- the answer


def explain(rewrite: Rewrite | None, titles: Mapping[str, str]) -> str:
    """What was searched for a follow-up, and why, in plain words ("" for a standalone question)."""
    if rewrite is None or not rewrite.followup:
        return ""
    reasons = set(rewrite.reasons)
    parts: list[str] = []
    if rewrite.speaker and followup.PRONOUN in reasons:
        pronoun = next((w for w in followup.words(rewrite.question) if w.lower() in followup.PERSONAL), "he")
        parts.append(f"“{pronoun}” read as {rewrite.speaker}, from your previous question.")
    if followup.OTHER in reasons and rewrite.doc_ids:
        names = " and ".join(f"“{titles.get(d, d)}”" for d in rewrite.doc_ids)
        parts.append(f"You asked about the other document, so only {names} was searched.")
    if rewrite.after is not None:
        title = titles.get(rewrite.after.doc_id, rewrite.after.doc_id)
        whose = "in reading order"
        if rewrite.speaker:
            said = next((w for w in followup.words(rewrite.question) if w.lower() in followup.PERSONAL), "")
            whose = f"for the next words of {rewrite.speaker}" + (f" (“{said}”)" if said else "")
        # What was searched only ranks the related passages: the answer is what follows.
        return f"Reading on in “{title}” after quotation [1] of the previous answer, {whose}."
    if rewrite.context and not parts:
        parts.append("Your question leans on the previous one, so that one’s topic was added.")
    parts.append(f"Searched for “{rewrite.query}”.")
    return " ".join(parts)


def _quote_html(q: Quote, turn_id: int, doc: Document | None) -> str:
    where = f"{q.title}, {place(doc, q.start, q.end)}"
    # The closing mark and the number on one line.
    end = (
        f'<span class="rag-end"><span class="rag-qm" aria-hidden="true">”</span>&#160;'
        f'<button type="button" class="rag-cite" data-cite="{cite_key(turn_id, "q", q.n)}" '
        f'title="Show in {escape(where)}" aria-label="[{q.n}] show in {escape(where)}">[{q.n}]</button></span>'
    )
    return (
        f'<blockquote class="rag-quote" data-n="{q.n}"><span class="rag-qm" aria-hidden="true">“</span>'
        f'<span class="rag-qt">{escape(q.text)}</span>{end}</blockquote>'
    )


def _quotes_html(answer: Answer, turn_id: int, documents: Mapping[str, Document]) -> list[str]:
    quotes = ordered_quotes(answer, documents)
    if answer.form != "broad":
        return [_quote_html(q, turn_id, documents.get(q.doc_id)) for q in quotes]
    blocks: list[str] = []
    current = None
    for q in quotes:
        if q.doc_id != current:
            if current is not None:
                blocks.append("</section>")
            current = q.doc_id
            blocks.append(
                f'<section class="rag-group" data-doc="{escape(q.doc_id)}">'
                f'<h4 class="rag-group-title">{escape(q.title)}</h4>'
            )
        blocks.append(_quote_html(q, turn_id, documents.get(q.doc_id)))
    if current is not None:
        blocks.append("</section>")
    return blocks


def _sources_line(answer: Answer, turn_id: int, documents: Mapping[str, Document]) -> str:
    """Where each quotation is, grouped by document: "Title: [1] ¶ 15, [2] ¶ 16"."""
    by_doc: dict[str, list[Quote]] = {}
    for q in ordered_quotes(answer, documents):
        by_doc.setdefault(q.doc_id, []).append(q)
    groups = []
    for quotes in by_doc.values():
        buttons = ", ".join(
            f'<button type="button" class="rag-src" data-cite="{cite_key(turn_id, "q", q.n)}">[{q.n}]&#160;'
            f"{escape(place(documents.get(q.doc_id), q.start, q.end))}</button>"
            for q in quotes
        )
        groups.append(f'<span class="rag-srcdoc">{escape(quotes[0].title)}:</span> {buttons}')
    return f'<div class="rag-srcline"><span class="rag-label">Sources:</span> {" · ".join(groups)}</div>'


def _related_html(answer: Answer, turn_id: int, documents: Mapping[str, Document]) -> str:
    if not answer.passages:
        return ""
    items = "".join(
        f'<li><button type="button" class="rag-src" data-cite="{cite_key(turn_id, "p", h.rank)}">'
        f"{escape(h.title)}, {escape(place(documents.get(h.chunk.doc_id), h.chunk.start, h.chunk.end))}</button> "
        f'<span class="rag-snip">{escape(snippet(h.chunk.text))}</span></li>'
        for h in answer.passages[:RELATED_SHOWN]
    )
    return (
        f'<div class="rag-related"><div class="rag-label">Related passages, for a look yourself '
        f"(not an answer):</div><ul>{items}</ul></div>"
    )


def _caution_html(answer: Answer) -> str:
    return f'<div class="rag-caution" role="note">{escape(answer.caution)}</div>'


def answer_html(
    answer: Answer,
    turn_id: int,
    documents: Mapping[str, Document],
    rewrite: Rewrite | None = None,
    titles: Mapping[str, str] | None = None,
) -> str:
    """A finished answer: what was searched (for a follow-up), the quotations, their sources, copy."""
    titles = titles if titles is not None else {d: doc.title for d, doc in documents.items()}
    parts: list[str] = []
    why = explain(rewrite, titles)
    if why:
        parts.append(f'<div class="rag-searched">{escape(why)}</div>')
    # Notes (what cleaning did to the question, caveats) come after the answer's
    # own first lines, so that the answer is what is read first.
    notes = [f'<div class="rag-note">{escape(n[:1].upper() + n[1:])}.</div>' for n in answer.notes]
    if answer.abstained or not answer.quotes:
        parts.append(f'<p class="rag-abstain">{escape(answer.text)}</p>')
        parts += notes
        parts.append(_related_html(answer, turn_id, documents))
    else:
        if answer.caution:
            parts.append(_caution_html(answer))
        parts += _quotes_html(answer, turn_id, documents)
        parts.append(_sources_line(answer, turn_id, documents))
        parts += notes
        parts.append(
            f'<div class="rag-tools"><button type="button" class="rag-copy" '
            f'data-copy="{escape(copy_text(answer, documents))}">Copy quotations</button></div>'
        )
    return f'<div class="rag-a" data-turn="{turn_id}">{"".join(parts)}</div>'


def turn_html(turn_id: int, question: str, body: str, pending: bool = False, fresh: bool = False) -> str:
    """One question and its answer. ``fresh``: the answer just arrived, and the page reveals it
    piece by piece (the browser does that; the server sends the whole answer at once)."""
    state = " rag-pending" if pending else " rag-fresh" if fresh else ""
    return (
        f'<section class="rag-turn{state}" data-turn="{turn_id}">'
        f'<div class="rag-q"><span class="rag-you">You asked</span> {escape(question)}</div>{body}</section>'
    )


def pending_html(turn_id: int, question: str, why: str = "") -> str:
    """A question still being answered: no citations, no copy button yet."""
    note = f'<div class="rag-searched">{escape(why)}</div>' if why else ""
    body = '<p class="rag-wait" role="status">Searching the documents…</p>'
    return turn_html(turn_id, question, f'<div class="rag-a rag-partial">{note}{body}</div>', pending=True)


def conversation_html(turns: Sequence[str], pending: str = "") -> str:
    """The whole conversation from already rendered turns."""
    if not turns and not pending:
        return (
            '<div class="rag-empty-chat">Ask a question about the documents, or try an example below. '
            "Every answer is quoted word for word, with a number to click for its source.</div>"
        )
    return f'<div class="rag-conv">{"".join(turns)}{pending}</div>'


def related_hit(answer: Answer, rank: int) -> Hit | None:
    return next((h for h in answer.passages if h.rank == rank), None)
