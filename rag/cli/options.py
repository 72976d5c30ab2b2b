"""Option checks that run while the command line is parsed, before any work.

A bad value found here is a usage error (one line, exit 2), rather than an
internal error after minutes of evaluation or a traceback from the file system.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from rag.errors import RagError

# Linux's limits: PATH_MAX bytes for a whole path, NAME_MAX for one name in it.
PATH_MAX = 4095
NAME_MAX = 255
SHOWN = 120  # characters of a long value shown in a message


def shorten(text: str, limit: int = 1000) -> str:
    """``text`` with its middle elided beyond ``limit`` characters."""
    text = str(text)
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 2
    return f"{text[:keep]}…{text[-keep:]}"


class SafePath(click.Path):
    """A path that the file system can take: not too long, not a link loop."""

    def __init__(self, **kwargs):
        super().__init__(path_type=Path, **kwargs)

    def convert(self, value, param, ctx):
        text = os.fsdecode(value) if isinstance(value, bytes) else str(value)
        shown = shorten(text, SHOWN)
        if not text:
            self.fail("is empty; give a path", param, ctx)
        encoded = os.fsencode(text)
        if len(encoded) > PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/")):
            self.fail(
                f"{shown!r} is too long ({len(encoded)} bytes); a path may have {PATH_MAX} bytes and each "
                f"name in it {NAME_MAX}",
                param,
                ctx,
            )
        try:
            os.stat(text)
        except OSError as err:
            if err.errno == errno.ELOOP:
                self.fail(f"{shown!r} is a loop of symbolic links; point it at a real folder or file", param, ctx)
            if err.errno == errno.ENAMETOOLONG:
                self.fail(f"{shown!r} is too long for the file system", param, ctx)
        except ValueError:  # an embedded NUL (only from the environment; argv cannot carry one)
            self.fail("holds a NUL character", param, ctx)
        return super().convert(Path(text), param, ctx)


SAFE_PATH = SafePath()


def check_report_dir(ctx, param, value: Path | None) -> Path | None:
    if value is not None and value.exists() and not value.is_dir():
        raise click.BadParameter(
            f"{shorten(str(value), SHOWN)!r} is a file; give a folder for report.md, "
            f"report.json and hit_at_k.png (it is created if missing)",
            ctx,
            param,
        )
    return value


def check_sweep(ctx, param, value: str | None):
    """``SIZE:OVERLAP,...`` or ``default``, parsed now rather than after the evaluation."""
    if value is None:
        return None
    from rag.evaluation.sweep import DEFAULT_GRID, parse_grid
    from rag.ingest.chunking import ChunkSettings

    if value.strip() == "default":
        return DEFAULT_GRID
    try:
        grid = parse_grid(value)
        for size, overlap in grid:
            ChunkSettings(size, overlap)
    except ValueError as err:
        detail = str(err) if "chunk" in str(err) else f"{shorten(value, SHOWN)!r} is not SIZE:OVERLAP pairs"
        raise click.BadParameter(f"{detail}; write e.g. 300:50,800:100 or `default`", ctx, param) from None
    return grid


def check_store(ctx, param, value: str | None):
    """``--store NAME[:TARGET]`` parsed now (rag.settings.parse_store)."""
    if value is None:
        return None
    from rag.settings import SettingsError, parse_store

    try:
        return parse_store(value, where="")
    except SettingsError as err:
        raise click.BadParameter(str(err), ctx, param) from None


def check_host_option(ctx, param, value: str) -> str:
    from rag.chat.serve import check_host

    try:
        return check_host(value)
    except RagError as err:
        raise click.BadParameter(str(err).removeprefix("--host "), ctx, param) from None


# Shared by every command that opens an index or a model.
index_option = click.option(
    "--index",
    "index_dir",
    type=SAFE_PATH,
    default=None,
    envvar="RAG_INDEX",
    help="Index folder. [default: index/default in the project; env RAG_INDEX]",
)
model_option = click.option(
    "--model",
    "model_path",
    default=None,
    envvar="RAG_MODEL",
    metavar="MODEL",
    help="Embedding model: mpnet (all-mpnet-base-v2), minilm (all-MiniLM-L6-v2), or a local "
    "sentence-transformers folder. [default: mpnet when installed, else minilm; env RAG_MODEL]",
)
