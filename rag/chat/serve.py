"""Start the chat page with safe settings.

Gradio is imported only inside these functions: ``rag`` must stay usable (and
importable) without the ``ui`` extra. The page itself is ``rag.chat.app``,
inside the package, so an installed wheel serves it too.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import sys
from pathlib import Path
from types import ModuleType

from rag.pipeline import Rag
from rag.errors import RagError
from rag.settings import settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
QUEUE_SIZE = 16  # questions waiting beyond this are refused (HTTP 503), not piled up
# Measured with benchmarks/load.py on 2 cores (benchmarks/LOAD.md): an answer
# spends most of its time in streaming pauses, so 4 at once answer ~1.5x as
# many questions per second as 2, for ~110 MiB more; 8 adds little and 1 GiB.
CONCURRENCY = 4  # answers computed at once
# One torch thread per answer: with two, a query embedding took 5x longer when
# the other core was busy (benchmarks/load_threads.py); the server gained nothing.
TORCH_THREADS = 1
# Gradio keeps every session's state and last outputs (the chat's HTML) in
# memory, 10,000 sessions by default: memory grew ~50 KiB per question with no
# end in sight (benchmarks/LOAD.md). The oldest conversations beyond this many
# are forgotten (a follow-up then starts afresh); memory stays bounded.
SESSIONS_KEPT = 100
MAX_UPLOAD = "0b"  # the page takes no files; Gradio's upload route would store and serve any


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def adding_allowed(host: str, read_only: bool | None = None) -> bool:
    """Whether the page adds and removes documents: ``--read-only`` or
    ``--allow-adding`` decide; without either, only on a loopback host (the
    page has no login, and an upload writes to this machine's disk)."""
    return (not read_only) if read_only is not None else is_loopback(host)


def host_warning(host: str) -> str | None:
    """What to tell the user when the page will be reachable from other machines."""
    if is_loopback(host):
        return None
    return (f"rag: warning: serving on {host}, reachable from other machines; the page has no login. "
            f"Use --host 127.0.0.1 to keep it local.")


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


def launch_settings(host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT, max_file_size=MAX_UPLOAD) -> dict:
    """``launch()`` arguments: local only, no share link, no monitoring, no extra files."""
    return dict(
        server_name=host,
        server_port=port,
        share=False,
        enable_monitoring=False,
        ssr_mode=False,
        strict_cors=True,
        max_file_size=max_file_size,
        state_session_capacity=SESSIONS_KEPT,
        allowed_paths=[],
        mcp_server=False,
        pwa=False,
        show_error=True,
        inbrowser=False,
    )


def prepare(rag: Rag) -> None:
    """Torch threads as measured, and the model loaded before the first visitor
    (otherwise the first question waits seconds, and concurrent first questions
    would each load it)."""
    import torch

    torch.set_num_threads(settings().torch_threads or TORCH_THREADS)
    rag.ask("warm up")  # model, sentence scorer and retrievers, all before the port opens


def start(rag: Rag, host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT, block: bool = True,
          quiet: bool = False, adding: bool = False):
    """Build and launch the page for ``rag``; returns ``(demo, url)`` when not blocking.

    ``adding``: the page adds and removes documents (rag.chat.uploads), and
    takes uploads of at most the per-file limit; otherwise it takes none."""
    from rag.ingest.loaders.limits import Limits

    warning = host_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    app = load_app()
    prepare(rag)
    demo = app.build_demo(rag, adding=adding)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY, api_open=False)
    max_file_size = Limits.from_env().file_bytes if adding else MAX_UPLOAD
    _, url, _ = demo.launch(**launch_settings(host, port, max_file_size), prevent_thread_lock=not block, quiet=quiet,
                            css=app.CSS)
    return demo, url


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, index_dir: str | Path | None = None) -> None:
    """``rag serve``: open the index, then serve until interrupted."""
    start(Rag.open(index_dir), host, port, block=True)
