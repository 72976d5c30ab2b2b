"""One pymilvus client per Milvus target in a process (Milvus Lite lets one
process at a time open a file), with rag's own one-line errors."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.settings import StoreSpec

LITE_STARTS = 3  # tries at starting Milvus Lite's engine


def _client_class():
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise RagError(
            "the milvus store needs pymilvus and milvus-lite: install rag with its milvus extra "
            "(pip install -e '.[milvus]')"
        ) from None
    # pymilvus logs a WARNING line for each iterator Milvus Lite gives no
    # timestamp to, and milvus-lite logs its failures on the root logger;
    # rag's own one-line messages say what went wrong.
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    root = logging.getLogger()
    if not any(isinstance(f, _FromMilvusLite) for f in root.filters):
        root.addFilter(_FromMilvusLite())
    return MilvusClient


class _FromMilvusLite(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}milvus_lite{os.sep}" not in record.pathname


_clients: dict[str, Any] = {}  # target -> pymilvus.MilvusClient


def connect(spec: StoreSpec):
    """A MilvusClient for ``spec`` (one per target in a process; Milvus Lite
    lets one process at a time open a file)."""
    client = _clients.get(spec.target)
    if client is not None:
        return client
    MilvusClient, client, detail = _client_class(), None, ""
    if spec.lite:
        Path(spec.target).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(LITE_STARTS if spec.lite else 1):
        try:
            with warnings.catch_warnings():
                # milvus-lite 2.5 reads its version with pkg_resources, which warns it is deprecated.
                warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
                client = MilvusClient(uri=spec.target, timeout=30)
            break
        except Exception as err:  # pymilvus raises its own kinds, and grpc's
            detail = _reason(err)
            if not (spec.lite and "Fail connecting to server" in detail and attempt + 1 < LITE_STARTS):
                break
            # Milvus Lite's engine was started but did not answer in time (a
            # busy machine): stop it and start it again.
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(spec.target)
    if client is None:
        if spec.lite and "Open local milvus failed" in detail:
            raise RagError(
                f"cannot open the Milvus Lite file {spec.target}: another process has it open (a "
                f"`rag serve`, or another rag command), or its engine did not start; stop that process "
                f"and try again"
            ) from None
        raise RagError(f"cannot reach the Milvus store {spec.target} ({detail})") from None
    _clients[spec.target] = client
    return client


def _reason(err: Exception) -> str:
    text = getattr(err, "message", None) or str(err)
    return " ".join(str(text).split())[:300]
