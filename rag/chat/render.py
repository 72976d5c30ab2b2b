"""Answers, sources and rankings as Markdown and HTML for the chat page.

Corpus and user text is never trusted: the chat renders Markdown and HTML, so
a quotation is escaped for both before it is shown, and every piece of text
put into HTML goes through ``html.escape``. Only the tags written here are
raw. Plain strings in, plain strings out: nothing here imports gradio.
"""

from __future__ import annotations

import html
import re
from typing import Iterator, Mapping, Sequence

from rag.types import Rewrite
from rag.types import Answer, Document, Hit, Quote

# Always-special Markdown characters (emphasis, code, links, tables,
# strikethrough, braces some renderers treat as attributes).
_ALWAYS = frozenset("\\`*_[]|~{}")
# Characters that start a block (heading, list, setext underline) only at the
# start of a line; escaped there and nowhere else, to keep copies readable.
_LINE_START = frozenset("#+-=")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")

SNIPPET_CHARS = 160
CONTEXT_CHARS = 240


def escape_markdown(text: str) -> str:
    """``text`` as Markdown+HTML that a renderer shows exactly as written.

    HTML specials become entities (which Markdown also leaves alone); Markdown
    punctuation gets a backslash where it could mean something; indentation
    becomes entities so it cannot start a code block; GFM autolinks (``http://``,
    ``www.``, e-mail) are broken with a backslash. Newlines stay newlines.
    """
    return "\n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str) -> str:
    body = line.lstrip(" \t")
    lead = "".join("&#32;" if c == " " else "&#9;" for c in line[: len(line) - len(body)])
    out: list[str] = []
    for i, c in enumerate(body):
        if c == "&":
            out.append("&amp;")
        elif c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif c in _ALWAYS or c == "@":
            out.append("\\" + c)
        elif c == ":" and body.startswith("//", i + 1):
            out.append("\\:")
        elif c == "." and body[max(0, i - 3) : i].lower() == "www":
            out.append("\\.")
        elif c == "\r":  # a bare CR would end the line for the renderer
            out.append("&#13;")
        else:
            out.append(c)
    escaped = "".join(out)
    if escaped[:1] in _LINE_START:
        escaped = "\\" + escaped
    else:
        escaped = _ORDERED.sub(r"\1\\\2", escaped, count=1)
    return lead + escaped


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def cite_key(turn_id: int, kind: str, n: int) -> str:
    """A citation's address on the page: turn, "q" (quotation) or "p" (passage), number."""
    return f"{turn_id}-{kind}-{n}"


# ------------------------------------------------------------------ the chat


def answer_blocks(answer: Answer, turn_id: int) -> list[str]:
    """The answer's Markdown, one block per paragraph, for streaming block by block."""
    if answer.abstained:
        blocks = [f"**Not in the essays.** {escape_markdown(answer.text)}"]
        if answer.passages:
            blocks.append("Related passages, for a look yourself (not an answer):")
            for h in answer.passages[:3]:
                key = cite_key(turn_id, "p", h.rank)
                blocks.append(f"- [{h.rank}](#cite-{key}) {escape_markdown(h.title)}: {escape_markdown(snippet(h.chunk.text))}")
        return blocks
    blocks = [f"“{escape_markdown(q.text)}” [\\[{q.n}\\]](#cite-{cite_key(turn_id, 'q', q.n)})" for q in answer.quotes]
    sources = " · ".join(
        f"\\[{q.n}\\] {escape_markdown(q.title)}, characters {q.start}–{q.end}" for q in answer.quotes
    )
    blocks.append(f"Sources: {sources}" if sources else "")
    return [b for b in blocks if b]


def answer_markdown(answer: Answer, turn_id: int) -> str:
    return "\n\n".join(answer_blocks(answer, turn_id))


def stream_markdown(answer: Answer, turn_id: int, steps_per_block: int = 4) -> Iterator[str]:
    """Growing prefixes of the answer's Markdown, ending with the whole of it.

    A quotation is revealed at word boundaries of its *source* text and each
    prefix is escaped again, so a partial message never shows a half escape.
    """
    done: list[str] = []
    if answer.abstained or not answer.quotes:
        for block in answer_blocks(answer, turn_id):
            done.append(block)
            yield "\n\n".join(done)
        return
    for q in answer.quotes:
        cuts = _word_cuts(q.text, steps_per_block)
        for cut in cuts[:-1]:
            yield "\n\n".join([*done, f"“{escape_markdown(q.text[:cut])}…"])
        done.append(answer_blocks(answer, turn_id)[len(done)])
    yield answer_markdown(answer, turn_id)


def _word_cuts(text: str, steps: int) -> list[int]:
    spaces = [m.start() for m in re.finditer(r"\s+", text)]
    if not spaces or steps <= 1:
        return [len(text)]
    picks = sorted({spaces[int(i * len(spaces) / steps)] for i in range(1, steps)})
    return [*picks, len(text)]


def user_markdown(question: str) -> str:
    return escape_markdown(question)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


# --------------------------------------------------------------- the panels


def searched_html(rewrite: Rewrite | None, titles: Mapping[str, str]) -> str:
    """The query actually searched, and for a follow-up why it differs."""
    if rewrite is None:
        return ""
    parts = [f'<span class="rag-searched-label">Searched for:</span> <q class="rag-query">{_e(rewrite.query)}</q>']
    if rewrite.followup:
        parts.append(f'<span class="rag-why">(follow-up: {_e("; ".join(rewrite.reasons))})</span>')
    if rewrite.doc_ids:
        names = ", ".join(f"“{_e(titles.get(d, d))}”" for d in rewrite.doc_ids)
        parts.append(f'<span class="rag-scope">only in {names}</span>')
    if rewrite.after is not None:
        title = titles.get(rewrite.after.doc_id, rewrite.after.doc_id)
        parts.append(f'<span class="rag-scope">reading on in “{_e(title)}” after character {rewrite.after.offset}</span>')
    return f'<div class="rag-searched">{" ".join(parts)}</div>'


def _containing_passage(quote: Quote, passages: Sequence[Hit]) -> tuple[int, int] | None:
    for h in passages:
        c = h.chunk
        if c.doc_id == quote.doc_id and c.start <= quote.start and quote.end <= c.end:
            return c.start, c.end
    return None


def highlighted(doc: Document, start: int, end: int, window: tuple[int, int] | None = None) -> str:
    """``doc.text[window]`` as HTML with ``[start:end]`` inside ``<mark>``."""
    lo, hi = window or (0, len(doc.text))
    lo, hi = min(lo, start), max(hi, end)
    text = doc.text
    before, span, after = text[lo:start], text[start:end], text[end:hi]
    lead = "…" if lo > 0 else ""
    tail = "…" if hi < len(text) else ""
    return f"{lead}{_e(before)}<mark>{_e(span)}</mark>{_e(after)}{tail}"


def sources_html(answer: Answer | None, turn_id: int, documents: Mapping[str, Document]) -> str:
    """One entry per citation: title, the passage with the quotation marked, its span."""
    if answer is None:
        return '<div class="rag-empty">Sources for each answer appear here. Click one to read the whole essay.</div>'
    entries: list[str] = []
    if answer.abstained or not answer.quotes:
        entries.append('<div class="rag-note">Not in the essays. The passages that came closest:</div>')
        for h in answer.passages:
            c = h.chunk
            entries.append(_entry(cite_key(turn_id, "p", h.rank), str(h.rank), h.title, c.start, c.end, _e(c.text)))
        return "".join(entries)
    for q in answer.quotes:
        doc = documents[q.doc_id]
        window = _containing_passage(q, answer.passages)
        if window is None:
            window = (max(0, q.start - CONTEXT_CHARS), min(len(doc.text), q.end + CONTEXT_CHARS))
        entries.append(_entry(cite_key(turn_id, "q", q.n), f"[{q.n}]", q.title, q.start, q.end,
                              highlighted(doc, q.start, q.end, window)))
    return "".join(entries)


def _entry(key: str, label: str, title: str, start: int, end: int, body_html: str) -> str:
    return (
        f'<div class="rag-source" data-cite="{_e(key)}" role="button" tabindex="0" '
        f'title="Show the whole essay at this passage">'
        f'<div class="rag-source-head"><b>{_e(label)}</b> <span class="rag-title">{_e(title)}</span> '
        f'<span class="rag-span">characters {start}–{end}</span></div>'
        f'<div class="rag-passage">{body_html}</div></div>'
    )


def essay_html(doc: Document | None, start: int | None = None, end: int | None = None, label: str = "") -> str:
    """The whole essay, the cited span marked; the page scrolls the mark into view."""
    if doc is None:
        return '<div class="rag-empty">Click a citation or a source to read the whole essay here.</div>'
    head = f'<div class="rag-essay-head"><b>{_e(doc.title)}</b>'
    if start is not None and end is not None:
        from rag.ingest.layout import location

        head += f' <span class="rag-span">{_e(label)} {location(doc, start).label()}, characters {start}–{end}</span>'
        body = highlighted(doc, start, end)
    else:
        body = _e(doc.text)
    return f'{head}</div><div class="rag-essay" data-doc="{_e(doc.doc_id)}">{body}</div>'


def essays_html(documents: Mapping[str, Document], chunks_per_doc: Mapping[str, int]) -> str:
    """The indexed essays; clicking one opens it in the essay viewer."""
    items = "".join(
        f'<li data-cite="doc-{_e(d.doc_id)}" role="button" tabindex="0">{_e(d.title)} '
        f'<span class="rag-span">({len(d.text):,} characters, {chunks_per_doc.get(d.doc_id, 0)} passages)</span></li>'
        for d in documents.values()
    )
    return f'<ul class="rag-essays">{items}</ul>'


def _overlaps(hit: Hit, quotes: Sequence[Quote]) -> bool:
    c = hit.chunk
    return any(q.doc_id == c.doc_id and q.start < c.end and c.start < q.end for q in quotes)


def inspector_html(rankings: Mapping[str, Sequence[Hit]], answer: Answer | None, used: str) -> str:
    """Each retriever's ranking side by side; the passages the answer quoted are flagged."""
    if not rankings or answer is None:
        return '<div class="rag-empty">Ask a question to see how each retriever ranked the passages.</div>'
    names = list(rankings)
    depth = max((len(v) for v in rankings.values()), default=0)
    head = "".join(
        f'<th>{_e(n)}{" (used)" if n == used else ""}</th>' for n in names
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
                f'<td class="{"rag-hit-quoted" if quoted else ""}">{badge}<b>{_e(h.title)}</b> '
                f'<span class="rag-span">{h.chunk.start}–{h.chunk.end} · score {h.score:.4f}</span>'
                f'<div class="rag-snip">{_e(snippet(h.chunk.text, 110))}</div></td>'
            )
        rows.append(f"<tr><th>{i + 1}</th>{''.join(cells)}</tr>")
    return (
        f'<div class="rag-inspector"><div class="rag-note">Query: <q>{_e(answer.query or answer.question)}</q></div>'
        f'<div class="rag-table-wrap"><table><thead><tr><th>rank</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div></div>'
    )
