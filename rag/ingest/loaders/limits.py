"""How much a file may cost to read: size, count, time, memory, text."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


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
        """Defaults, or RAG_MAX_FILE_MB, RAG_MAX_FILES, RAG_PARSE_SECONDS, RAG_PARSE_MEMORY_MB (rag.settings)."""
        from rag.settings import settings

        d, s = cls(), settings()
        return cls(
            file_bytes=int(s.max_file_mb * MB) if s.max_file_mb else d.file_bytes,
            files=s.max_files or d.files,
            chars=d.chars,
            seconds=s.parse_seconds or d.seconds,
            memory_mb=s.parse_memory_mb or d.memory_mb,
        )


def size_label(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n:,} bytes"
