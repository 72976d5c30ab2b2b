"""Failpoints: named moments at which a test can stop this process.

Crash and streaming tests need a process to stop at one exact moment, not
after a guessed delay. ``RAG_FAILPOINT`` names the moments, comma-separated;
each entry is::

    NAME            exit there the first time it is reached
    NAME@N          exit the N-th time it is reached
    NAME=pause      write "rag: failpoint NAME paused (pid P)" to stderr, then
    NAME@N=pause    wait for a line (or the end) on stdin, and carry on
    NAME@*=pause    pause every time it is reached (a test walks a server
                    through many moments, releasing it at each)

An exit is ``os._exit(EXIT_CODE)``: no cleanup, no flushing, no ``finally``,
as a power cut or ``kill -9`` would leave things; it writes
"rag: failpoint NAME" to stderr first. A paused process can be killed for
real (``kill -9``) or released by writing a newline to its stdin.
Unset (always, outside tests), a failpoint costs one dictionary lookup.

The names (POINTS says where each is and what has happened when it is reached):
``index.build.locked``, ``index.build.files_written``,
``index.build.manifest_written``, ``index.publish.before_swap``,
``index.publish.after_swap`` (an index build, in this order);
``chat.answer.pending`` and ``chat.answer.computed`` (an answer on the chat
page, in this order).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

ENV = "RAG_FAILPOINT"
# Distinctive, so a test can tell a failpoint exit from any error exit.
EXIT_CODE = 86

POINTS: dict[str, str] = {
    "index.build.locked": "rag.index.build: the build holds the index's lock; nothing is written yet",
    "index.build.files_written": "rag.index.build: the new generation's data files are written; no manifest yet",
    "index.build.manifest_written": (
        "rag.index.build: the manifest is written and synced too; the generation is not published"
    ),
    "index.publish.before_swap": (
        "rag.index.generations.publish: a link to the new generation sits beside the index, not yet renamed over it"
    ),
    "index.publish.after_swap": (
        "rag.index.generations.publish: the index points at the new generation; the old one is not yet removed"
    ),
    "chat.answer.pending": (
        "rag.chat.session.respond: the page has the question and its placeholder; the answer is not computed yet"
    ),
    "chat.answer.computed": "rag.chat.session.respond: the answer is computed; the page has not been handed it",
}

_hits: dict[str, int] = {}
_lock = threading.Lock()


@lru_cache(maxsize=8)
def parse(spec: str) -> dict[str, tuple[int, str]]:
    """``RAG_FAILPOINT``'s value as {name: (hit number, action)}; hit number 0: every hit."""
    out: dict[str, tuple[int, str]] = {}
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        target, _, action = entry.partition("=")
        name, _, nth = target.partition("@")
        action = action or "exit"
        every = nth == "*" and action == "pause"
        if (
            name not in POINTS
            or action not in ("exit", "pause")
            or (nth and not nth.isdigit() and not every)
            or nth == "0"
        ):
            raise ValueError(
                f"{ENV}={spec!r}: {entry!r} is not NAME[@N][=pause] or NAME@*=pause with NAME one of "
                f"{', '.join(POINTS)}"
            )
        out[name] = (0 if every else int(nth or 1), action)
    return out


def failpoint(name: str) -> None:
    """Exit or pause here if ``RAG_FAILPOINT`` names this point (see the module's doc)."""
    if name not in POINTS:  # a typo at a call site would make its tests pass vacuously
        raise ValueError(f"unknown failpoint {name!r}")
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted = parse(spec).get(name)
    if wanted is None:
        return
    with _lock:
        _hits[name] = hit = _hits.get(name, 0) + 1
    nth, action = wanted
    if nth and hit != nth:
        return
    if action == "exit":
        os.write(2, f"rag: failpoint {name}\n".encode())
        os._exit(EXIT_CODE)
    os.write(2, f"rag: failpoint {name} paused (pid {os.getpid()})\n".encode())
    try:
        os.read(0, 1)  # any input, or stdin's end, releases it
    except OSError:
        pass
