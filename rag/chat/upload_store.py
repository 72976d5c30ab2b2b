"""Where the page keeps files uploaded to be added, and who may name them.

Gradio's own upload route stores anything (zero bytes, any number of files),
keeps it in its temporary folder until the server stops, and serves it back
to anyone through ``/gradio_api/file=…``. rag.chat.guard answers the upload
route itself with this store instead:

- a visitor is known by a random cookie the guard sets (``rag_uploads``,
  HttpOnly, SameSite=Strict); the upload request and the event that adds the
  files both carry it (browsers and gradio_client alike keep it), so a path
  is accepted in an event body only from the visitor it was issued to
  (rag.chat.filerefs);
- one request carries at most ``files`` files, each of 1 byte to
  ``file_bytes``; a visitor holds at most ``session_bytes`` and the server
  ``server_bytes`` at once; beyond any bound the whole request is refused
  and what it wrote is deleted, before Gradio sees any of it;
- files live in a private folder (mode 0700) inside Gradio's upload folder,
  which Gradio requires of an event's files; the guard refuses every file
  route into it, so nothing stored is ever served;
- a file is deleted when the page has read it to add it (or refused it), and
  any file still here ``expiry_s`` after it arrived.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, BinaryIO, Callable

from rag.ingest.loaders.limits import Limits, size_label

COOKIE = "rag_uploads"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
EXPIRY_S = 600  # an upload the page never adds is deleted after this long (RAG_UPLOAD_EXPIRY_S)
MAX_NAME_CHARS = 120  # a stored name's length: well under any file system's 255 bytes in UTF-8


class UploadRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Quota:
    """Bounds on what the page holds: per request, per visitor, for the whole server."""

    files: int
    file_bytes: int
    session_bytes: int
    server_bytes: int
    expiry_s: float = EXPIRY_S

    @classmethod
    def from_env(cls, limits: Limits | None = None) -> "Quota":
        """A visitor may hold one upload at its largest (RAG_MAX_FILES × RAG_MAX_FILE_MB); the server
        twice that unless RAG_UPLOAD_TOTAL_MB says otherwise (rag.settings)."""
        from rag.settings import settings

        limits, s = limits or Limits.from_env(), settings()
        session = limits.files * limits.file_bytes
        server = int(s.upload_total_mb * 1024 * 1024) if s.upload_total_mb else 2 * session
        return cls(limits.files, limits.file_bytes, min(session, server), server, s.upload_expiry_s or EXPIRY_S)


@dataclass
class _Stored:
    token: str
    size: int
    arrived: float


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]


def token_from(cookie_header: str) -> str | None:
    """The visitor's token from a Cookie header, if it holds a well-formed one."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and _TOKEN.fullmatch(value):
            return value
    return None


def set_cookie(token: str) -> bytes:
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict".encode()


def stored_name(raw: bytes) -> str:
    """A name to store a file under: the last part of what the browser sent, as valid
    text, without controls or a leading dot; the name only suggests the document's id."""
    name = re.split(r"[\\/]", raw.decode("utf-8", "replace"))[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 10:
        return stem[: MAX_NAME_CHARS - len(suffix) - 1] + "." + suffix if stem else "upload." + suffix
    return name[:MAX_NAME_CHARS] or "upload"


class UploadStore:
    def __init__(self, root: Path, quota: Quota, clock: Callable[[], float] = time.monotonic):
        self.root = root
        self.quota = quota
        self._clock = clock
        self._files: dict[str, _Stored] = {}
        self._pending: dict[int, tuple[str, int]] = {}  # (token, bytes) of each upload being received
        self._lock = threading.Lock()

    @classmethod
    def create(cls, quota: Quota) -> "UploadStore":
        """A private folder of its own inside Gradio's upload folder (where Gradio accepts an event's files)."""
        from gradio.utils import get_upload_folder

        parent = Path(get_upload_folder())
        parent.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix="rag-uploads-", dir=parent)), quota)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ who holds what

    def issued(self, token: str | None, path: str) -> bool:
        """Whether ``path`` was stored for ``token`` and is still here."""
        self.sweep()
        with self._lock:
            entry = self._files.get(path)
        return token is not None and entry is not None and entry.token == token and os.path.isfile(path)

    def held(self, token: str | None = None) -> int:
        """Bytes held now (stored or being received), for one visitor or (None) for all."""
        with self._lock:
            return self.held_locked(token)

    def held_locked(self, token: str | None) -> int:
        return sum(e.size for e in self._files.values() if token is None or e.token == token) + sum(
            n for t, n in self._pending.values() if token is None or t == token
        )

    def sweep(self) -> None:
        """Forget files already deleted (added, refused), and delete those past their time."""
        now = self._clock()
        with self._lock:
            for path, entry in list(self._files.items()):
                expired = now - entry.arrived >= self.quota.expiry_s
                if expired or not os.path.isfile(path):
                    del self._files[path]
                    _remove(Path(path))

    # ------------------------------------------------------------ receiving

    async def receive(self, token: str, content_type: str, chunks: Callable[[], Awaitable[bytes | None]]) -> list[str]:
        """Store a multipart upload's files; their paths, or UploadRefused (nothing of it kept)."""
        from python_multipart.multipart import MultipartParser, parse_options_header

        self.sweep()
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise UploadRefused(400, "an upload is multipart/form-data with a boundary")
        upload = _Upload(self, token)
        parser = MultipartParser(boundary, upload.callbacks())
        try:
            while (chunk := await chunks()) is not None:
                parser.write(chunk)
            parser.finalize()
            return upload.finish()
        except UploadRefused:
            upload.discard()
            raise
        except Exception as err:  # python_multipart's parse errors: a malformed body
            upload.discard()
            raise UploadRefused(400, f"malformed multipart body ({type(err).__name__})") from None
        except BaseException:  # cancelled (the server stopping): nothing half-written stays
            upload.discard()
            raise
        finally:
            with self._lock:
                self._pending.pop(id(upload), None)
            if upload.paths:
                asyncio.get_running_loop().call_later(self.quota.expiry_s + 1, self.sweep)

    def _reserve(self, upload: "_Upload", n: int) -> None:
        """Count ``n`` more bytes of ``upload`` against its visitor's and the server's bounds, or refuse it."""
        token = upload.token
        with self._lock:
            session = self.held_locked(token)
            server = self.held_locked(None)
            if session + n > self.quota.session_bytes:
                raise UploadRefused(
                    413,
                    f"uploads held for this page over {size_label(self.quota.session_bytes)}; "
                    f"add or wait for earlier ones",
                )
            if server + n > self.quota.server_bytes:
                raise UploadRefused(
                    413,
                    f"uploads held by this server over {size_label(self.quota.server_bytes)}; "
                    f"try again in a few minutes",
                )
            self._pending[id(upload)] = (token, self._pending.get(id(upload), (token, 0))[1] + n)

    def _keep(self, token: str, paths: list[tuple[str, int]]) -> None:
        now = self._clock()
        with self._lock:
            for path, size in paths:
                self._files[path] = _Stored(token, size, now)


class _Upload:
    """One request's parts, written as they arrive; any bound crossed refuses it all."""

    def __init__(self, store: UploadStore, token: str):
        self.store, self.token = store, token
        self.paths: list[tuple[str, int]] = []
        self._field, self._value = b"", b""
        self._headers: dict[bytes, bytes] = {}
        self._handle: BinaryIO | None = None
        self._size = 0
        self._name = ""
        self.complete = False

    def callbacks(self) -> Any:  # python_multipart's MultipartCallbacks
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field_data,
            "on_header_value": self._value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._open,
            "on_part_data": self._data,
            "on_part_end": self._close,
            "on_end": self._end,
        }

    def _end(self) -> None:
        self.complete = True

    def _begin(self) -> None:
        self._headers = {}

    def _field_data(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _value_data(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _open(self) -> None:
        from python_multipart.multipart import parse_options_header

        quota = self.store.quota
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") != b"files":
            raise UploadRefused(400, "an upload holds only parts named 'files'")
        if not options.get(b"filename"):
            raise UploadRefused(400, "an uploaded file needs a file name")
        if len(self.paths) + 1 > quota.files:
            raise UploadRefused(413, f"more than {quota.files} files in one upload; the limit is {quota.files}")
        self._name = stored_name(options[b"filename"])
        folder = self.store.root / secrets.token_hex(8)
        folder.mkdir(mode=0o700)
        path = folder / self._name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self._handle = open(fd, "wb")  # noqa: SIM115 (open across parser callbacks; closed in _close or on cleanup)
        self.paths.append((str(path), 0))
        self._size = 0

    def _data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._size + n > self.store.quota.file_bytes:
            raise UploadRefused(
                413,
                f"{self._name} is over {size_label(self.store.quota.file_bytes)}; "
                f"the limit is {size_label(self.store.quota.file_bytes)} a file",
            )
        self.store._reserve(self, n)
        if self._handle is None:
            raise UploadRefused(400, "malformed multipart body (data outside a file part)")
        self._handle.write(data[start:end])
        self._size += n

    def _close(self) -> None:
        if self._handle is None:
            raise UploadRefused(400, "malformed multipart body (a part ends that never began)")
        self._handle.close()
        self._handle = None
        self.paths[-1] = (self.paths[-1][0], self._size)
        if self._size == 0:
            raise UploadRefused(400, f"{self._name} is empty (0 bytes)")

    def finish(self) -> list[str]:
        if self.paths and (not self.complete or self._handle is not None):
            raise UploadRefused(400, "malformed multipart body (it ends before its closing boundary)")
        if not self.paths:
            raise UploadRefused(400, "the upload holds no file")
        self.store._keep(self.token, self.paths)
        return [p for p, _ in self.paths]

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        for path, _ in self.paths:
            _remove(Path(path))
        self.paths = []


def _remove(path: Path) -> None:
    """A stored file and the folder made for it."""
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:
        pass


def paths_json(paths: list[str]) -> bytes:
    return json.dumps(paths).encode()
