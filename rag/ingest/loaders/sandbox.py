"""Parse one file in a child process with a time and a memory limit.

PDF, HTML and Word parsers are large libraries (PDFium is C++) fed bytes from
anyone who can upload. Each file is parsed by ``python -m
rag.ingest.loaders.sandbox``, which first caps its own address space and
CPU time (``resource.setrlimit``) and may not write files; the parent also
stops waiting after the time limit. A crash, a hang or a memory bomb then
costs one child process and gives one line, never the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rag.ingest.loaders.base import LoadError, Parsed
from rag.ingest.loaders.limits import Limits
from rag.types import Block

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
CHILD_MODULE = "rag.ingest.loaders.sandbox"  # a test points this at a child that hangs


def parse_isolated(suffix: str, data: bytes, limits: Limits) -> Parsed:
    """``data`` parsed by the loader for ``suffix`` in a limited child; LoadError says why not."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # The child must import this same rag, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    command = [
        sys.executable,
        "-m",
        CHILD_MODULE,
        suffix,
        str(limits.memory_mb),
        str(int(limits.seconds) + 1),
        str(limits.chars),
    ]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=limits.seconds, env=env)
    except subprocess.TimeoutExpired:
        raise LoadError(f"took longer than {limits.seconds:g} s to read (the limit)") from None
    try:
        result = json.loads(done.stdout.decode("utf-8")) if done.stdout else None
    except ValueError:
        result = None
    if done.returncode != 0 or not isinstance(result, dict):
        raise LoadError(
            f"could not be read within the limits ({limits.memory_mb} MB of memory, "
            f"{limits.seconds:g} s); the parser stopped ({_how(done.returncode)})"
        )
    if not result.get("ok"):
        raise LoadError(str(result.get("error") or "could not be read"))
    return Parsed(
        text=result["text"],
        title=result["title"],
        pages=tuple(result["pages"]),
        blocks=tuple(Block.from_row(r) for r in result["blocks"]),
        labels=tuple(result["labels"]),
    )


def _how(code: int) -> str:
    import signal

    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _limit_self(memory_mb: int, seconds: int) -> None:
    import resource

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # a parser has no business writing files
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(argv: list[str]) -> int:
    suffix, memory_mb, seconds, max_chars = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    sys.dont_write_bytecode = True
    _limit_self(memory_mb, seconds)
    from rag.ingest.loaders import loader_for

    data = sys.stdin.buffer.read()
    loader = loader_for("file" + suffix)
    try:
        if loader is None:
            raise LoadError(f"is not a type rag reads ({suffix})")
        parsed = loader.load(data)
        if len(parsed.text) > max_chars:
            raise LoadError(f"holds {len(parsed.text):,} characters of text; the limit is {max_chars:,}")
        out = {
            "ok": True,
            "text": parsed.text,
            "title": parsed.title,
            "pages": list(parsed.pages),
            "blocks": [b.row() for b in parsed.blocks],
            "labels": list(parsed.labels),
        }
    except LoadError as err:
        out = {"ok": False, "error": str(err)}
    except MemoryError:
        out = {"ok": False, "error": f"needs more than {memory_mb} MB of memory to read (the limit)"}
    except RecursionError:
        out = {"ok": False, "error": "is nested too deeply to read"}
    except Exception as err:  # a parser's own error on a damaged file
        kind = loader.kind if loader else suffix
        out = {"ok": False, "error": f"cannot be read as {kind} ({type(err).__name__})"}
    sys.stdout.write(json.dumps(out, ensure_ascii=True))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
