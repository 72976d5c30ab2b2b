"""Start the chat page with safe settings.

Gradio is imported only inside these functions: ``rag`` must stay usable (and
importable) without the ``ui`` extra. The page itself is ``rag.chat.app``,
inside the package, so an installed wheel serves it too.
"""

from __future__ import annotations

import atexit
import errno
import importlib
import ipaddress
import os
import socket
import sys
from pathlib import Path
from types import ModuleType

from rag.errors import RagError
from rag.pipeline import Rag
from rag.settings import settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# An answer holds a worker only while it is computed (tens of milliseconds on
# a quiet machine; the page reveals it, the server no longer paces it), so the
# queue can let everyone in that the machine answers within a few seconds:
# 50 people asking at once all get answers, and beyond 64 waiting a question
# is refused at once ("queue is full", HTTP 503) rather than left waiting
# (benchmarks/LOAD.md). Before, a 30 ms pause between streamed pieces held a
# worker for the whole stream, and 16 waiting places turned 120 of 200 away.
QUEUE_SIZE = 64
CONCURRENCY = 4  # answers computed at once: one per core and as many waiting on memory or the GIL
# One torch thread per answer: with two, a query embedding took 5x longer when
# the other core was busy (benchmarks/load_threads.py); the server gained nothing.
TORCH_THREADS = 1
# Gradio keeps every session's state and last outputs (the chat's HTML) in
# memory, 10,000 sessions by default: memory grew ~50 KiB per question with no
# end in sight (benchmarks/LOAD.md). The oldest conversations beyond this many
# are forgotten (a follow-up then starts afresh); memory stays bounded.
SESSIONS_KEPT = 100
MAX_UPLOAD = "0b"  # the page takes no files (Gradio's upload route never sees one: rag.chat.guard answers it)
MAX_UPLOAD_BYTES = 0  # what one upload request may carry on a page that does not add documents


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> str:
    """``host`` as an address to listen on, or a RagError naming what to give.

    Only address literals and ``localhost``: a name would be looked up (a
    query leaving the machine), and the Host check needs the exact address.
    """
    host = host.strip()
    if not host:
        raise RagError("--host is empty; give an address such as 127.0.0.1 (this machine only) or 0.0.0.0")
    if host == "localhost":
        return host
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        raise RagError(f"--host {host!r} is not an IP address; give one such as 127.0.0.1, ::1 or 0.0.0.0") from None


def url_host(host: str) -> str:
    """An IPv6 literal in brackets, as URLs (and Gradio's server_name) need it."""
    return f"[{host}]" if ":" in host else host


def check_port_free(host: str, port: int) -> None:
    """Bind and release ``host:port`` once, so that a taken port or a foreign
    address is reported as such (Gradio says "Cannot find empty port" for both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = "127.0.0.1" if host == "localhost" else host
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise RagError(
                    f"port {port} on {host} is already in use; stop what uses it, or choose "
                    f"another --port (0 picks a free one)"
                ) from None
            if err.errno == errno.EADDRNOTAVAIL:
                raise RagError(f"{host} is not an address of this machine; choose another --host") from None
            if err.errno == errno.EACCES:
                raise RagError(f"port {port} needs special privileges; choose a --port above 1023") from None
            raise RagError(f"cannot listen on {url_host(host)}:{port} ({err.strerror})") from None


def adding_allowed(host: str, read_only: bool | None = None) -> bool:
    """Whether the page adds and removes documents: ``--read-only`` or
    ``--allow-adding`` decide; without either, only on a loopback host (the
    page has no login, and an upload writes to this machine's disk)."""
    return (not read_only) if read_only is not None else is_loopback(host)


def host_warning(host: str) -> str | None:
    """What to tell the user when the page will be reachable from other machines."""
    if is_loopback(host):
        return None
    return (
        f"rag: warning: serving on {host}, reachable from other machines; the page has no login. "
        f"Use --host 127.0.0.1 to keep it local."
    )


def load_app() -> ModuleType:
    """``rag.chat.app``, with a clear error when the ui extra is missing."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return importlib.import_module("rag.chat.app")
    except ModuleNotFoundError as err:
        if err.name == "gradio":
            raise RagError("gradio is not installed; run scripts/install.sh eval,ui") from None
        raise


def event_inputs(demo) -> dict:
    """Each event's input kinds (rag.chat.calls.input_kind), by fn_index and by api name."""
    from rag.chat.calls import STATE, input_kind

    out: dict = {}
    for i, fn in demo.fns.items():
        kinds = tuple(STATE if block.stateful else input_kind(block.api_info()) for block in fn.inputs)
        out[int(i)] = kinds
        if isinstance(fn.api_name, str):
            out[fn.api_name] = kinds
    return out


def guard_middleware(demo, host: str, allowed_hosts=(), max_upload: int = MAX_UPLOAD_BYTES, uploads=None):
    """The Host/Origin/upload/URL gate (rag.chat.guard) for ``demo``'s own events;
    ``uploads``: the page's rag.chat.upload_store.UploadStore, None when it takes no files."""
    from starlette.middleware import Middleware

    from rag.chat.guard import Guard

    return Middleware(Guard, policy=guard_policy(demo, host, allowed_hosts, max_upload, uploads))


def preflight_gate(policy):
    """A lifespan that wraps the whole app, Gradio's CORS middleware included, in a
    guard for CORS preflights (rag.chat.guard.Guard, ``preflights_only``). It runs
    before the server accepts its first connection; the app's stack is built by then."""
    import contextlib

    from rag.chat.guard import Guard

    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.middleware_stack = Guard(app.middleware_stack or app.build_middleware_stack(), policy, preflights_only=True)
        yield

    return lifespan


def guard_policy(demo, host: str, allowed_hosts=(), max_upload: int = MAX_UPLOAD_BYTES, uploads=None):
    from rag.chat.guard import Policy

    return Policy(
        host=host,
        allowed_hosts=frozenset(allowed_hosts),
        fn_indices=frozenset(int(i) for i in demo.fns),
        api_names=frozenset(fn.api_name for fn in demo.fns.values() if isinstance(fn.api_name, str)),
        max_upload=max_upload if uploads is not None else 0,
        inputs=event_inputs(demo),
        uploads=uploads,
    )


def launch_settings(host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT, max_file_size=MAX_UPLOAD) -> dict:
    """``launch()`` arguments: local only, no share link, no monitoring, no extra files."""
    return {
        "server_name": url_host(host),
        "server_port": port,
        "share": False,
        "enable_monitoring": False,
        "ssr_mode": False,
        "strict_cors": True,
        "max_file_size": max_file_size,
        "state_session_capacity": SESSIONS_KEPT,
        "allowed_paths": [],
        "mcp_server": False,
        "pwa": False,
        # Exception text is for the log, not for visitors: the page shows
        # rag's own messages (RagError) itself, everything else as "Error".
        "show_error": False,
        # Gradio 6 records runs for a /runs page and offers to upload them to a
        # Hugging Face bucket, with a locally saved token if there is one.
        "run_history": False,
        "inbrowser": False,
    }


def prepare(rag: Rag) -> None:
    """Torch threads as measured, and the model loaded before the first visitor
    (otherwise the first question waits seconds, and concurrent first questions
    would each load it), with questions on the faster path (Rag.keep_warm)."""
    import torch

    torch.set_num_threads(settings().torch_threads or TORCH_THREADS)
    rag.keep_warm()  # model, sentence scorer and retrievers, all before the port opens


def start(
    rag: Rag,
    host: str = DEFAULT_HOST,
    port: int | None = DEFAULT_PORT,
    block: bool = True,
    quiet: bool = False,
    adding: bool = False,
    allowed_hosts=(),
):
    """Build and launch the page for ``rag``; returns ``(demo, url)`` once the
    port is open (when ``block``, only after the server stops).

    ``adding``: the page adds and removes documents (rag.chat.uploads), and
    takes uploads of at most the per-file limit; otherwise it takes none."""
    from rag.chat.upload_store import Quota, UploadStore
    from rag.ingest.loaders.limits import Limits

    host = check_host(host)
    warning = host_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    if port:
        check_port_free(host, port)
    app = load_app()
    prepare(rag)
    demo = app.build_demo(rag, adding=adding)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY, api_open=False)
    limits = Limits.from_env()
    uploads = UploadStore.create(Quota.from_env(limits)) if adding else None
    # Told to the browser and gradio_client, which check a file's size before sending it.
    max_file_size = limits.file_bytes if adding else MAX_UPLOAD
    # The gate's bound on one upload request: every file a page may send at
    # once at its largest, and room for the multipart framing.
    max_upload = limits.files * limits.file_bytes + (1 << 20) if adding else MAX_UPLOAD_BYTES
    from starlette.middleware import Middleware

    from rag.chat.guard import Guard

    policy = guard_policy(demo, host, allowed_hosts, max_upload, uploads)
    try:
        # A fresh app_kwargs each launch: Gradio adds to the dict it is given.
        _, url, _ = demo.launch(
            **launch_settings(host, port, max_file_size),
            prevent_thread_lock=True,
            quiet=True,
            css=app.CSS,
            theme=app.theme(),
            app_kwargs={"middleware": [Middleware(Guard, policy=policy)], "lifespan": preflight_gate(policy)},
        )
    except OSError as err:  # lost a race for the port since the check, or no free port in Gradio's range
        if uploads is not None:
            uploads.close()
        where = f"{url_host(host)}:{port or 'any port'}"
        raise RagError(f"cannot listen on {where} ({err}); choose another --port") from None
    if uploads is not None:
        atexit.register(uploads.close)
    if not quiet:
        print(f"Serving the chat page on {url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo, url


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, index_dir: str | Path | None = None) -> None:
    """``rag serve``: open the index, then serve until interrupted."""
    start(Rag.open(index_dir), host, port, block=True)
