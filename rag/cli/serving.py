"""``rag serve``: the chat page on a port (rag.chat.serve does the safe launch)."""

from __future__ import annotations

import os

import click

from rag.cli.options import check_host_option, index_option, model_option


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="RAG_HOST",
    callback=check_host_option,
    help="Address to listen on (an IP address or localhost). Anything but loopback makes the page "
    "reachable from other machines.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7860,
    show_default=True,
    envvar="RAG_PORT",
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Another name browsers may use for this server in their Host header (repeatable). "
    "[default: the --host address and localhost, 127.0.0.1, [::1]]",
)
@index_option
@model_option
@click.option(
    "--read-only/--allow-adding",
    "read_only",
    default=None,
    help="Whether the page may add and remove documents. [default: it may on a loopback --host; "
    "on any other it is read-only]",
)
def serve(host, port, allowed_hosts, index_dir, model_path, read_only) -> None:
    """Serve the chat page (needs the ui extra) until interrupted."""
    # Lazy: the rest of the CLI works without gradio installed.
    from rag.chat.serve import adding_allowed, start
    from rag.embed.auto import default_embedder
    from rag.pipeline import Rag

    # One onnxruntime thread per answer, like torch in rag.chat.serve: answers run
    # side by side, and a pool waiting on a busy core stalls them all.
    os.environ.setdefault("RAG_THREADS", "1")
    rag = Rag.open(index_dir, default_embedder(model_path))
    # start() says where it serves once the port is open, not before.
    start(rag, host, port or None, block=True, adding=adding_allowed(host, read_only), allowed_hosts=allowed_hosts)
