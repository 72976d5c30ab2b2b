"""Text from files made safe to print on a terminal.

Corpus files, eval files and even file names can hold escape sequences
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
# JSON escapes C0 controls itself; DEL and C1 controls it leaves raw.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """Multi-line text: each unprintable character becomes U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", str(text))


def safe_line(text: str) -> str:
    """One line (an error or warning): newlines become spaces, too."""
    return safe(str(text).replace("\r\n", " ").replace("\n", " "))


def safe_json(obj, **kwargs) -> str:
    """JSON that keeps non-ASCII text readable but lets no control character through raw.

    The characters are escaped (``\\u009b``), so a JSON reader still gets the
    exact text back.
    """
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    # Outside strings JSON has no such characters, so escaping them is lossless.
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
