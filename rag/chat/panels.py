"""The page's side panels as HTML: an answer's sources, the document viewer,
the list of documents and the retrieval inspector.

Same rule as ``rag.chat.render``: every piece of corpus or user text goes
through ``escape``; only the tags written here are raw.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from rag.chat.render import cite_key, escape, ordered_quotes, place, related_hit, snippet
from rag.types import Answer, Document, Hit, Quote

CONTEXT_CHARS = 240  # around a quotation that no retrieved passage holds

BACK = '<button type="button" class="rag-back" data-close>← Back to the answer</button>'


def _panel(key: str, turn_id: int | str, mode: str, head: str, body: str) -> str:
    return (
        f'<div class="rag-panel" data-key="{escape(key)}" data-turn="{escape(turn_id)}" data-mode="{mode}">'
        f'<div class="rag-panel-head">{BACK}{head}</div>{body}</div>'
    )


def empty_panel() -> str:
    return _panel(
        "",
        "",
        "empty",
        "",
        '<div class="rag-empty">The sources of each answer appear here. Click a '
        "number such as [1] in an answer to read that passage in its document.</div>",
    )


def waiting_panel() -> str:
    return _panel("", "", "empty", "", '<div class="rag-empty">Looking for passages…</div>')


# -------------------------------------------------------------- source cards


def _window(q: Quote, passages: Sequence[Hit], doc: Document) -> tuple[int, int]:
    for h in passages:
        c = h.chunk
        if c.doc_id == q.doc_id and c.start <= q.start and q.end <= c.end:
            return c.start, c.end
    return max(0, q.start - CONTEXT_CHARS), min(len(doc.text), q.end + CONTEXT_CHARS)


def source_windows(answer: Answer, documents: Mapping[str, Document]) -> list[tuple[str, int, int, list[Quote]]]:
    """One window of text per passage, overlapping windows merged, each with the quotations inside it.

    Three quotations from one passage make one card, not three copies of it.
    """
    windows: list[list] = []
    for q in ordered_quotes(answer, documents):
        doc = documents.get(q.doc_id)
        if doc is None:
            continue
        lo, hi = _window(q, answer.passages, doc)
        for w in windows:
            if w[0] == q.doc_id and lo < w[2] and w[1] < hi:
                w[1], w[2] = min(w[1], lo), max(w[2], hi)
                w[3].append(q)
                break
        else:
            windows.append([q.doc_id, lo, hi, [q]])
    merged: list[list] = []
    for w in windows:  # a window that grew may now overlap one listed before it
        same = next((m for m in merged if m[0] == w[0] and w[1] < m[2] and m[1] < w[2]), None)
        if same:
            same[1], same[2] = min(same[1], w[1]), max(same[2], w[2])
            same[3].extend(w[3])
        else:
            merged.append(w)
    return [(d, lo, hi, sorted(qs, key=lambda q: q.start)) for d, lo, hi, qs in merged]


def marked(
    doc: Document,
    lo: int,
    hi: int,
    quotes: Sequence[Quote],
    turn_id: int,
    current: int | None = None,
    span: tuple[int, int] | None = None,
) -> str:
    """``doc.text[lo:hi]`` as HTML, each quotation inside it marked and numbered;
    ``span`` (a passage, not a quotation) marked in a lighter colour."""
    text = doc.text
    out: list[str] = ["…" if lo > 0 else ""]
    at = lo
    inside = sorted(
        (q for q in quotes if q.doc_id == doc.doc_id and lo <= q.start and q.end <= hi), key=lambda q: q.start
    )
    marks: list[tuple[int, int, Quote | None]] = [(q.start, q.end, q) for q in inside]
    if span is not None and not marks:
        marks = [(span[0], span[1], None)]
    for start, end, q in marks:
        if start < at:
            continue  # overlapping quotations: the first one keeps the mark
        out.append(escape(text[at:start]))
        if q is None:
            out.append(f'<mark class="rag-passage-mark rag-current">{escape(text[start:end])}</mark>')
        else:
            cur = " rag-current" if q.n == current else ""
            out.append(
                f'<sup class="rag-n">[{q.n}]</sup><mark class="rag-m{cur}" data-n="{q.n}" '
                f'data-cite="{cite_key(turn_id, "q", q.n)}">{escape(text[start:end])}</mark>'
            )
        at = end
    out.append(escape(text[at:hi]))
    out.append("…" if hi < len(text) else "")
    return "".join(out)


def sources_panel(answer: Answer | None, turn_id: int, question: str, documents: Mapping[str, Document]) -> str:
    """The cards for one answer: one per passage, all its quoted spans marked and numbered."""
    if answer is None:
        return empty_panel()
    head = (
        f'<div class="rag-panel-title"><b>Sources of answer {turn_id}</b> '
        f'<span class="rag-asked">“{escape(snippet(question, 90))}”</span></div>'
    )
    key = cite_key(turn_id, "s", 0)
    if answer.abstained or not answer.quotes:
        related = "".join(
            _card(
                cite_key(turn_id, "p", h.rank),
                "",
                h.title,
                place(documents.get(h.chunk.doc_id), h.chunk.start, h.chunk.end),
                escape(h.chunk.text),
            )
            for h in answer.passages
            if documents.get(h.chunk.doc_id) is not None
        )
        note = '<div class="rag-note">No answer; the passages that came closest, for a look yourself:</div>'
        return _panel(key, turn_id, "sources", head, note + related)
    cards = []
    for doc_id, lo, hi, quotes in source_windows(answer, documents):
        doc = documents[doc_id]
        nums = " ".join(f"[{q.n}]" for q in quotes)
        cards.append(
            _card(
                cite_key(turn_id, "q", quotes[0].n),
                nums,
                doc.title,
                place(doc, lo, hi),
                marked(doc, lo, hi, quotes, turn_id),
            )
        )
    return _panel(key, turn_id, "sources", head, "".join(cards))


def _card(key: str, nums: str, title: str, where: str, body_html: str) -> str:
    return (
        f'<div class="rag-card" data-cite="{escape(key)}" role="button" tabindex="0" '
        f'title="Read it in the whole document">'
        f'<div class="rag-card-head"><span class="rag-nums">{escape(nums)}</span> '
        f'<b class="rag-title">{escape(title)}</b> <span class="rag-loc">{escape(where)}</span></div>'
        f'<div class="rag-passage">{body_html}</div></div>'
    )


# ------------------------------------------------------------ the document


def document_panel(
    doc: Document | None,
    answer: Answer | None = None,
    turn_id: int | None = None,
    quote_n: int | None = None,
    passage_rank: int | None = None,
) -> str:
    """A whole document; with an answer, all its quotations in that document marked,
    the clicked one (or the clicked related passage) current."""
    if doc is None:
        return empty_panel()
    where, span, quotes = "", None, []
    if answer is not None and turn_id is not None:
        quotes = [q for q in answer.quotes if q.doc_id == doc.doc_id]
        q = next((q for q in quotes if q.n == quote_n), None)
        hit = related_hit(answer, passage_rank) if passage_rank is not None else None
        if q is not None:
            where = f"[{q.n}] {place(doc, q.start, q.end)}"
        elif hit is not None and hit.chunk.doc_id == doc.doc_id:
            span = (hit.chunk.start, hit.chunk.end)
            where = f"related passage, {place(doc, *span)}"
            quotes = []
        key = cite_key(turn_id, "q", quote_n) if q is not None else cite_key(turn_id, "p", passage_rank)
        back = (
            f'<button type="button" class="rag-allsrc" data-cite="{cite_key(turn_id, "s", 0)}">'
            f"← All sources of answer {turn_id}</button>"
        )
    else:
        key, back = f"doc-{doc.doc_id}", ""
    head = (
        f'{back}<div class="rag-panel-title"><b>{escape(doc.title)}</b> '
        f'<span class="rag-loc">{escape(where)}</span></div>'
    )
    body = marked(doc, 0, len(doc.text), quotes, turn_id or 0, quote_n, span)
    return _panel(
        key,
        turn_id if turn_id is not None else "",
        "doc",
        head,
        # Focusable, so that the keyboard scrolls it (arrows, Page Down).
        f'<div class="rag-doc" data-doc="{escape(doc.doc_id)}" tabindex="0" role="region" '
        f'aria-label="{escape(doc.title)}: the whole text">{body}</div>',
    )


# ----------------------------------------------------------- documents, inspector


def documents_html(documents: Mapping[str, Document], chunks_per_doc: Mapping[str, int]) -> str:
    """The indexed documents; clicking one opens it in the viewer."""
    items = "".join(
        f'<li><button type="button" class="rag-docbtn" data-cite="doc-{escape(d.doc_id)}">{escape(d.title)}</button> '
        f'<span class="rag-meta">{_size(d, chunks_per_doc.get(d.doc_id, 0))}</span></li>'
        for d in documents.values()
    )
    n = len(documents)
    return (
        f'<div class="rag-doclist"><div class="rag-label">Answers come only from {"this" if n == 1 else "these"} '
        f"{n} document{'' if n == 1 else 's'}:</div><ul>{items}</ul></div>"
    )


def _size(doc: Document, chunks: int) -> str:
    paragraphs = place(doc, max(0, len(doc.text) - 1)).split("¶ ")[-1]
    pages = f"{len(doc.pages)} pages, " if doc.pages else ""
    return f"({pages}{paragraphs} paragraphs, {chunks} passages)"


def _overlaps(hit: Hit, quotes: Sequence[Quote]) -> bool:
    c = hit.chunk
    return any(q.doc_id == c.doc_id and q.start < c.end and c.start < q.end for q in quotes)


def inspector_html(
    rankings: Mapping[str, Sequence[Hit]],
    answer: Answer | None,
    used: str,
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """Each retriever's ranking side by side; the passages the answer quoted are flagged.

    Character offsets stay here (and in the JSON), for whoever checks the retrieval."""
    if not rankings or answer is None:
        return '<div class="rag-empty">Ask a question to see how each way of searching ranked the passages.</div>'
    descriptions = descriptions or {}
    names = list(rankings)
    depth = max((len(v) for v in rankings.values()), default=0)
    head = "".join(
        f"<th>{escape(n)}{' (used)' if n == used else ''}"
        f'<div class="rag-desc">{escape(descriptions.get(n, ""))}</div></th>'
        for n in names
    )
    rows = []
    for i in range(depth):
        cells = []
        for n in names:
            hits = rankings[n]
            if i >= len(hits):
                cells.append("<td></td>")
                continue
            h = hits[i]
            quoted = _overlaps(h, answer.quotes)
            badge = '<span class="rag-quoted">quoted</span> ' if quoted else ""
            cells.append(
                f'<td class="{"rag-hit-quoted" if quoted else ""}">{badge}<b>{escape(h.title)}</b> '
                f'<span class="rag-span">{h.chunk.start}–{h.chunk.end} · score {h.score:.4f}</span>'
                f'<div class="rag-snip">{escape(snippet(h.chunk.text, 110))}</div></td>'
            )
        rows.append(f"<tr><th>{i + 1}</th>{''.join(cells)}</tr>")
    return (
        f'<div class="rag-inspector"><div class="rag-note">Searched for: '
        f"<q>{escape(answer.query or answer.question)}</q>"
        f'</div><div class="rag-table-wrap"><table><colgroup><col class="rag-rank-col">'
        f"{'<col>' * len(names)}</colgroup><thead><tr><th>rank</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div></div>"
    )
