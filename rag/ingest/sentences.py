"""Sentence spans of a document: the units that quotations are made of.

Linear in the length of the text. pysbd's time grows with the square of the
text it is handed (one line of 25 kB took 0.7 s, of 100 kB 10.6 s, and a
5 MB one-line export would take hours), so a long line is first cut into
pieces of at most MAX_PIECE_CHARS at likely sentence ends, and a sentence
longer than MAX_SENTENCE_CHARS is cut at spaces. Text with ordinary
paragraphs never reaches either limit. benchmarks/linear_time.py measures it.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
from functools import lru_cache
from typing import Iterator, Sequence

_LINE = re.compile(r"[^\n]+")
# A line longer than this goes to pysbd in pieces; the bundled essays' longest
# line has 902 characters.
MAX_PIECE_CHARS = 2_000
# A longer "sentence" (a list with no stops, minified text) is cut at spaces:
# a quotation is a readable unit, and the model reads about this many anyway.
MAX_SENTENCE_CHARS = 1_000
# A likely sentence end: a stop, closing quotes or brackets, spaces, then what
# starts a sentence. The word before the stop is checked apart (_likely_end).
_END = re.compile(r"[.!?…][\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"(\S+)$")


@lru_cache(maxsize=2)
def _segmenter(char_span: bool = False):
    import pysbd

    # clean=False: the sentences are the line's own characters, unchanged.
    return pysbd.Segmenter(language="en", clean=False, char_span=char_span)


def _pieces(line: str) -> list[tuple[int, int]]:
    """pysbd's sentences of one line as offsets into it.

    Found with str.find, in order, rather than with pysbd's char_span mode,
    which compiles a regular expression per sentence (a quarter of the
    splitting time). Should a sentence not be found verbatim, the line is
    segmented again with char_span.
    """
    spans, cursor = [], 0
    for piece in _segmenter().segment(line):
        at = line.find(piece, cursor)
        if at < 0:
            return [(p.start, p.end) for p in _segmenter(True).segment(line)]
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    return spans


def _likely_end(line: str, stop: int) -> bool:
    """Whether the stop at ``stop`` ends a sentence rather than an abbreviation:
    the word before it is not dotted ("U.S.") nor a short capitalised one ("Mr", "Jan")."""
    word = _WORD_BEFORE.search(line, max(0, stop - 40), stop)
    text = word.group(1) if word else ""
    return "." not in text and not (text[:1].isupper() and len(text) <= 3)


def _cut(line: str, start: int, limit: int) -> int:
    """Where to end a piece of ``line`` that starts at ``start`` and may not pass
    ``limit``: the last likely sentence end in its second half, else the last
    space there, else ``limit`` itself (a token longer than the piece)."""
    low = start + (limit - start) // 2
    best = None
    for m in _END.finditer(line, low, limit):
        if _likely_end(line, m.start()):
            best = m.end()
    if best is not None:
        return best
    space = max(line.rfind(" ", low, limit), line.rfind("\t", low, limit))
    return space + 1 if space > low else limit


def _windows(line: str, size: int) -> Iterator[tuple[int, int]]:
    """``line`` as consecutive pieces of at most ``size`` characters."""
    start = 0
    while len(line) - start > size:
        end = _cut(line, start, start + size)
        yield start, end
        start = end
    yield start, len(line)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, whitespace trimmed, never crossing a line break.

    Lines first (a headline, a photo credit and a paragraph are different
    units even without a full stop), then pysbd's rules within each line,
    which know abbreviations such as "U.S." and closing quotation marks.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base, content = line.start(), line.group()
        for w_start, w_end in _windows(content, MAX_PIECE_CHARS):
            piece = content[w_start:w_end]
            for a, b in _pieces(piece):
                start, end = _trimmed(text, base + w_start + a, base + w_start + b)
                if end <= start or (spans and start < spans[-1][1]):
                    continue
                for c, d in _windows(text[start:end], MAX_SENTENCE_CHARS):
                    c, d = _trimmed(text, start + c, start + d)
                    if d > c:
                        spans.append((c, d))
    return spans


# Below this much text a helper process costs more to start (~0.25 s) than it saves.
PARALLEL_MIN_CHARS = 200_000
# Text handed out per round, so that a caller that stops early (too many
# sentences) does not wait for the whole corpus to be split.
ROUND_CHARS = 2_000_000


def split_many(texts: Sequence[str]) -> Iterator[list[tuple[int, int]]]:
    """split_sentences of each text, in order.

    pysbd is pure Python (about 0.7 ms a sentence), so with a second core and
    enough text a helper process splits part of each round while this one
    splits the rest. A helper process rather than multiprocessing:
    its spawn mode re-imports the caller's main script, and fork would copy
    the threads torch and onnxruntime hold. Should the helper fail, this
    process splits its half too.
    """
    if _cores() < 2 or sum(len(t) for t in texts) < PARALLEL_MIN_CHARS:
        yield from map(split_sentences, texts)
        return
    helper, finished = _Helper(), False
    try:
        start = 0
        while start < len(texts):
            end, size = start, 0
            while end < len(texts) and (end == start or size + len(texts[end]) <= ROUND_CHARS):
                size += len(texts[end])
                end += 1
            half = start + (end - start) * 2 // 5  # the helper's share is larger: it splits faster
            sent = helper.send(texts[half:end])
            yield from map(split_sentences, texts[start:half])
            theirs = helper.receive(texts[half:end]) if sent else None
            yield from theirs if theirs is not None else map(split_sentences, texts[half:end])
            start = end
        finished = True
    finally:
        # A caller that stops early does not wait for the helper's round.
        helper.close(kill=not finished)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Helper:
    """A child Python that answers each line of JSON texts with a line of their spans.

    It dies with this process: the kernel kills it when its parent exits,
    even by SIGKILL (Linux's PR_SET_PDEATHSIG, set by the child itself, so
    no preexec_fn runs in a parent that holds torch's threads).
    """

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc: subprocess.Popen[bytes] | None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", f"import rag.ingest.sentences as s; s._serve({os.getpid()})"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            self.proc = None

    def send(self, texts: Sequence[str]) -> bool:
        if self.proc is None or self.proc.stdin is None:
            return False
        try:
            self.proc.stdin.write(json.dumps(list(texts)).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
            return True
        except OSError:
            self.close()
            return False

    def receive(self, texts: Sequence[str]) -> list[list[tuple[int, int]]] | None:
        """The helper's spans for ``texts``, or None (and the helper closed) if they are not sound."""
        if self.proc is None or self.proc.stdout is None:
            return None
        try:
            answer = json.loads(self.proc.stdout.readline())
            spans = [[(int(a), int(b)) for a, b in doc] for doc in answer]
            if len(spans) == len(texts) and all(0 <= a < b <= len(t) for doc, t in zip(spans, texts) for a, b in doc):
                return spans
        except (OSError, ValueError, TypeError):
            pass
        self.close()
        return None

    def close(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if kill:
                    raise OSError("not waited for")
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent dies; exit if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the closed stdin still ends the loop below
        pass
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(0)


def _serve(parent: int | None = None) -> None:
    if parent is not None:
        _die_with_parent(parent)
    # pysbd builds a regex for each abbreviation it meets, more than re's
    # 512-pattern cache holds; a larger cache saves recompiling them (~20 %).
    # Only here, in rag's own helper process, never in a caller's.
    if isinstance(getattr(re, "_MAXCACHE", None), int):
        re._MAXCACHE = max(re._MAXCACHE, 8192)  # type: ignore[attr-defined]  # private, checked above
    for line in sys.stdin.buffer:
        texts = json.loads(line)
        sys.stdout.write(json.dumps([split_sentences(t) for t in texts]) + "\n")
        sys.stdout.flush()
