"""What an index was built from, and the check that it still matches.

The manifest is the index's identity: format, library versions, model,
chunking, the sha256 of every source document and of every file written, and
one fingerprint over all of it. A changed setting is a different index,
never a silently stale one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rag.errors import IndexCorrupt, IndexMismatch
from rag.index.generations import describe_os_error, read_regular

# 2: sentence layer; 3: chunk vectors summed from sentences; 4: names in full
# (rag.ingest.names); 5: the fingerprint covers the whole manifest; 6: document
# blocks and page labels, units with kinds and headings, compact word pieces; 7: units
# embedded after their heading.
FORMAT_VERSION = 7
LIBRARIES = ("rag", "faiss-cpu", "sentence-transformers", "langchain-text-splitters", "bm25s", "numpy")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


UNSIGNED = ("fingerprint", "built_at", "seal")
REQUIRED = ("format_version", "libraries", "model", "chunking", "documents", "store", "files", "corpus")


def fingerprint(manifest: dict) -> str:
    """sha256 over the whole manifest but the fingerprint itself and ``built_at``.

    The ``files`` table (every file's size and sha256) and ``corpus`` are
    covered too: with them outside, editing a file and its entry to match
    went unnoticed, and ``corpus.folder`` chose what every `rag ask` walks.
    ``built_at`` is left out so that the same content built twice is the same
    index (adding a document and removing it again restores the fingerprint);
    editing it changes nothing that is read.
    """
    return sha256_bytes(signed_bytes(manifest))


def signed_bytes(manifest: dict) -> bytes:
    """What the fingerprint and the seal (rag.index.seal) cover: the canonical manifest but UNSIGNED."""
    return _canonical({k: v for k, v in manifest.items() if k not in UNSIGNED})


def seal_manifest(manifest: dict) -> dict:
    """``manifest`` with its fingerprint and its seal, as a build writes it."""
    from rag.index.seal import SEAL, seal

    return {**manifest, "fingerprint": fingerprint(manifest), SEAL: seal(signed_bytes(manifest))}


def check_trusted(manifest: dict, where: str, rebuild_hint: str) -> None:
    """The manifest is as this machine's rag wrote it: its fingerprint matches,
    and its seal is this user's key's (rag.index.seal). Checked before any
    other file of the index, or anything outside it, is read."""
    from rag.index.seal import SEAL, check_seal

    try:
        stored_fp = manifest["fingerprint"]
        actual_fp = fingerprint(manifest)
    except (TypeError, ValueError) as err:  # keys or values JSON cannot hold canonically
        raise IndexCorrupt(f"{where}/manifest.json is malformed ({err}); {rebuild_hint}") from err
    if stored_fp != actual_fp:
        raise IndexCorrupt(f"{where}/manifest.json was edited (fingerprint does not match); {rebuild_hint}")
    check_seal(manifest.get(SEAL), signed_bytes(manifest), where, rebuild_hint)


@dataclass(frozen=True)
class Expected:
    """What the caller is about to use the index with; None means "any"."""

    model_name: str | None = None
    model_dim: int | None = None
    chunking: dict | None = None
    documents: dict[str, str] | None = None  # doc_id -> sha256 of the current corpus


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / "manifest.json"
    try:
        manifest = json.loads(read_regular(path).decode("utf-8"))
    except FileNotFoundError:
        raise
    except OSError as err:
        raise IndexCorrupt(f"{path} is unreadable ({describe_os_error(err)}); run `rag index` to rebuild") from err
    except (ValueError, RecursionError) as err:
        raise IndexCorrupt(f"{path} is unreadable ({str(err)[:200]}); run `rag index` to rebuild") from err
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{path} is not a manifest; run `rag index` to rebuild")
    return manifest


def _describe_corpus_change(built: dict[str, str], now: dict[str, str]) -> str:
    changes = [f"{d} added" for d in sorted(now.keys() - built.keys())]
    changes += [f"{d} removed" for d in sorted(built.keys() - now.keys())]
    changes += [f"{d} changed" for d in sorted(built.keys() & now.keys()) if built[d] != now[d]]
    shown = ", ".join(changes[:3]) + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")
    return shown


def check_manifest(manifest: dict, index_dir: Path, expected: Expected, rebuild_hint: str) -> None:
    """Raise IndexMismatch naming the first field that differs, and the fix."""
    where = str(index_dir)
    version = manifest.get("format_version")
    if type(version) is not int:  # "4" is not 4, and True would pass for 1
        raise IndexCorrupt(
            f"{where}/manifest.json has format_version {json.dumps(version)[:40]}, not a whole number; {rebuild_hint}"
        )
    if version != FORMAT_VERSION:
        raise IndexMismatch(
            f"{where} has index format {version}, this rag reads format {FORMAT_VERSION}; {rebuild_hint}"
        )
    missing = next((k for k in ("fingerprint", *REQUIRED) if k not in manifest), None)
    if missing is not None:
        raise IndexCorrupt(f"{where}/manifest.json lacks '{missing}'; {rebuild_hint}")
    check_trusted(manifest, where, rebuild_hint)
    model = manifest["model"]
    if expected.model_name is not None and model.get("name") != expected.model_name:
        raise IndexMismatch(
            f"{where} was built with model {model.get('name')}, but the configured model is "
            f"{expected.model_name}; {rebuild_hint}"
        )
    if expected.model_dim is not None and model.get("dim") != expected.model_dim:
        raise IndexMismatch(
            f"{where} holds {model.get('dim')}-dimensional vectors, the model gives "
            f"{expected.model_dim}; {rebuild_hint}"
        )
    if expected.chunking is not None:
        for key, value in expected.chunking.items():
            if manifest["chunking"].get(key) != value:
                raise IndexMismatch(
                    f"{where} was built with {key}={manifest['chunking'].get(key)!r}, not {value!r}; {rebuild_hint}"
                )
    if expected.documents is not None:
        built = {d: info["sha256"] for d, info in manifest["documents"].items()}
        if built != expected.documents:
            raise IndexMismatch(
                f"the corpus changed since {where} was built "
                f"({_describe_corpus_change(built, expected.documents)}); {rebuild_hint}"
            )
