"""An index's seal: a keyed MAC over its manifest, so that an index is
trusted only if a rag holding this user's key wrote it.

The manifest's fingerprint and its table of file sizes and sha256 catch
accidents: a truncated file, a flipped bit, an edit that forgot to update
the table. Anyone can recompute them, though: an index whose text was edited
and whose table and fingerprint were recomputed ("re-sealed") was quoted as
verbatim corpus text. The seal is HMAC-SHA256 under a key that never lives in
an index folder (``key_path()``: RAG_KEY_FILE, else the user's config
folder), over the same canonical manifest the fingerprint covers; and since
the manifest lists every file's sha256, the seal covers every byte that is
read. Without the key an index cannot be made that this machine accepts.

The key is made (32 random bytes, readable by its owner only) the first time
an index is built. An index built elsewhere, by an older rag, or with another
key is refused with one line; rebuilding it with `rag index` seals it here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from rag.errors import IndexCorrupt

SEAL = "seal"
_CONTEXT = b"rag index seal v1\n"  # so this key's MACs mean nothing anywhere else


def key_path() -> Path:
    """RAG_KEY_FILE, else $XDG_CONFIG_HOME/rag/index.key, else ~/.config/rag/index.key."""
    from rag.settings import settings

    configured = settings().key_file
    if configured is not None:
        return configured
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "rag" / "index.key"


def _read_key(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise IndexCorrupt(
            f"cannot read the index key {path} ({err}); remove it and rebuild with `rag index`"
        ) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise IndexCorrupt(f"the index key {path} is malformed; remove it and rebuild with `rag index`")
    return key


def _key(create: bool) -> bytes | None:
    path = key_path()
    key = _read_key(path)
    if key is not None or not create:
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: two first builds at once agree on one key (the loser reads the winner's).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return _read_key(path)


def _mac(key: bytes, canonical: bytes) -> str:
    return hmac.new(key, _CONTEXT + canonical, hashlib.sha256).hexdigest()


def seal(canonical: bytes) -> str:
    """The seal of a manifest given as its canonical bytes (rag.index.manifest); makes the key if need be."""
    key = _key(create=True)
    if key is None:  # removed between being written and read back
        raise IndexCorrupt(f"the index key {key_path()} was removed while it was made; build again")
    return _mac(key, canonical)


def check_seal(stored, canonical: bytes, where: str, hint: str) -> None:
    """IndexCorrupt, in one line, unless ``stored`` is this key's seal of ``canonical``."""
    if not isinstance(stored, str) or not stored:
        raise IndexCorrupt(f"{where} is not sealed (built by an older rag, or elsewhere); {hint}")
    key = _key(create=False)
    if key is None:
        raise IndexCorrupt(f"{where} is sealed with a key this machine does not have ({key_path()}); {hint}")
    if not hmac.compare_digest(stored, _mac(key, canonical)):
        raise IndexCorrupt(f"{where} was changed or sealed elsewhere (its seal does not match {key_path()}); {hint}")
