"""Every setting in one place: the RAG_* environment variables, read once and
checked, and the numbers fitted for each embedding model.

``settings()`` is the process's configuration; code reads it instead of the
environment (docs/operating.md lists every variable). ``tuning_for(model_name)`` gives the weights and thresholds
fitted for that model (rag/tuning/*.json, written by `rag calibrate --ship`:
rag.evaluation.fit), or None for a model nobody fitted them for.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from rag.errors import RagError


class SettingsError(RagError):
    """An environment variable holds a value rag cannot use."""


def _env(name: str, help: str, default: str = "") -> Any:  # a dataclass field, typed as its attribute
    return field(default=None, metadata={"env": name, "help": help, "default": default})


@dataclass(frozen=True)
class Settings:
    corpus: Path | None = _env("RAG_CORPUS", "Folder of documents to index.", "corpus/ in the project")
    index: Path | None = _env("RAG_INDEX", "Index folder.", "index/default in the project")
    model: str | None = _env(
        "RAG_MODEL",
        "Embedding model: mpnet, minilm, or a sentence-transformers folder.",
        "mpnet when installed, else minilm",
    )
    backend: str = _env(
        "RAG_BACKEND",
        "How the model runs: auto (onnxruntime for queries, torch in bfloat16 "
        "for big builds and for the chat page's questions where the CPU has it), onnx, "
        "or torch.",
        "auto",
    )
    threads: int | None = _env("RAG_THREADS", "onnxruntime threads per encode.", "one per core, at most 4")
    torch_threads: int | None = _env("RAG_TORCH_THREADS", "torch threads in `rag serve`.", "1")
    bf16: bool = _env(
        "RAG_BF16",
        "0 keeps big builds, and the chat page's questions, in float32 even where the CPU has bfloat16.",
        "1",
    )
    device: str | None = _env(
        "RAG_DEVICE",
        "Where `rag index` runs its passes over the documents: cpu, or cuda / "
        "cuda:N (float32 on that GPU; needs a CUDA build of torch). Questions always run on the CPU.",
        "cpu",
    )
    cache: Path | None = _env(
        "RAG_CACHE", "Where unpacked models and the local ONNX export live.", "$XDG_CACHE_HOME/rag or ~/.cache/rag"
    )
    key_file: Path | None = _env(
        "RAG_KEY_FILE",
        "The key that seals every index this user builds (never "
        "inside an index); an index sealed with another key is refused.",
        "$XDG_CONFIG_HOME/rag/index.key or ~/.config/rag/index.key",
    )
    host: str | None = _env("RAG_HOST", "Address `rag serve` listens on.", "127.0.0.1")
    port: int | None = _env("RAG_PORT", "Port `rag serve` listens on.", "7860")
    debug: bool = _env("RAG_DEBUG", "1 shows the traceback of an internal error.", "unset")
    max_file_mb: float | None = _env(
        "RAG_MAX_FILE_MB", "Largest document file `rag add` and the page take, in MB.", "20"
    )
    max_files: int | None = _env("RAG_MAX_FILES", "Files the page takes in one upload.", "20")
    parse_seconds: float | None = _env(
        "RAG_PARSE_SECONDS", "Time one file may take to be read (its parser is stopped then).", "60"
    )
    parse_memory_mb: int | None = _env(
        "RAG_PARSE_MEMORY_MB", "Memory the process reading one file may use, in MB.", "1024"
    )
    answerability: str | None = _env(
        "RAG_ANSWERABILITY",
        "The answerability model that decides to answer or abstain (`rag info` lists them).",
        "logistic",
    )
    steps: tuple[str, ...] = _env(
        "RAG_STEPS",
        "Post-compose steps run on every answer, in order, comma-separated (`rag info` lists them).",
        "none",
    )
    upload_total_mb: float | None = _env(
        "RAG_UPLOAD_TOTAL_MB",
        "Uploads the chat page holds at once, all "
        "visitors together, in MB (one visitor holds at most RAG_MAX_FILES × "
        "RAG_MAX_FILE_MB).",
        "twice RAG_MAX_FILES × RAG_MAX_FILE_MB",
    )
    upload_expiry_s: float | None = _env(
        "RAG_UPLOAD_EXPIRY_S", "Seconds an upload the page has not added is kept before it is deleted.", "600"
    )
    store: "StoreSpec | None" = _env(
        "RAG_STORE",
        "Where `rag index` puts the candidate search: local (the "
        "index's own files; also `faiss`), milvus:PATH.db (Milvus Lite in a local "
        "file) or milvus:http://HOST:PORT (a Milvus server).",
        "the index's current store, else local",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        def get(name: str) -> str | None:
            value = environ.get(name)
            return value if value not in (None, "") else None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value) if value else None

        def whole(name: str, low: int, high: int) -> int | None:
            value = get(name)
            if value is None:
                return None
            if not re.fullmatch(r"\s*\d+\s*", value) or not low <= int(value) <= high:
                raise SettingsError(f"{name}={value!r} must be a whole number from {low} to {high}")
            return int(value)

        def positive(name: str) -> float | None:
            value = get(name)
            if value is None:
                return None
            try:
                number = float(value)
            except ValueError:
                number = 0.0
            if not 0 < number < float("inf"):
                raise SettingsError(f"{name}={value!r} must be a number above 0")
            return number

        def names(name: str) -> tuple[str, ...]:
            value = get(name) or ""
            found = tuple(part.strip() for part in value.split(",") if part.strip())
            if any(not re.fullmatch(r"[A-Za-z0-9_.-]+", part) for part in found):
                raise SettingsError(f"{name}={value!r} must be names separated by commas")
            return found

        backend = get("RAG_BACKEND") or "auto"
        if backend not in ("auto", "onnx", "torch"):
            raise SettingsError(f"RAG_BACKEND={backend!r} is not one of auto, onnx, torch")
        device = (get("RAG_DEVICE") or "cpu").strip().lower()
        if not re.fullmatch(r"cpu|cuda(:\d{1,3})?", device):
            raise SettingsError(f"RAG_DEVICE={get('RAG_DEVICE')!r} is not cpu, cuda or cuda:N")
        answerability = names("RAG_ANSWERABILITY")
        if len(answerability) > 1:
            raise SettingsError(f"RAG_ANSWERABILITY={get('RAG_ANSWERABILITY')!r} must name one model")
        return cls(
            corpus=path("RAG_CORPUS"),
            index=path("RAG_INDEX"),
            model=get("RAG_MODEL"),
            backend=backend,
            threads=whole("RAG_THREADS", 1, 256),
            torch_threads=whole("RAG_TORCH_THREADS", 1, 256),
            bf16=(get("RAG_BF16") or "1") != "0",
            device=None if device == "cpu" else device,
            cache=path("RAG_CACHE"),
            key_file=path("RAG_KEY_FILE"),
            host=get("RAG_HOST"),
            port=whole("RAG_PORT", 0, 65535),
            debug=bool(get("RAG_DEBUG")),
            max_file_mb=positive("RAG_MAX_FILE_MB"),
            max_files=whole("RAG_MAX_FILES", 1, 10_000),
            parse_seconds=positive("RAG_PARSE_SECONDS"),
            parse_memory_mb=whole("RAG_PARSE_MEMORY_MB", 64, 1 << 20),
            answerability=answerability[0] if answerability else None,
            steps=names("RAG_STEPS"),
            upload_total_mb=positive("RAG_UPLOAD_TOTAL_MB"),
            upload_expiry_s=positive("RAG_UPLOAD_EXPIRY_S"),
            store=parse_store(raw_store, "RAG_STORE") if (raw_store := get("RAG_STORE")) else None,
        )

    @staticmethod
    def documented() -> list[tuple[str, str, str]]:
        """(variable, default, description) for every setting, for docs/operating.md and --help."""
        return [(f.metadata["env"], f.metadata["default"], f.metadata["help"]) for f in fields(Settings)]


@dataclass(frozen=True)
class StoreSpec:
    """Where an index's candidate search runs (rag.retrieval.candidates): ``local``
    (its own files, searched in this process) or ``milvus`` with a ``target``,
    the path of a Milvus Lite file or the http(s) address of a Milvus server."""

    name: str
    target: str = ""

    @property
    def lite(self) -> bool:
        return self.name == "milvus" and not re.match(r"https?://", self.target)

    def __str__(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name


LOCAL = StoreSpec("local")


def parse_store(text: str, where: str = "--store") -> StoreSpec:
    """``local``/``faiss``, ``milvus:PATH.db`` or ``milvus:http://HOST:PORT``; a
    relative PATH is made absolute here, so the manifest names one file."""
    shown = f"{where}={text!r}" if where else repr(text)
    name, _, target = text.strip().partition(":")
    name = name.lower()
    if name in ("local", "faiss") and not target:
        return LOCAL
    if name == "milvus" and target:
        if re.match(r"https?://", target):
            if not re.fullmatch(r"https?://[^\s/:]+(:\d{1,5})?/?", target):
                raise SettingsError(f"{shown}: a Milvus server is milvus:http://HOST:PORT")
            return StoreSpec("milvus", target.rstrip("/"))
        # Milvus Lite takes only a file whose name ends in .db (pymilvus reads any
        # other address as a server's).
        if not target.endswith(".db"):
            raise SettingsError(f"{shown}: a Milvus Lite file must end in .db, e.g. milvus:index/store.db")
        return StoreSpec("milvus", os.path.abspath(os.path.expanduser(target)))
    raise SettingsError(f"{shown} is not a store: use local, milvus:PATH.db or milvus:http://HOST:PORT")


def settings() -> Settings:
    """The settings of this process, from its environment. Read on each call
    (a dozen lookups): a test or an embedding program may change the environment."""
    return Settings.from_env()


def cache_root() -> Path:
    """$RAG_CACHE, else $XDG_CACHE_HOME/rag, else ~/.cache/rag."""
    configured = settings().cache
    if configured is not None:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag"


# ------------------------------------------------------------------ tuning


@dataclass(frozen=True)
class Answerability:
    """A logistic model of "a passage here answers the question" over
    rag.answer.abstain.FEATURES; answer when its probability reaches
    ``threshold`` and the best sentence's cosine reaches ``dense_floor`` (below
    every answerable question it was fitted on: nothing there resembles the
    question, however its words happen to match). An answer whose probability
    is under ``sure`` comes with a caution: the band where about half of the
    out-of-scope questions that get past the threshold lie (rag calibrate's report)."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]  # features are standardised with these before the dot product
    scale: tuple[float, ...]
    threshold: float
    dense_floor: float = -1.0
    sure: float | None = None  # None (files from before it): no caution band

    @property
    def sure_threshold(self) -> float:
        return self.threshold if self.sure is None else max(self.sure, self.threshold)

    def probability(self, values: Mapping[str, float]) -> float:
        import math

        x = sum(c * (values[f] - m) / s for f, c, m, s in zip(self.features, self.coef, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-(x + self.intercept)))


@dataclass(frozen=True)
class Tuning:
    """Numbers fitted for one embedding model (`rag calibrate`, rag.evaluation.fit;
    the figures behind the shipped ones are in eval/reports/current/tuning-*.md)."""

    model: str  # the model name they were fitted for
    weights: Mapping[str, float]  # sentence-evidence weights (rag.retrieval.scoring)
    answerability: Answerability | None
    source: str = ""  # where this tuning was read from
    # The weights that choose quotations, over a sentence's own evidence
    # (rag.retrieval.scoring.QUOTE_EVIDENCE); empty in files from before them.
    quote_weights: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict, source: str = "") -> "Tuning":
        ans = data.get("answerability")
        return cls(
            model=str(data["model"]),
            weights={str(k): float(v) for k, v in data["weights"].items()},
            answerability=None
            if ans is None
            else Answerability(
                tuple(ans["features"]),
                tuple(float(x) for x in ans["coef"]),
                float(ans["intercept"]),
                tuple(float(x) for x in ans["mean"]),
                tuple(float(x) for x in ans["scale"]),
                float(ans["threshold"]),
                float(ans.get("dense_floor", -1.0)),
                None if ans.get("sure") is None else float(ans["sure"]),
            ),
            source=source,
            quote_weights={str(k): float(v) for k, v in data.get("quote_weights", {}).items()},
        )


TUNING_DIR = Path(__file__).resolve().parent / "tuning"


def tuning_file_name(model_name: str) -> str:
    """ "sentence-transformers/all-mpnet-base-v2" → "all-mpnet-base-v2.json"."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name.rstrip("/").split("/")[-1]).strip("-.") or "model"
    return f"{stem}.json"


@lru_cache(maxsize=8)
def tuning_for(model_name: str) -> Tuning | None:
    """The shipped tuning of a known model, else one written by `rag calibrate`
    into the cache, else None. A file is used only if it names the same model."""
    name = tuning_file_name(model_name)
    for path in (TUNING_DIR / name, cache_root() / "tuning" / name):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("model") == model_name:
            try:
                return Tuning.from_json(data, str(path))
            except (KeyError, TypeError, ValueError) as err:
                raise SettingsError(f"{path} is not a valid tuning file ({err})") from err
    return None
