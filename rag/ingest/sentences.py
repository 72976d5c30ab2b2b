"""Sentence spans of a document: the units that quotations are made of."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from typing import Iterator, Sequence

_LINE = re.compile(r"[^\n]+")


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


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence, whitespace trimmed, never crossing a line break.

    Lines first (a headline, a photo credit and a paragraph are different
    units even without a full stop), then pysbd's rules within each line,
    which know abbreviations such as "U.S." and closing quotation marks.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        for a, b in _pieces(line.group()):
            start, end = base + a, base + b
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start and (not spans or start >= spans[-1][1]):
                spans.append((start, end))
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
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2 or sum(len(t) for t in texts) < PARALLEL_MIN_CHARS:
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


class _Helper:
    """A child Python that answers each line of JSON texts with a line of their spans."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import rag.ingest.sentences as s; s._serve()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            )
        except OSError:
            self.proc = None

    def send(self, texts: Sequence[str]) -> bool:
        if self.proc is None:
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
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


def _serve() -> None:
    # pysbd builds a regex for each abbreviation it meets, more than re's
    # 512-pattern cache holds; a larger cache saves recompiling them (~20 %).
    # Only here, in rag's own helper process, never in a caller's.
    if isinstance(getattr(re, "_MAXCACHE", None), int):
        re._MAXCACHE = max(re._MAXCACHE, 8192)
    for line in sys.stdin.buffer:
        texts = json.loads(line)
        sys.stdout.write(json.dumps([split_sentences(t) for t in texts]) + "\n")
        sys.stdout.flush()
