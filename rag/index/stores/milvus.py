"""The Milvus copy of an index's candidate search: what it must hold, bringing it in line, checking it.

Two collections per index, made by pymilvus's MilvusClient, which talks to
Milvus Lite (a local ``.db`` file; the ``milvus-lite`` package runs the
Milvus engine as a child process on a Unix socket) and to a Milvus server
with the same calls:

- ``<prefix>_sentences``: each unit's vector (the sentence layer's, as the
  index loads it);
- ``<prefix>_chunks``: each chunk's vector, and its words as rag's BM25
  counts them (stop words out, Snowball stems: rag.index.lexical), which
  Milvus's BM25 function turns into a sparse vector. Handing Milvus rag's own
  stems, split on spaces, makes its BM25 count the same terms as the
  index's (Milvus's own English analyzer stems and drops other words).

Every row's primary key says what it is: document id, character span and a
hash of its vector (``doc/120-245/3fa9c1d2e4b5f607``). The same unit keeps
its key across builds, and a changed unit gets a new one, so bringing the
store in line with a build is a delete of the keys that went and an upsert
of those that came: an add or remove touches only its document's rows,
never the collection. The manifest records the keys' count and a
fingerprint; opening the index compares the store's with both.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from rag.errors import IndexMismatch, RagError
from rag.index.stores import RECORD_KEY
from rag.index.stores.milvus_client import _clients, _reason, connect
from rag.settings import StoreSpec

KINDS = ("sentences", "chunks")
# VARCHAR lengths (bytes): a folder document's id is its relative path, up to
# PATH_MAX; its key adds a span and a hash.
KEY_BYTES = 8192
TERMS_BYTES = 65535  # Milvus's largest VARCHAR; a chunk's stems are cut at a word beyond it
BATCH = 1000  # rows per upsert: a request stays well under gRPC's 64 MB at 768 dimensions
# Milvus Lite runs every index as FLAT (exact) whatever is asked; a server
# gets HNSW, whose recall against exact search the benchmark cannot measure
# here (benchmarks/MILVUS.md).
DENSE_INDEX = {"lite": ("FLAT", {}), "server": ("HNSW", {"M": 16, "efConstruction": 256})}
HNSW_EF = 256


# ------------------------------------------------------------------ keys


def unit_keys(doc_ids, starts, ends, vectors: np.ndarray) -> list[str]:
    """Each row's primary key: document, span and a hash of its float32 vector."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return [
        f"{d}/{int(a)}-{int(b)}/{hashlib.blake2b(v.tobytes(), digest_size=8).hexdigest()}"
        for d, a, b, v in zip(doc_ids, starts, ends, vectors)
    ]


def fingerprint(keys: Mapping[str, "list[str] | set[str]"]) -> str:
    """One hash of both collections' keys (a chunk of one sentence may share its sentence's key)."""
    rows = sorted(f"{kind}\t{key}" for kind in KINDS for key in keys.get(kind, ()))
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()[:16]


def prefix_for(index_dir: Path) -> str:
    """Collection names for an index: its folder's name and a hash of its path
    (Milvus allows letters, digits and underscores)."""
    path = str(Path(index_dir).absolute())
    slug = re.sub(r"[^A-Za-z0-9]+", "_", Path(index_dir).name).strip("_")[:40] or "index"
    return f"rag_{slug}_{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def record(
    spec: StoreSpec, index_dir: Path, keys: dict[str, list[str]], model: dict, previous: dict | None = None
) -> dict:
    """The manifest's record of what the store must hold. A rebuild into the
    same target keeps the collections it already named."""
    if previous and previous.get("target") == spec.target and previous.get("collections"):
        collections = dict(previous["collections"])
    else:
        prefix = prefix_for(index_dir)
        collections = {kind: f"{prefix}_{kind}" for kind in KINDS}
    return {
        "target": spec.target,
        "collections": collections,
        "counts": {kind: len(keys[kind]) for kind in KINDS},
        "ids": fingerprint(keys),
        "dense_index": DENSE_INDEX["lite" if spec.lite else "server"][0],
        "model": model["name"],
        "dim": model["dim"],
    }


def index_keys(index, chunk_vectors: np.ndarray | None = None) -> dict[str, list[str]]:
    """The keys a loaded index's units have, in its own id order."""
    layer = index.sentences
    out: dict[str, list[str]] = {"sentences": [], "chunks": []}
    if layer is not None and layer.n:
        s = layer.sentences
        out["sentences"] = unit_keys([x.doc_id for x in s], [x.start for x in s], [x.end for x in s], layer.vectors)
    if index.chunks:
        c = index.chunks
        out["chunks"] = unit_keys(
            [x.doc_id for x in c],
            [x.start for x in c],
            [x.end for x in c],
            chunk_vectors if chunk_vectors is not None else _chunk_vectors(index),
        )
    return out


def _chunk_vectors(index) -> np.ndarray:
    from rag.index.vectors import reconstruct_all

    return reconstruct_all(index.vectors)


def terms_texts(texts: list[str]) -> list[str]:
    """Chunks' BM25 terms for Milvus: rag's own stems, space-separated."""
    from rag.index.lexical import tokenize

    out = []
    for stems in tokenize(texts) if texts else []:
        joined = " ".join(stems)
        data = joined.encode("utf-8")
        out.append(
            joined if len(data) <= TERMS_BYTES else data[:TERMS_BYTES].decode("utf-8", "ignore").rsplit(" ", 1)[0]
        )
    return out


def quoted(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ the copy


@dataclass
class MilvusCopy:
    """One index's collections in one Milvus."""

    spec: StoreSpec
    rec: dict
    client: Any  # pymilvus.MilvusClient

    @classmethod
    def of(cls, index) -> "MilvusCopy":
        rec = (index.manifest.get("store") or {}).get(RECORD_KEY) or {}
        if not rec.get("target") or not rec.get("collections"):
            raise IndexMismatch(
                f"{index.path} names the milvus store but not what it holds; "
                f"run `rag index --index {index.path}` to rebuild it"
            )
        spec = StoreSpec("milvus", rec["target"])
        return cls(spec, rec, connect(spec))

    def name(self, kind: str) -> str:
        return self.rec["collections"][kind]

    def _create(self, kind: str) -> None:
        from pymilvus import DataType, Function, FunctionType

        from rag.index.lexical import SETTINGS as BM25

        client, dim = self.client, int(self.rec["dim"])
        schema = client.create_schema(auto_id=False, description=f"rag {kind} of {self.rec['model']}")
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=KEY_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=KEY_BYTES)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        index_type, build = DENSE_INDEX["lite" if self.spec.lite else "server"]
        params.add_index("vector", index_type=index_type, metric_type="IP", params=build)
        if kind == "chunks":
            # The stems are already rag's: split on spaces only.
            schema.add_field(
                "terms",
                DataType.VARCHAR,
                max_length=TERMS_BYTES,
                enable_analyzer=True,
                analyzer_params={"tokenizer": "whitespace"},
            )
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["terms"],
                    output_field_names=["sparse"],
                )
            )
            params.add_index(
                "sparse",
                index_type="SPARSE_INVERTED_INDEX",
                metric_type="BM25",
                params={"bm25_k1": BM25["k1"], "bm25_b": BM25["b"]},
            )
        client.create_collection(self.name(kind), schema=schema, index_params=params)

    def _fits(self, kind: str) -> bool:
        """Whether the existing collection was made for this model's vectors."""
        described = self.client.describe_collection(self.name(kind))
        dims = [f.get("params", {}).get("dim") for f in described["fields"] if f["name"] == "vector"]
        return dims == [int(self.rec["dim"])] and described.get("description") == f"rag {kind} of {self.rec['model']}"

    def keys(self, kind: str) -> set[str]:
        """Every primary key the collection holds."""
        found: set[str] = set()
        iterator = self.client.query_iterator(self.name(kind), batch_size=16384, filter="", output_fields=["pk"])
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    return found
                found.update(row["pk"] for row in batch)
        finally:
            iterator.close()

    def count(self, kind: str) -> int:
        rows = self.client.query(self.name(kind), filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def sync(self, index) -> dict[str, dict[str, int]]:
        """Bring the collections in line with ``index``: delete the keys it no
        longer has, upsert those it gained. Returns what was sent, per collection."""
        try:
            return self._sync(index)
        except RagError:
            raise
        except Exception as err:
            raise RagError(
                f"the Milvus store {self.spec.target} could not be brought in line with {index.path} "
                f"({_reason(err)}); run `rag index --index {index.path}` to try again"
            ) from None

    def _sync(self, index) -> dict[str, dict[str, int]]:
        chunk_vectors = _chunk_vectors(index)
        keys = index_keys(index, chunk_vectors)
        done = {}
        for kind in KINDS:
            name, made = self.name(kind), {"created": 0, "upserted": 0, "deleted": 0}
            if self.client.has_collection(name) and not self._fits(kind):
                self.client.drop_collection(name)  # another model's vectors: none of them can be kept
            if not self.client.has_collection(name):
                self._create(kind)
                made["created"] = 1
            self.client.load_collection(name)
            have, want = self.keys(kind), {k: i for i, k in enumerate(keys[kind])}
            gone = sorted(have - want.keys())
            for start in range(0, len(gone), BATCH):
                self.client.delete(name, ids=gone[start : start + BATCH])
            new = [want[k] for k in sorted(want.keys() - have)]
            for start in range(0, len(new), BATCH):
                self.client.upsert(name, self._rows(index, kind, keys[kind], new[start : start + BATCH], chunk_vectors))
            self.client.flush(name)
            made.update(upserted=len(new), deleted=len(gone))
            done[kind] = made
        return done

    @staticmethod
    def _rows(index, kind: str, keys: list[str], ids: list[int], chunk_vectors: np.ndarray) -> list[dict]:
        if kind == "sentences":
            layer = index.sentences
            return [{"pk": keys[i], "doc_id": layer.sentences[i].doc_id, "vector": layer.vectors[i]} for i in ids]
        terms = terms_texts([index.chunks[i].text for i in ids])
        return [
            {"pk": keys[i], "doc_id": index.chunks[i].doc_id, "vector": chunk_vectors[i], "terms": t}
            for i, t in zip(ids, terms)
        ]

    def differences(self, index) -> list[str]:
        """How the store differs from what the manifest says it holds (empty when it agrees)."""
        found = []
        for kind in KINDS:
            name = self.name(kind)
            if not self.client.has_collection(name):
                found.append(f"it has no collection {name}")
                continue
            self.client.load_collection(name)
            n, want = self.count(kind), self.rec["counts"][kind]
            if n != want:
                found.append(f"{name} holds {n} rows, the index {want}")
        if not found:
            if fingerprint({kind: self.keys(kind) for kind in KINDS}) != self.rec["ids"]:
                found.append("its rows' ids are not the index's")
        return found


_checked: set[tuple[str, str]] = set()


def open_checked(index) -> MilvusCopy:
    """The index's Milvus copy, checked against the index once per process:
    the manifest's record against the index's own files, then the store's
    counts and ids against the record. One line naming the fix when they differ."""
    copy = MilvusCopy.of(index)
    seen = (copy.spec.target, index.fingerprint)
    if seen in _checked or set(index.documents) != set(index.manifest["documents"]):
        return copy  # checked already, or a subset of a checked index (rag.index.subset)
    keys = index_keys(index)
    if fingerprint(keys) != copy.rec["ids"]:
        raise IndexMismatch(
            f"{index.path}/manifest.json records other Milvus ids than its files give; "
            f"run `rag index --index {index.path} --force` to rebuild it"
        )
    try:
        differences = copy.differences(index)
    except Exception as err:
        raise RagError(f"cannot read the Milvus store {copy.spec.target} ({_reason(err)})") from None
    if differences:
        raise IndexMismatch(
            f"the Milvus store {copy.spec.target} does not hold what {index.path} holds "
            f"({'; '.join(differences)}); run `rag index --index {index.path}` to bring it in line"
        )
    _checked.add(seen)
    return copy


def sync_store(index) -> dict[str, dict[str, int]]:
    """Bring the store ``index`` names in line with it (a build, add or remove, or `rag index` on a current index)."""
    copy = MilvusCopy.of(index)
    done = copy.sync(index)
    _checked.add((copy.spec.target, index.fingerprint))
    return done


def disconnect(spec: StoreSpec) -> None:
    """Close this process's client of ``spec`` (and its Milvus Lite engine,
    which lets another process open the file)."""
    client = _clients.pop(spec.target, None)
    if client is not None:
        client.close()
    _checked.difference_update({seen for seen in _checked if seen[0] == spec.target})
    if spec.lite:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(spec.target)
