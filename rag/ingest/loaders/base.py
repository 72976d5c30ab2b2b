"""The seam every file type plugs into: bytes in, reading text out.

A loader turns a file's bytes into the text people read and quotations are
sliced from, plus where that text came from in the source (pages). It never
touches the file system: the caller reads the bytes (bounded) and decides
the document's id, so a file name can never choose a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rag.types import Block


class LoadError(Exception):
    """The file cannot be read as its type; the message is one line for people."""


@dataclass(frozen=True)
class Parsed:
    """A document's reading text: blocks separated by blank lines, each
    prose block one line, so a sentence never crosses a line break (a code
    block keeps its lines).

    ``pages``: offset in ``text`` where each page starts (paged sources only),
    ``labels``: the number printed on each page.
    ``title``: from the file's own metadata or first heading; "" when it has none.
    ``blocks``: the text's typed blocks in order (rag.types.Block).
    """

    text: str
    title: str = ""
    pages: tuple[int, ...] = ()
    blocks: tuple[Block, ...] = ()
    labels: tuple[str, ...] = ()


class Loader(Protocol):
    # Read-only (a class attribute satisfies them): ``suffixes = (".pdf",)`` is a tuple[str, ...].
    @property
    def kind(self) -> str:
        """What people call the type: "PDF", "HTML", ..."""
        ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Lower case, with the dot."""
        ...

    def load(self, data: bytes) -> Parsed:
        """Reading text of ``data``; raises LoadError when it is not a readable file of this kind."""
        ...
