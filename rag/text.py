"""Text that enters rag made valid, and text that leaves it made safe to show.

In: argv, file names and JSON can carry what is not Unicode text: bytes
that are not UTF-8 (Python keeps them as lone surrogates, U+DC80-U+DCFF) and
lone surrogates written as JSON escapes. Tokenizers, JSON encoders and files
opened as UTF-8 all fail on those, far from where they came in, so each is
replaced by U+FFFD once, where the text enters.

Out: corpus files, eval files and even file names can hold escape sequences
(ESC, the 8-bit CSI 0x9b, OSC ... BEL) that retitle a window, rewrite the
clipboard or hide output. Click only strips CSI colour codes, and only when
the output is not a terminal, so every piece of such text goes through here.
"""

from __future__ import annotations

import json
import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional
# overrides that make a terminal show text in another order than it is.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Line breaks a terminal, an editor or Markdown may honour: CR, LF, VT, FF, NEL, LS, PS.
_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
# JSON escapes C0 controls itself; DEL and C1 controls it leaves raw.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069):
# each makes what follows show in another order than it is stored ("Trojan Source").
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    """``text`` with each bidirectional control replaced by U+FFFD, as ``safe`` does for a terminal."""
    return _BIDI.sub(REPLACEMENT, text)


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (an undecodable byte from argv or a
    file name, or a JSON escape such as ``\\ud800``) replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text)


def has_invalid(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def valid_data(obj):
    """A JSON value with ``valid_text`` applied to every string in it (keys too)."""
    if isinstance(obj, str):
        return valid_text(obj)
    if isinstance(obj, list):
        return [valid_data(v) for v in obj]
    if isinstance(obj, dict):
        return {valid_text(k) if isinstance(k, str) else k: valid_data(v) for k, v in obj.items()}
    return obj


def json_depth(value, limit: int) -> int:
    """How deeply ``value`` nests (a scalar is 0), counted up to ``limit + 1``, without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def safe(text: str) -> str:
    """Multi-line text: each unprintable character (and lone surrogate) becomes U+FFFD."""
    return _UNPRINTABLE.sub(REPLACEMENT, valid_text(str(text)))


def safe_line(text: str) -> str:
    """One line (an error or warning): line breaks become spaces, too."""
    return safe(_BREAKS.sub(" ", str(text)))


def safe_name(text: str) -> str:
    """A name (file, document id, title) on one line: a line break in it shows
    as ⏎, so a name can neither forge an output line nor hide that it has one."""
    return safe(_BREAKS.sub("\u23ce", str(text)))


def safe_json(obj, **kwargs) -> str:
    """JSON that keeps non-ASCII text readable but lets no control character through raw.

    The characters are escaped (``\\u009b``), so a JSON reader still gets the
    exact text back.
    """
    text = json.dumps(valid_data(obj), ensure_ascii=False, **kwargs)
    # Outside strings JSON has no such characters, so escaping them is lossless.
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
