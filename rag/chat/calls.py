"""Request bodies judged before Gradio parses them: the page's calls, and any
other JSON a client sends. Part of rag.chat.guard.

A call (``queue/join``, ``run/…``, ``call/…``) must be a JSON object naming one
of the page's own events, with ``data`` a list holding a value of the right
JSON type for each of that event's inputs; otherwise Gradio answered 500
(unknown ``fn_index``, ``data: null``, too few values, a string where a list
belongs). Every body, a call's or not, may name files only as rag.chat.filerefs
allows, so Gradio never fetches a URL or copies a file for a request.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Mapping

from rag.chat import filerefs
from rag.text import has_invalid, json_depth, valid_data

# A question is read up to 16,000 characters, then cut to 1,000 (rag.answer.question); a JSON body a
# few times that size is room enough for the page's calls, and bounds the
# memory one request can take before it is refused.
MAX_JSON_BODY = 1 << 20
# The page's calls nest two or three levels; Gradio's own models recurse per level.
MAX_JSON_DEPTH = 32
STATE = "state"  # the page's own state (gr.State): Gradio ignores what a client sends for it
# JSON types each input's schema (Gradio's ``api_info()``) names; "any" takes every value.
JSON_TYPES: Mapping[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def input_kind(schema: dict) -> str:
    """An input's JSON type from its ``api_info()`` schema ("any" when it names none, or several)."""
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        item = items.get("type") if isinstance(items, dict) else None
        return f"array of {item}" if isinstance(item, str) and item in JSON_TYPES else "array"
    if schema.get("$defs") is not None or "anyOf" in schema or "oneOf" in schema:
        return "any"  # files (FileData or a list of them): their shape is rag.chat.filerefs' to judge
    return kind if isinstance(kind, str) and kind in JSON_TYPES else "any"


def _fits(value, kind: str) -> bool:
    if value is None or kind in ("any", STATE):
        return True  # Gradio hands None on as "no value"; each event's function takes it
    if kind.startswith("array of "):
        check = JSON_TYPES[kind.removeprefix("array of ")]
        return isinstance(value, list) and all(check(v) for v in value)
    return JSON_TYPES[kind](value)


def _parse(body: bytes):
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refusal(400, "request body is not valid JSON") from None


def check_body(body: bytes, issued: Callable[[str], bool]) -> None:
    """Any other request's body: if it is JSON, the file references in it."""
    try:
        payload = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return  # not JSON: nothing Gradio would walk for files
    if json_depth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Refusal(422, f"request body nests more than {MAX_JSON_DEPTH} levels")
    refused = filerefs.refusal(payload, issued)
    if refused:
        raise Refusal(*refused)


def check_call(path: str, body: bytes, policy, issued: Callable[[str], bool]) -> bytes:
    """A call naming a function: its JSON must be an object with a known
    ``fn_index`` or api name and ``data`` a list of values that fit that
    function's inputs, naming no file but its sender's uploads; or it is
    refused as 4xx. ``policy``: rag.chat.guard.Policy.

    Returns the body to hand on: the same bytes, or, when its strings hold
    lone surrogates (JSON escapes such as \\ud800, which no text encoder
    takes), the same JSON with each replaced by U+FFFD; the question's notes
    then tell the user (rag.answer.question).
    """
    payload = _parse(body)
    if not isinstance(payload, dict):
        raise Refusal(422, "request body must be a JSON object")
    if json_depth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Refusal(422, f"request body nests more than {MAX_JSON_DEPTH} levels")
    if "data" in payload and not isinstance(payload["data"], list):
        raise Refusal(422, "'data' must be a list")
    fn_index = payload.get("fn_index")
    if fn_index is not None and (
        isinstance(fn_index, bool) or not isinstance(fn_index, int) or fn_index not in policy.fn_indices
    ):
        raise Refusal(422, "unknown fn_index")
    m = re.match(r"^/gradio_api/(?:run|api|call)/([^/]+)/?$", path)
    named = m.group(1) if m and m.group(1) != "predict" else None
    if named is not None and named not in policy.api_names:
        raise Refusal(404, "no such endpoint")
    if path.rstrip("/").endswith("/queue/join"):
        if fn_index is None or not isinstance(payload.get("session_hash"), str):
            raise Refusal(422, "fn_index and session_hash are required")
    if path.rstrip("/").endswith("/run/predict") and fn_index is None:
        raise Refusal(422, "fn_index is required")
    refused = filerefs.refusal(payload, issued)
    if refused:
        raise Refusal(*refused)
    kinds = (policy.inputs or {}).get(fn_index if named is None else named)
    if kinds is not None and "data" in payload:
        _check_data(payload["data"], kinds, named is not None)
    if b"\\u" in body and has_invalid(json.dumps(payload, ensure_ascii=False)):
        return json.dumps(valid_data(payload)).encode()
    return body


def _check_data(data: list, kinds: tuple[str, ...], by_name: bool) -> None:
    """One value per input; a call by api name may leave out the page's own state
    (Gradio fills it in, ``prepare_simple_api_data``)."""
    if by_name and len(data) != len(kinds):
        kinds = tuple(k for k in kinds if k != STATE) if len(data) == sum(k != STATE for k in kinds) else kinds
    if len(data) != len(kinds):
        raise Refusal(
            422, f"'data' must hold {len(kinds)} value{'' if len(kinds) == 1 else 's'} for this event, not {len(data)}"
        )
    for i, (value, kind) in enumerate(zip(data, kinds)):
        if not _fits(value, kind):
            raise Refusal(422, f"'data' value {i + 1} must be {_DESCRIBED.get(kind, kind)}, or null")


_DESCRIBED = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "array of string": "a list of text",
    "array of number": "a list of numbers",
}
