"""How much a file may cost to read: size, count, time, memory, text."""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Limits:
    """Bounds on adding documents; every one is checked before or while a file is read.

    ``files`` bounds one upload from the page (the CLI takes any number).
    ``seconds`` and ``memory_mb`` bound the process that parses one file,
    so a hostile PDF cannot hang or exhaust the server.
    """

    file_bytes: int = 20 * MB
    files: int = 20
    chars: int = 5_000_000
    seconds: float = 60.0
    memory_mb: int = 1024

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, or RAG_MAX_FILE_MB, RAG_MAX_FILES, RAG_PARSE_SECONDS, RAG_PARSE_MEMORY_MB."""
        d = cls()
        return cls(
            file_bytes=int(_env_number("RAG_MAX_FILE_MB", d.file_bytes / MB) * MB),
            files=int(_env_number("RAG_MAX_FILES", d.files)),
            chars=d.chars,
            seconds=_env_number("RAG_PARSE_SECONDS", d.seconds),
            memory_mb=int(_env_number("RAG_PARSE_MEMORY_MB", d.memory_mb)),
        )


def size_label(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n:,} bytes"
