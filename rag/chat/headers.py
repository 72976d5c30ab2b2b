"""The security headers every response of the chat page carries, and the
page's Content-Security-Policy with its own inline scripts allowed by hash.
Part of rag.chat.guard."""

from __future__ import annotations

import base64
import hashlib
import re

# Checked in headless Chromium against the page (tests/test_csp_browser.py):
# every gr.HTML renders through Function(), hence 'unsafe-eval'; the page's
# own inline scripts are added by hash (csp_for).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


# Gradio's page (/) carries five inline scripts (its config, API info, mode, a
# loader, a padding fix); each is allowed by its sha256 in that page's own
# policy. Content cannot add one: Gradio writes the config with "<" escaped
# (gradio.routes.toorjson). Every other response gets the plain policy, as
# does a page larger than this.
MAX_HTML_HELD = 4 << 20
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def is_html(message: dict) -> bool:
    return any(
        k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in message.get("headers", ())
    )


def with_headers(message: dict, extra) -> dict:
    present = {k.lower() for k, _ in message.get("headers", ())}
    return {**message, "headers": [*message.get("headers", ()), *((k, v) for k, v in extra if k not in present)]}


def csp_for(html: bytes) -> bytes:
    """The policy with the page's own inline scripts allowed by hash."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
            for m in _INLINE_SCRIPT.finditer(html)
        }
    )
    policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self' 'unsafe-eval'", " ".join(["script-src 'self' 'unsafe-eval'", *hashes])
    )
    return policy.encode()
