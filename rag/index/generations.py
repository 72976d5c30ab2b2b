"""Index generations on disk: write a new one beside the current one, then
swap the link with one rename, so a build killed at any moment leaves the
previous index in place. A lock file keeps two builds of the same index apart.

Layout of ``index/<name>``: a symbolic link to a generation folder
``index/.<name>.gen-<time>-<pid>`` that holds the files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Iterator

from rag.errors import IndexBusy, IndexMissing, RagError
from rag.failpoints import failpoint

MANIFEST = "manifest.json"


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive per index; the kernel drops it if the process dies."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexBusy(f"{index_dir} is being built by {holder}; wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What a build of index NAME leaves beside it: ``.NAME.gen-*`` generations,
# ``.NAME.link-*`` links not yet renamed, ``.NAME.old-*`` a moved plain folder.
_LEFTOVER_KINDS = ("gen-", "link-", "old-")


def _is_ours(index_dir: Path, name: str) -> bool:
    """Whether ``name`` was made by a build of this index, not of a neighbour.

    A bare prefix match would let a build of ``a`` delete the generations of
    an index called ``a.b`` in the same folder.
    """
    prefix = f".{index_dir.name}."
    return name.startswith(prefix) and name[len(prefix) :].startswith(_LEFTOVER_KINDS) and "/" not in name


def clean_stale(index_dir: Path) -> None:
    """Remove generations and temporary links left by killed builds."""
    current = os.readlink(index_dir) if index_dir.is_symlink() else None
    for path in index_dir.parent.glob(f".{index_dir.name}.*"):
        if path.name == current or not _is_ours(index_dir, path.name):
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def publish(staging: Path, index_dir: Path) -> None:
    """Point ``index_dir`` at ``staging`` with one atomic rename."""
    old = os.readlink(index_dir) if index_dir.is_symlink() else None
    if index_dir.exists() and not index_dir.is_symlink():
        # A plain folder from elsewhere: move it aside once; from now on the
        # path is a link and every later swap is atomic.
        index_dir.rename(index_dir.parent / f".{index_dir.name}.old-{os.getpid()}")
    link = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    os.symlink(staging.name, link)
    failpoint("index.publish.before_swap")
    os.replace(link, index_dir)
    fsync_dir(index_dir.parent)
    failpoint("index.publish.after_swap")
    # Only a generation this code made is removed: a link the user pointed
    # at a folder of their own (absolute or elsewhere) is replaced, not deleted.
    if old and old != staging.name and _is_ours(index_dir, old):
        shutil.rmtree(index_dir.parent / old, ignore_errors=True)


def refuse_foreign_target(index_dir: Path) -> None:
    """Never replace something that is not an index: ``--index ~/Documents``
    would otherwise be moved aside and deleted by the next build. A link the
    user made (not one to a generation a build made) is judged by what it
    points at, like a folder: a build would repoint it."""
    if index_dir.is_symlink():
        if _is_ours(index_dir, os.readlink(index_dir)) or not index_dir.exists():
            return
        shown = f"{index_dir} (a link to {os.path.realpath(index_dir)})"
    elif not index_dir.exists():
        return
    else:
        shown = str(index_dir)
    if not index_dir.is_dir():
        raise RagError(f"{shown} is a file, not an index folder; nothing was changed (choose another --index)")
    if any(index_dir.iterdir()) and not (index_dir / MANIFEST).is_file():
        raise RagError(
            f"{shown} holds files but is not a rag index (no manifest.json); nothing was changed "
            f"(choose another --index, or move that folder away)"
        )


def generation(index_dir: Path) -> Path:
    """The folder the index path points at right now."""
    try:
        return index_dir.resolve(strict=False) if index_dir.is_symlink() else index_dir
    except RuntimeError:  # Python 3.11 reports a link loop this way
        raise IndexMissing(
            f"{index_dir} is a loop of symbolic links, not an index; point --index at an index folder"
        ) from None
    except OSError as err:
        raise IndexMissing(
            f"{index_dir} cannot be followed ({err.strerror}); point --index at an index folder"
        ) from None


def contained(folder: Path, name: object) -> Path:
    """``folder / name`` for a file name from a manifest, only if it stays in ``folder``.

    A manifest is data: a name such as ``bm25/../../../etc/passwd`` or an
    absolute path would make the loader read anything. Only plain relative
    names whose real path lies inside the generation pass.
    """
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        raise ValueError(f"file name {name!r} is not a plain relative name")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or any(part in (".", "..") for part in parts) or len(parts) > 8:
        raise ValueError(f"file name {name!r} leaves the index folder")
    path = folder.joinpath(*parts)
    root = os.path.realpath(folder)
    if not os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep):
        raise ValueError(f"file name {name!r} resolves outside the index folder")
    return path


READ_LIMIT = 1 << 30  # bytes per read call (Linux returns at most ~2 GiB from one)


def read_regular(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file. A FIFO would block every
    reader, /dev/zero never ends, and a symbolic link may point anywhere: each
    is refused (OSError) before a byte is read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        # One read of the whole file, in the common case: reading 16 MB pieces and
        # joining them copied every byte once more (0.12 s for a 270 MB index).
        first = os.read(fd, min(info.st_size, READ_LIMIT)) if info.st_size else b""
        chunks, left = [first], info.st_size - len(first)
        while left > 0:
            chunk = os.read(fd, min(left, READ_LIMIT))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return first if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def describe_os_error(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "a symbolic link, not a file"
    return err.strerror or str(err)
