"""File references in a request's JSON body, judged before Gradio sees them.

Gradio 6.31 walks every input value of every event (``Blocks.preprocess_data``
→ ``processing_utils.async_move_files_to_cache``) for dicts shaped like its
``FileData`` (a string ``path`` and ``meta._type == "gradio.FileData"``), and
fetches any ``http(s)://`` path through safehttpx (a DNS lookup and a
connect() from the server) before the event's function runs, whatever the
component: a "Search in" tick box or the chat's question box took one as
readily as the file picker. Other paths are copied into its cache folder.

So a body may name a file only by a path this server handed to the same
visitor from its upload route (rag.chat.upload_store); anything else shaped
like a file (a URL of any scheme, a path never issued, or a ``path`` that is
not a string) is refused as a whole request. The walk covers the whole body,
not only ``data``: ``event_data`` and anything Gradio may add later too.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

FILE_DATA = "gradio.FileData"
# "http:", "file:", "data:", "s3:" ... any scheme, and "//host/x" (scheme-relative).
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|[\\/]{2})")


def _file_like(value: dict) -> bool:
    """What Gradio's walkers (``is_file_obj``, ``is_file_obj_with_meta``) could take for a file."""
    meta = value.get("meta")
    return "path" in value or (isinstance(meta, dict) and meta.get("_type") == FILE_DATA)


def references(payload) -> Iterator[dict]:
    """Every file-shaped dict in a JSON value, outermost first, without recursion."""
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if _file_like(value):
                yield value
                continue  # Gradio stops at a file too; what it holds is the file's own fields
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def refusal(payload, issued: Callable[[str], bool]) -> tuple[int, str] | None:
    """(status, reason) for the first file reference the body may not carry, or None.

    ``issued(path)``: whether this server stored ``path`` for the visitor who sent the body.
    """
    for ref in references(payload):
        path = ref.get("path")
        if not isinstance(path, str):
            return 422, "a file reference needs a path"
        if _URL.match(path.strip()):
            return 403, "this server fetches no URL"
        if not issued(path):
            return 403, "a file may be named only as uploaded to this page by the same visitor"
    return None
