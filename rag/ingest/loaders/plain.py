"""The structure of a plain text file: headings, paragraphs, list items, code.

Text files come in two shapes:
- one paragraph per line (an essay saved from a browser): the text is kept
  exactly as stored, each line a block;
- hard-wrapped at a fixed width (licences, FAQs, RFC-style documents): the
  lines of a paragraph are joined into one, so a sentence is never cut at a
  line end, and the reading text is rebuilt from the blocks.

In a hard-wrapped file, blank lines separate groups of lines, and a group is
read, in this order, as: an underlined heading (a line of ``===``/``---``
under it; the first underline character seen is level 1, the next level 2);
an FAQ question ("Q: …"); a term and its definition (a short line with the
lines under it indented further: MPL's ``1.1. "Contributor"`` then
``means …``); a code block (indented deeper than the document's prose, or
shell-like, and not wrapped prose); a heading (a short line alone: numbered,
in capitals, centred or in title case, without a closing stop); list items
(lines opening with a marker: ``(a)``, ``1.``, ``-``, ``*``); else a
paragraph. Why our own code: no maintained library reads plain-text
structure; docutils reads reStructuredText, which these files are not.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from rag.ingest.layout import is_furniture
from rag.ingest.loaders.blocks import Piece, build, is_contents_line, mark_sections
from rag.types import CODE, HEADING, ITEM, PARAGRAPH, QUESTION, Block

# A file is hard-wrapped when this share of its lines continue a paragraph
# onto the next line, and its wrap width is at most WRAP_MAX characters.
WRAPPED_SHARE = 0.4
WRAP_MAX = 132
HEADING_MAX = 80
WRAPPED_HEADING_MAX = 120  # a numbered title over two lines
_UNDERLINE = re.compile(r"^\s*([=\-~^*#+_])\1{2,}\s*$")
_RULE = re.compile(r"^\s*([=\-~*_#])\1{2,}\s*$")
_QUESTION = re.compile(r"^\s*(Q[:.]|Question:)\s+", re.I)
_ANSWER = re.compile(r"^\s*(A[:.]|Answer:)\s+", re.I)
_MARKER = re.compile(r"^\s*(\(?(?:[a-z]|[ivx]{1,4}|\d{1,3})\)|(?:\d{1,3}|[a-z])\.|[-*•+‣◦])\s+\S", re.I)
_NUMBERED = re.compile(r"^\s*((?:\d+\.)+\d*|[A-Z]\.|[IVX]+\.)\s+\S")
_CODE_CHARS = re.compile(r"(^\s*[$#>%] )|(\s--?[A-Za-z])|[{};|\\<>]|=\S|\(\)|^\s*[\w.-]+/[\w./-]+|::")
_STOP = re.compile(r"[.!?:;,][\"'”’)\]]*$")


@dataclass(frozen=True)
class Line:
    text: str
    indent: int

    @property
    def body(self) -> str:
        return self.text.strip()


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").split("\n")


def _groups(raw: list[str]) -> list[list[Line]]:
    groups: list[list[Line]] = [[]]
    for text in raw:
        if not text.strip():
            if groups[-1]:
                groups.append([])
            continue
        expanded = text.expandtabs(8).rstrip()
        groups[-1].append(Line(expanded, len(expanded) - len(expanded.lstrip())))
    return [g for g in groups if g]


def wrap_width(groups: list[list[Line]]) -> tuple[bool, int]:
    """Whether the text is hard-wrapped, and its width (the usual length of a wrapped line)."""
    lines = sum(len(g) for g in groups)
    inner = [len(ln.text) for g in groups for ln in g[:-1] if not _RULE.match(ln.text)]
    if not lines or not inner:
        return False, 0
    width = int(statistics.quantiles(inner, n=10)[-1]) if len(inner) >= 2 else inner[0]
    return len(inner) / lines >= WRAPPED_SHARE and width <= WRAP_MAX, width


def _joined(lines: list[Line]) -> str:
    out = ""
    for line in lines:
        body = line.body
        if not out:
            out = body
        elif out.endswith("-") and out[-2:-1].isalpha() and body[:1].islower():
            out += body  # "royalty-" / "free": a compound split at its hyphen
        else:
            out += " " + body
    return out


def _looks_like_code(group: list[Line], prose_indent: int, width: int) -> bool:
    """Shell lines, or lines indented deeper than the prose that read as code
    (options, assignments, braces, paths), and not wrapped sentences."""
    if any(ln.body.startswith(("$ ", "# ", "% ")) and len(ln.body) > 2 for ln in group):
        return True
    if _MARKER.match(group[0].text) or min(ln.indent for ln in group) < prose_indent + 4:
        return False
    wrapped_prose = (
        len(group) > 1 and all(len(ln.text) >= 0.6 * width for ln in group[:-1]) and bool(_STOP.search(group[-1].body))
    )
    codey = sum(bool(_CODE_CHARS.search(ln.text)) for ln in group)
    return not wrapped_prose and codey * 2 >= len(group)


def _title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) * 2 >= len(words)


def _is_heading_line(line: Line, width: int, alone: bool = True) -> bool:
    body = line.body
    if not alone or len(body) > HEADING_MAX or _STOP.search(body) or not re.search(r"[^\W\d_]", body):
        return False
    if _CODE_CHARS.search(body) or (_MARKER.match(body) and not _NUMBERED.match(body)):
        return False
    letters = [c for c in body if c.isalpha()]
    capitals = bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)
    centred = width > 0 and line.indent >= 8 and line.indent + len(body) <= width + 8
    return bool(_NUMBERED.match(body)) or capitals or centred or _title_case(body)


def _numbered_title(body: str, longest: int = HEADING_MAX) -> bool:
    """ "0. Definitions.": a numbered section title, its stop notwithstanding."""
    text = body.rstrip(".")
    return bool(_NUMBERED.match(text)) and len(text) <= longest and not _STOP.search(text) and _title_case(text)


def _level(body: str, default: int) -> int:
    number = _NUMBERED.match(body)
    return min(6, number.group(1).rstrip(".").count(".") + 1) if number else default


def _items(group: list[Line], width: int) -> list[Piece]:
    """A group split at list markers: each item with its continuation lines.
    A marker opens an item only after a line that ends (a stop, or short of
    the width): "…under section" / "7. This requirement…" is one sentence."""
    runs: list[list[Line]] = []
    for line in group:
        previous = runs[-1][-1] if runs else None
        ended = previous is None or _STOP.search(previous.body) or len(previous.text) < 0.75 * width
        if not runs or (_MARKER.match(line.text) and ended):
            runs.append([line])
        else:
            runs[-1].append(line)
    kind_of = [ITEM if _MARKER.match(run[0].text) else PARAGRAPH for run in runs]
    return [Piece(kind, _joined(run)) for kind, run in zip(kind_of, runs)]


def wrapped_pieces(groups: list[list[Line]], width: int) -> list[Piece]:
    prose = [g[0].indent for g in groups if len(g) > 1 and not _RULE.match(g[-1].text)]
    prose_indent = statistics.mode(prose) if prose else 0
    underlines: list[str] = []
    pieces: list[Piece] = []
    for group in groups:
        if all(_RULE.match(ln.text) for ln in group):
            continue  # a rule between sections
        last = group[-1]
        if len(group) >= 2 and _UNDERLINE.match(last.text) and len(last.body) >= 0.5 * len(group[-2].body):
            char = last.body[0]
            if char not in underlines:
                underlines.append(char)
            pieces.append(Piece(HEADING, _joined(group[:-1]), underlines.index(char) + 1))
            continue
        if _QUESTION.match(group[0].text):
            pieces.append(Piece(QUESTION, _joined(group), 3))
            continue
        first, rest = group[0], group[1:]
        if all(ln.indent >= 8 and _is_heading_line(ln, width) for ln in group):
            pieces.append(Piece(HEADING, _joined(group), 1))  # a centred title over several lines
            continue
        if (
            rest
            and rest[0].indent > first.indent
            and first.indent <= prose_indent + 2
            and len(first.body) <= min(HEADING_MAX, 0.7 * width)
            and not _MARKER.match(first.text)
            and not _ANSWER.match(first.text)
            and not _STOP.search(first.body.rstrip('"”'))
        ):
            # A term on its own line, its definition indented under it.
            under = _body(rest, prose_indent, width)
            if under[0].kind == PARAGRAPH and under[0].text[:1].islower():
                # '1.1. "Contributor"' / "means each individual …": one sentence, the term its subject.
                pieces.append(Piece(PARAGRAPH, f"{first.body} {under[0].text}"))
                pieces.extend(under[1:])
                continue
            pieces.append(Piece(HEADING, first.body, _level(first.body, 3)))
            pieces.extend(under)
            continue
        pieces.extend(_body(group, prose_indent, width))
    return pieces


def _body(group: list[Line], prose_indent: int, width: int) -> list[Piece]:
    if _looks_like_code(group, prose_indent, width):
        indent = min(ln.indent for ln in group)
        return [Piece(CODE, "\n".join(ln.text[indent:] for ln in group))]
    if len(group) == 1 and (_is_heading_line(group[0], width) or _numbered_title(group[0].body)):
        body = group[0].body
        return [Piece(HEADING, body, _level(body, 1 if body.isupper() or group[0].indent >= 8 else 2))]
    if (
        len(group) == 2
        and not _MARKER.match(group[1].text)
        and not any(is_contents_line(ln.body) for ln in group)
        and _numbered_title(" ".join(ln.body for ln in group), WRAPPED_HEADING_MAX)
    ):
        # A numbered title wrapped at the text's width: "10.4. Distributing Source Code Form … Secondary" / "Licenses".
        return [Piece(HEADING, _joined(group), _level(group[0].body, 2))]
    answer = _ANSWER.match(group[0].text)
    if answer:
        group = [Line(group[0].text[answer.end() :], group[0].indent)] + group[1:]
        if len(group) == 1 and _CODE_CHARS.search(group[0].text) and not _STOP.search(group[0].body):
            return [Piece(CODE, group[0].body)]  # "A:  xz -dc foo.tar.xz | tar xf -"
    return _items(group, width)


def line_blocks(text: str) -> tuple[Block, ...]:
    """One block per line, for text kept as stored; a short title-like line
    alone between blank lines is a heading."""
    blocks = []
    raw = list(re.finditer(r"[^\n]*\S[^\n]*", text))
    for k, match in enumerate(raw):
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        end = match.start() + len(match.group().rstrip())
        before = text[raw[k - 1].end() : match.start()] if k else "\n\n"
        after = text[match.end() : raw[k + 1].start()] if k + 1 < len(raw) else "\n\n"
        alone = before.count("\n") >= 2 and after.count("\n") >= 2 and k + 1 < len(raw)
        line = Line(match.group().rstrip(), start - match.start())
        kind = (
            HEADING
            if alone and _is_heading_line(line, 0) and _title_like(line.body) and not is_furniture(line.body)
            else PARAGRAPH
        )
        blocks.append(Block(start, end, kind, 1 if kind == HEADING else 0))
    return tuple(blocks)


def _title_like(body: str) -> bool:
    # In unwrapped text a lone short line is a heading only when it is
    # numbered, in capitals or in title case: a one-word rubric ("commentary")
    # or a caption is not.
    return bool(_NUMBERED.match(body)) or body.isupper() or (_title_case(body) and len(body.split()) >= 2)


def read_plain(text: str) -> tuple[str, tuple[Block, ...]]:
    """Reading text and blocks of a plain text file's decoded characters."""
    groups = _groups(_lines(text))
    wrapped, width = wrap_width(groups)
    if not wrapped:
        blocks = line_blocks(text)
        marked = mark_sections([Piece(b.kind, text[b.start : b.end], b.level) for b in blocks])
        return text, tuple(Block(b.start, b.end, p.kind, b.level) for b, p in zip(blocks, marked))
    return build(wrapped_pieces(groups, width))
