"""A gate in front of the chat page's server, as plain ASGI middleware.

Gradio refuses little by itself (checked against 6.31): its CORS middleware
answers any Host and Origin, so a page on another site can drive the queue
through DNS rebinding; ``/gradio_api/file=<url>`` resolves and fetches any
URL it is handed (and asks dns.google about private names); zero-byte
uploads are stored and served back; and a queue call with an unknown
``fn_index`` or ``data: null`` ends in a 500 with a traceback in the log.
This middleware sees every request before Gradio does and refuses those, and
adds security headers to every response that passes through it.

Pure ASGI rather than Starlette's BaseHTTPMiddleware: that one buffers
streaming responses, and the answers stream as server-sent events.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping

from rag.chat.calls import MAX_JSON_BODY, MAX_JSON_DEPTH, Refusal, check_body, check_call  # noqa: F401 (re-exported)
from rag.chat.headers import (  # noqa: F401 (CONTENT_SECURITY_POLICY re-exported)
    CONTENT_SECURITY_POLICY,
    MAX_HTML_HELD,
    SECURITY_HEADERS,
    csp_for,
    is_html,
    with_headers,
)
from rag.chat.upload_store import UploadRefused, UploadStore, new_token, paths_json, set_cookie, token_from

log = logging.getLogger("rag.chat.guard")

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# Routes that store a file the client sends.
UPLOAD_PATHS = re.compile(r"^/(?:gradio_api/)?(?:upload|process_recording)/?$")
# The one the page's file picker uses, answered by rag.chat.upload_store when adding is on.
UPLOAD_PATH = re.compile(r"^/gradio_api/upload/?$")
# Routes that serve a file by its path (Gradio serves anything in its upload folder).
FILE_PATHS = re.compile(r"^/(?:gradio_api/)?file[=/](.*)$", re.DOTALL)
# Folders rag.chat.upload_store keeps uploads in, this server's or another's: never served.
PRIVATE_FOLDER = re.compile(r"(?:^|/)rag-uploads-[^/]*(?:/|$)")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Gradio's reverse proxy (for apps loaded from Spaces); rag loads none.
PROXY_PATH = re.compile(r"^/(?:gradio_api/)?proxy=", re.IGNORECASE)
# Calls whose JSON body names a function: checked before Gradio parses them.
CALL_PATHS = re.compile(r"^/gradio_api/(queue/join|run/[^/]+|api/[^/]+|call/[^/]+|stream/[^/]+|cancel|reset)/?$")
# ``call/v2`` (added for MCP-style keyword calls) looks the endpoint up in a
# table the page never fills and answers 500; the page does not use it.
UNSUPPORTED_PATHS = re.compile(r"^/gradio_api/call/v2(?:/|$)")


@dataclass(frozen=True)
class Policy:
    """What the guard lets through.

    ``host``: the address the server was asked to listen on. ``allowed_hosts``:
    further names a browser may use for it. ``fn_indices`` and ``api_names``:
    the page's own events, so calls naming others are refused as 4xx.
    ``inputs``: each event's input kinds (rag.chat.calls.input_kind), by
    fn_index and by api name, so calls with wrong-typed values are refused.
    ``max_upload``: bytes one upload request may carry; ``uploads``: where
    the page keeps them (rag.chat.upload_store). Without a store every upload
    is refused, whatever its size.
    """

    host: str
    allowed_hosts: frozenset[str] = frozenset()
    fn_indices: frozenset[int] = frozenset()
    api_names: frozenset[str] = frozenset()
    max_upload: int = 0
    inputs: Mapping[int | str, tuple[str, ...]] | None = None
    uploads: UploadStore | None = None
    extra_headers: tuple[tuple[bytes, bytes], ...] = field(default=SECURITY_HEADERS)

    def host_names(self) -> frozenset[str]:
        names = {*LOOPBACK_NAMES, *(h.lower().strip("[]") for h in self.allowed_hosts)}
        if not is_wildcard(self.host):
            names.add(self.host.lower().strip("[]"))
        return frozenset(names)


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def split_host(value: str) -> tuple[str, int | None] | None:
    """``name:port`` or ``[v6]:port`` as (lower-case name, port); None if malformed."""
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^\[\]:/@\s]+)(?::(\d{1,5}))?", value)
    if not m:
        return None
    name = m.group(1).strip("[]").lower()
    port = int(m.group(2)) if m.group(2) else None
    if m.group(1).startswith("[") and _ip(name) is None:
        return None
    return name, port


def _headers(scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers") or ():
        name = key.decode("latin-1").lower()
        if name in out:  # two Host or Origin headers: ambiguous, keep a value that cannot match
            out[name] = "\x00duplicate"
        else:
            out[name] = value.decode("latin-1")
    return out


def check_host(policy: Policy, scope, headers: dict[str, str]) -> None:
    """DNS rebinding sends the attacker's name as Host: only the served
    address, loopback names and configured names are answered, on the served port."""
    raw = headers.get("host")
    parsed = split_host(raw) if raw else None
    if parsed is None:
        raise Refusal(400, "missing or malformed Host header")
    name, port = parsed
    server = scope.get("server")
    served_port = server[1] if server and len(server) > 1 else None
    default = 443 if scope.get("scheme") in ("https", "wss") else 80
    if served_port is not None and (port or default) != served_port:
        raise Refusal(400, f"Host {raw!r} names another port than this server's")
    if name in policy.host_names():
        return
    # Bound to every interface: any address literal reaches it legitimately,
    # and a literal cannot be rebound to another address.
    if is_wildcard(policy.host) and _ip(name) is not None:
        return
    raise Refusal(400, f"Host {raw!r} is not an address this server answers to")


def check_origin(scope, headers: dict[str, str]) -> None:
    """A request another site's page sends: refused unless it is a plain navigation."""
    origin = headers.get("origin")
    if origin is not None:
        m = re.fullmatch(r"(https?|wss?)://([^/]+)/?", origin.strip(), re.IGNORECASE)
        ours = split_host(headers.get("host", ""))
        theirs = split_host(m.group(2)) if m else None
        if (
            ours is None
            or theirs is None
            or m is None
            or _site(m.group(1), theirs) != _site(scope.get("scheme", "http"), ours)
        ):
            raise Refusal(403, "cross-origin request refused")
    site = headers.get("sec-fetch-site", "").lower()
    if site in ("cross-site", "same-site") and headers.get("sec-fetch-mode", "").lower() != "navigate":
        raise Refusal(403, "cross-site request refused")


def _site(scheme: str, parsed: tuple[str, int | None]) -> tuple[bool, str, int]:
    secure = scheme.lower() in ("https", "wss")
    name, port = parsed
    return secure, name, port or (443 if secure else 80)


def check_path(scope, headers: dict[str, str], policy: Policy) -> None:
    path = scope.get("path", "")
    # Decoded already (%3A%2F%2F arrives as "://"): a URL anywhere in the path
    # is refused before Gradio could resolve its host.
    if "://" in path:
        raise Refusal(403, "this server fetches no URL")
    if PROXY_PATH.match(path):
        raise Refusal(403, "this server proxies nothing")
    if UNSUPPORTED_PATHS.match(path):
        raise Refusal(404, "not found")
    served = FILE_PATHS.match(path)
    if served and (
        PRIVATE_FOLDER.search(served.group(1)) or PRIVATE_FOLDER.search(os.path.realpath(served.group(1) or "."))
    ):
        raise Refusal(403, "uploaded files are not served")
    if scope.get("type") != "http":
        return
    content_type = headers.get("content-type", "").lower()
    if (UPLOAD_PATHS.match(path) or content_type.startswith("multipart/")) and policy.uploads is None:
        raise Refusal(413, "this server accepts no uploads")
    if content_type.startswith("multipart/") and not UPLOAD_PATH.match(path):
        raise Refusal(415, "files are uploaded only to /gradio_api/upload")
    if UPLOAD_PATHS.match(path) and not UPLOAD_PATH.match(path):
        raise Refusal(404, "not found")


Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class Guard:
    """ASGI middleware applying a ``Policy`` to every HTTP and WebSocket request.

    ``preflights_only``: this instance sees only ``OPTIONS`` requests and lets
    every other one through to the app. Gradio puts its own CORS middleware
    outside the app's, and that answers a CORS preflight itself (200, the
    origin reflected, credentials allowed) before the guard is reached; rag
    wraps the whole app in such an instance too (rag.chat.serve), so a
    preflight passes the same Host and Origin gate and carries the headers.
    """

    def __init__(self, app, policy: Policy, preflights_only: bool = False):
        self.app = app
        self.policy = policy
        self.preflights_only = preflights_only

    async def __call__(self, scope, receive: Receive, send: Send) -> None:
        preflight = scope["type"] == "http" and scope.get("method") == "OPTIONS"
        if scope["type"] not in ("http", "websocket") or (self.preflights_only and not preflight):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        store = self.policy.uploads
        token = token_from(headers.get("cookie", "")) if store is not None else None
        issued = (lambda path: store.issued(token, path)) if store is not None else (lambda path: False)
        try:
            check_host(self.policy, scope, headers)
            check_origin(scope, headers)
            check_path(scope, headers, self.policy)
            if scope["type"] == "http" and store is not None and UPLOAD_PATH.match(scope["path"]):
                await self._upload(scope, receive, send, headers, token or new_token())
                return
            if scope["type"] == "http" and scope.get("method") in BODY_METHODS:
                # Every body is read here (bounded) and judged before Gradio parses it.
                body = await _read_body(receive, MAX_JSON_BODY, headers)
                if scope.get("method") == "POST" and CALL_PATHS.match(scope["path"]):
                    body = check_call(scope["path"], body, self.policy, issued)
                else:
                    check_body(body, issued)
                receive = _replay(body, receive)
        except Refusal as refusal:
            await self._refuse(scope, send, refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._pass(scope, receive, send, cookie=None if store is None or token or preflight else new_token())

    async def _upload(self, scope, receive: Receive, send: Send, headers: dict[str, str], token: str) -> None:
        """The upload route, answered here (rag.chat.upload_store): Gradio never stores an upload."""
        store = self.policy.uploads
        if store is None:  # only called with a store
            raise Refusal(413, "this server accepts no uploads")
        if scope.get("method") != "POST":
            raise Refusal(405, "uploads are POSTed")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.policy.max_upload:
            raise Refusal(413, f"request body over {self.policy.max_upload} bytes")
        received, done = 0, False

        async def chunks() -> bytes | None:
            nonlocal received, done
            if done:
                return None
            message = await receive()
            if message["type"] == "http.disconnect":
                raise UploadRefused(400, "client went away")
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.policy.max_upload:
                raise UploadRefused(413, f"request body over {self.policy.max_upload} bytes")
            done = not message.get("more_body")
            return chunk

        try:
            paths = await store.receive(token, headers.get("content-type", ""), chunks)
        except UploadRefused as refused:
            raise Refusal(refused.status, refused.message) from None
        await self._respond(send, 200, paths_json(paths), cookie=token)

    async def _pass(self, scope, receive: Receive, send: Send, cookie: str | None = None) -> None:
        """Hand the request to Gradio, adding the security headers (and a new
        visitor's upload cookie, rag.chat.upload_store) to its response."""
        started = False
        extra = self.policy.extra_headers + (((b"set-cookie", set_cookie(cookie)),) if cookie else ())
        held: list[dict] = []  # an HTML page's messages, until its inline scripts are hashed

        async def send_with_headers(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if scope.get("path") == "/" and is_html(message):
                    held.append(message)
                    return
                message = with_headers(message, extra)
            elif held:
                held.append(message)
                size = sum(len(m.get("body", b"")) for m in held[1:])
                if message.get("more_body") and size <= MAX_HTML_HELD:
                    return
                body = b"".join(m.get("body", b"") for m in held[1:])
                headers = extra
                if not message.get("more_body"):
                    headers = tuple((k, csp_for(body) if k == b"content-security-policy" else v) for k, v in headers)
                await send(with_headers(held[0], headers))
                message = {**message, "body": body}
                held.clear()
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Answered here rather than by Starlette's outer handler, so the
            # 500 carries the security headers too; the traceback goes to the log.
            log.exception("unhandled error serving %s", scope.get("path"))
            if not started:
                await self._respond(send, 500, "internal error")
            else:
                raise

    async def _refuse(self, scope, send: Send, refusal: Refusal) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self._respond(send, refusal.status, refusal.message)

    async def _respond(self, send: Send, status: int, message: str | bytes, cookie: str | None = None) -> None:
        """A response of our own: ``message`` as {"detail": …}, or JSON bytes as they are."""
        body = message if isinstance(message, bytes) else json.dumps({"detail": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *self.policy.extra_headers,
                    *(((b"set-cookie", set_cookie(cookie)),) if cookie else ()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"request body over {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands on the body already read, then the client's own
    messages (a streaming response listens there for the disconnect)."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
