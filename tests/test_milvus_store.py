"""The milvus candidate store: Milvus Lite in this process, the real model.

The essays built with `--store milvus:PATH.db` answer the held-out questions as
the local store does; adds and removes reach Milvus as upserts and deletes of
their document's rows only; a store that disagrees with its index is refused
with one line naming the fix; nothing reaches beyond loopback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexMismatch
from rag.index.build import build_index
from rag.index.stores import milvus
from rag.ingest.chunking import ChunkSettings
from rag.ingest.corpus import load_corpus
from rag.settings import SettingsError, parse_store
from tests.conftest import ROOT, write_corpus
from tests.test_cli import one_line_error, run

pytestmark = pytest.mark.slow

ZELENSKY = "to-support-zelensky-the-us-needs-to-negotiate-with-putin"


def switch_store(index, folder: Path, embedder, store: str):
    """A copy of a built index, rebuilt for ``store`` (every vector reused)."""
    shutil.copytree(index.path.parent, folder, symlinks=True)
    corpus = load_corpus(index.manifest["corpus"]["folder"])
    return build_index(corpus, folder / index.path.name, embedder, ChunkSettings(), store=parse_store(store))


@pytest.fixture(scope="module")
def milvus_index(essays_index, embedder, tmp_path_factory):
    base = tmp_path_factory.mktemp("milvus")
    index, report = switch_store(essays_index, base / "index", embedder, f"milvus:{base / 'store.db'}")
    assert report.embedded == 0 and report.synced["sentences"]["upserted"] == essays_index.sentences.n
    return index


@pytest.fixture(scope="module")
def milvus_rag(milvus_index, embedder):
    from rag.pipeline import Rag

    return Rag.open(milvus_index.path, embedder)


def test_the_manifest_records_the_store_and_what_it_holds(milvus_index, essays_index):
    store = milvus_index.manifest["store"]
    record = store["candidates_store"]
    assert store["candidates"] == "milvus" and record["target"].endswith("store.db")
    assert record["counts"] == {"sentences": essays_index.sentences.n, "chunks": len(essays_index.chunks)}
    copy = milvus.MilvusCopy.of(milvus_index)
    assert {k: copy.count(k) for k in milvus.KINDS} == record["counts"]
    assert milvus.fingerprint({k: copy.keys(k) for k in milvus.KINDS}) == record["ids"]
    # The local index's manifest has no store entries: its fingerprint is what it was.
    assert "candidates" not in essays_index.manifest["store"]


def test_milvus_finds_the_candidates_the_local_store_finds(milvus_rag, essays_rag):
    """Milvus Lite searches exactly (FLAT), and its BM25 counts rag's own stems."""
    from rag.retrieval.candidates import LocalStore, Query

    milvus_scorer, local_scorer = milvus_rag.scorer(), essays_rag.scorer()
    assert milvus_scorer.store.name == "milvus" and isinstance(local_scorer.store, LocalStore)
    for question in ["Who is Michael Kofman?", "What should the United States do about sanctions?"]:
        local = local_scorer.evidence(question)
        q = Query(question, local.vector, local.features["sentence"], local.chunk_dense, local.chunk_bm25)
        assert set(milvus_scorer.store.sentences(q, 50)) == set(local_scorer.store.sentences(q, 50))
        bm25_hits = int((local.chunk_bm25 > 0).sum())
        k = min(5, bm25_hits)
        assert set(milvus_scorer.store.passages(q, k)) == set(local_scorer.store.passages(q, k)), question


def test_held_out_questions_score_as_on_the_local_store(milvus_rag, essays_rag):
    from rag.evaluation.qa import load_qa
    from rag.evaluation.runner import evaluate

    items = load_qa(ROOT / "eval" / "holdout_qa.jsonl", essays_rag.index.documents)
    answerable = sum(item.answerable for item in items)
    local = evaluate(essays_rag, items, "holdout", "fusion", 5).metrics
    store = evaluate(milvus_rag, items, "holdout", "fusion", 5).metrics
    for metric in ("hit@1", "quote_hit"):
        assert abs(local[metric] - store[metric]) * answerable <= 1.0 + 1e-9, (metric, local[metric], store[metric])


def test_a_subset_searches_only_its_documents(milvus_rag):
    from rag.index.subset import subset_index
    from rag.pipeline import Rag

    subset = Rag(subset_index(milvus_rag.index, [ZELENSKY]), milvus_rag.embedder)
    answer = subset.ask("Who is Michael Kofman?")
    store = subset.scorer().store
    assert store.name == "milvus" and ZELENSKY in store.filter
    assert {q.doc_id for q in answer.quotes} <= {ZELENSKY}
    assert {
        subset.index.sentences.sentences[i].doc_id
        for i in subset.scorer().evidence("Who is Michael Kofman?").candidates
    } == {ZELENSKY}


# ------------------------------------------------------------------ add and remove

BASE = {
    "kettle.txt": "Kettle Care\n\nDescale the kettle once a month with white vinegar, then rinse it twice.\n",
    "lease.txt": "Residential Lease\n\nRent is due on the first day of each month; "
    "a late fee applies after five days.\n",
}
ADDED = (
    "Bicycle Chains\n\nA bicycle chain wants a drop of oil on every link after a wet ride. "
    "Wipe the chain dry before oiling it.\n"
)


def test_add_and_remove_upsert_and_delete_only_their_rows(tmp_path, embedder, monkeypatch):
    from rag.index.library import Incoming, add_files, remove_documents
    from rag.index.load import load_index
    from rag.pipeline import Rag, build

    store = parse_store(f"milvus:{tmp_path / 'store.db'}")
    index_dir = tmp_path / "index" / "default"
    build(write_corpus(tmp_path / "corpus", BASE), index_dir, embedder=embedder, store=store)
    before = load_index(index_dir)
    copy = milvus.MilvusCopy.of(before)
    keys = {k: copy.keys(k) for k in milvus.KINDS}

    def refuse(*args, **kwargs):
        raise AssertionError("a collection was dropped or made again")

    monkeypatch.setattr(type(copy.client), "drop_collection", refuse)
    monkeypatch.setattr(type(copy.client), "create_collection", refuse)

    new = tmp_path / "Bicycle Chains.txt"
    new.write_text(ADDED, encoding="utf-8")
    report = add_files(index_dir, [Incoming(new.name, new)], embedder)
    added = load_index(index_dir)
    mine = {k: [key for key in milvus.index_keys(added)[k] if key.startswith("bicycle-chains/")] for k in milvus.KINDS}
    assert all(mine.values())
    assert report.build.synced == {k: {"created": 0, "upserted": len(mine[k]), "deleted": 0} for k in milvus.KINDS}
    assert {k: copy.keys(k) for k in milvus.KINDS} == {k: keys[k] | set(mine[k]) for k in milvus.KINDS}
    answer = Rag.open(index_dir, embedder).ask("How often should a bicycle chain be oiled?")
    assert answer.quotes and answer.quotes[0].doc_id == "bicycle-chains"

    report = remove_documents(index_dir, ["bicycle-chains"], embedder)
    assert report.build.synced == {k: {"created": 0, "upserted": 0, "deleted": len(mine[k])} for k in milvus.KINDS}
    assert {k: copy.keys(k) for k in milvus.KINDS} == keys
    assert load_index(index_dir).fingerprint == before.fingerprint


# ------------------------------------------------------------------ a store that disagrees


def test_a_store_that_disagrees_is_refused_with_one_line_then_mended(tmp_path, embedder, essays_index):
    from rag.pipeline import Rag

    target = tmp_path / "store.db"
    index, _ = switch_store(essays_index, tmp_path / "index", embedder, f"milvus:{target}")
    copy = milvus.MilvusCopy.of(index)
    chunks = copy.name("chunks")
    gone = sorted(copy.keys("chunks"))[0]
    copy.client.delete(chunks, ids=[gone])
    milvus._checked.clear()  # as a new process would
    n = len(index.chunks)
    with pytest.raises(IndexMismatch, match=rf"holds {n - 1} rows, the index {n}.*run `rag index --index ") as err:
        Rag.open(index.path, embedder)
    assert "\n" not in str(err.value)

    # The same count with a row of another index: the ids tell.
    row = copy.client.query(chunks, filter="", output_fields=["pk", "doc_id", "vector", "terms"], limit=1)[0]
    copy.client.upsert(
        chunks, [{**row, "pk": "someone-else/0-10/0000000000000000", "vector": np.asarray(row["vector"], np.float32)}]
    )
    milvus._checked.clear()
    with pytest.raises(IndexMismatch, match="its rows' ids are not the index's"):
        Rag.open(index.path, embedder)

    # While this process holds the Milvus Lite file, another is refused in one line.
    line = one_line_error(run("ask", "Who is Michael Kofman?", "--index", str(index.path)))
    assert "another process has it open" in line

    # The CLI says it in one line too (another process: this one lets the file go first).
    milvus.disconnect(copy.spec)
    line = one_line_error(run("ask", "Who is Michael Kofman?", "--index", str(index.path)))
    assert "does not hold what" in line and f"rag index --index {index.path}" in line

    # `rag index` on the current index brings the store back in line.
    _, report = build_index(load_corpus(index.manifest["corpus"]["folder"]), index.path, embedder, ChunkSettings())
    assert report.up_to_date and report.synced["chunks"] == {"created": 0, "upserted": 1, "deleted": 1}
    milvus._checked.clear()
    assert Rag.open(index.path, embedder).ask("Who is Michael Kofman?").quotes


def test_store_names_are_checked_before_any_work(tmp_path):
    for bad, word in [
        ("milvus:store", "must end in .db"),
        ("qdrant:x", "is not a store"),
        ("milvus:http://a b", "milvus:http://HOST:PORT"),
    ]:
        with pytest.raises(SettingsError, match=word):
            parse_store(bad)
    line = one_line_error(run("index", "--store", "milvus:store", "--index", str(tmp_path / "i")), code=2)
    assert "must end in .db" in line and not (tmp_path / "i").exists()
    line = one_line_error(run("index", "--index", str(tmp_path / "i"), env={"RAG_STORE": "elastic"}))
    assert "RAG_STORE" in line and "is not a store" in line


# ------------------------------------------------------------------ nothing leaves the machine


def test_index_and_ask_on_milvus_lite_reach_nothing(tmp_path):
    """Milvus Lite's engine runs as a child on a Unix socket: under strace, in a
    loopback-only namespace, a build and a question try no address at all."""
    from tests.test_no_outbound import reaches_out, watched

    corpus = write_corpus(tmp_path / "corpus", BASE)
    store, index = tmp_path / "s.db", tmp_path / "index"
    code = (
        "import subprocess, sys\n"
        f"i = subprocess.run([sys.executable, '-m', 'rag.cli', 'index', '-q', '--model', 'minilm', '--corpus', "
        f"{str(corpus)!r}, '--index', {str(index)!r}, '--store', 'milvus:{store}'], capture_output=True, text=True)\n"
        f"a = subprocess.run([sys.executable, '-m', 'rag.cli', 'ask', '--model', 'minilm', '--index', {str(index)!r}, "
        "'When is rent due?'], capture_output=True, text=True)\n"
        "print(i.returncode, a.returncode, i.stderr[-500:], a.stderr[-500:])\n"
        "print('ASK', a.stdout)\n"
    )
    result, lines, hooked = watched(["-c", code], tmp_path, 600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("0 0"), result.stdout
    assert "first day of each month" in result.stdout
    assert json.loads((index / "manifest.json").read_text())["store"]["candidates"] == "milvus"
    assert any("AF_UNIX" in line for line in lines), "strace recorded no socket at all: it was not watching"
    assert [line for line in lines if reaches_out(line)] == []
    assert hooked == []


def test_milvus_is_an_extra_the_tests_install_and_the_product_does_not():
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("pymilvus") for r in project["optional-dependencies"]["milvus"])
    assert not any("milvus" in r for r in project["dependencies"])

    def extras(script: str) -> set[str]:
        found = re.findall(r"scripts/install\.sh\s+(\S+)", (ROOT / "scripts" / script).read_text())
        assert len(found) == 1, found
        return set(found[0].split(","))

    assert "milvus" in extras("test.sh") and "milvus" not in extras("run.sh")


# ------------------------------------------------------------------ wiring, with the fake embedder

ODD_NAMES = {
    'notes/say "when".txt': "Garden Notes\n\nTomatoes need full sun and steady water. Basil grows beside them.",
    "back\\slash é.txt": "Harbour Log\n\nThe ferry leaves at noon every day. Fishing boats return at dusk.",
    "plain.txt": "Orchard Diary\n\nThe apple trees flower in April. Pears ripen late in September.",
}


@pytest.mark.unit
def test_documents_with_quotes_and_backslashes_in_their_ids_filter_and_match(tmp_path):
    """Folder document ids are paths: a subset's filter quotes them for Milvus,
    and the store's candidates are the local store's."""
    from rag.index.subset import subset_index
    from rag.pipeline import Rag
    from rag.retrieval.candidates import Query, gather
    from tests.fakes import FakeEmbedder

    fake = FakeEmbedder()
    corpus = write_corpus(tmp_path / "corpus", {})
    for name, text in ODD_NAMES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    local, _ = build_index(load_corpus(corpus), tmp_path / "local", fake, ChunkSettings())
    index, report = build_index(
        load_corpus(corpus),
        tmp_path / "index",
        fake,
        ChunkSettings(),
        store=parse_store(f"milvus:{tmp_path / 'store.db'}"),
    )
    assert report.synced["chunks"]["upserted"] == len(index.chunks) == 3
    whole, alone = Rag.open(index.path, fake), Rag.open(local.path, fake)
    for question in ["When does the ferry leave?", "What needs full sun?"]:
        ev = alone.scorer().evidence(question)
        q = Query(question, ev.vector, ev.features["sentence"], ev.chunk_dense, ev.chunk_bm25)
        assert set(gather(whole.scorer().store, q, whole.index.sentences)) == set(
            gather(alone.scorer().store, q, alone.index.sentences)
        )
    for doc_id in index.documents:
        part = Rag(subset_index(index, [doc_id]), fake)
        store = part.scorer().store
        q = Query("ferry sun apple", fake.embed_query("ferry sun apple"))
        found = set(store.sentences(q, 50)) | set(store.passages(q, 5))
        assert found and {part.index.sentences.sentences[i].doc_id for i in store.sentences(q, 50)} == {doc_id}
