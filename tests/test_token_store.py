"""Word-piece vectors stored as product-quantised codes (rag.index.token_store)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.build import build_index
from rag.index.token_store import F16, PQ, Codebook, TokenStore
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag
from tests.conftest import write_corpus

DOCS = {
    "orchard.txt": "Orchard Notes\n\nApple trees need pruning in late winter, before the buds break. A clean cut "
    "just above an outward facing bud keeps the crown open to light and air. Pears ripen off the "
    "tree: pick them when the neck yields to a gentle press.\n",
    "kiln.txt": "Kiln Log\n\nThe beta kiln cracked twice in one winter and was closed last spring. Its replacement "
    "fires at 1,280 degrees and takes eleven hours to cool before it can be opened safely.\n",
    # Enough word pieces (over 256) for the codebook's k-means to train on.
    "cellar.txt": "Cellar Book\n\nApples store best at one or two degrees with high humidity, away from onions and "
    "potatoes, whose gases hasten ripening. Wrap each fruit in newspaper so that one rotten apple cannot spoil "
    "its neighbours, and check the racks every week through the winter. Bramleys keep until March; early "
    "varieties such as Discovery should be eaten within a fortnight of picking. Pears are stored unwrapped, "
    "in a single layer, and brought into the warm kitchen a few days before they are wanted. Quinces are kept "
    "apart from everything else because their scent taints other fruit. Walnuts are dried on trays for two "
    "weeks, then kept in mesh sacks hung from the beams where mice cannot reach them.\n",
}


def test_codes_decode_close_to_the_vectors_they_code():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 768)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    book = Codebook.train(x)
    again = Codebook.train(x)
    assert np.array_equal(book.centroids, again.centroids)  # seeded: the same corpus, the same codebook
    decoded = book.decode(book.encode(x))
    cos = (decoded * x).sum(axis=1) / np.linalg.norm(decoded, axis=1)
    assert float(np.median(cos)) > 0.5  # random vectors are the hardest case; real word pieces cluster
    store = TokenStore(PQ, book.encode(x), book)
    assert store.rows(np.array([5, 7])).shape == (2, 768)
    with pytest.raises(ValueError):
        Codebook(np.full((64, 256, 12), np.nan, dtype=np.float32))


def test_an_index_over_the_threshold_answers_from_codes_and_keeps_its_codebook(tmp_path, embedder, monkeypatch):
    import rag.index.token_store as token_store

    monkeypatch.setattr(token_store, "PQ_MIN_TOKENS", 50)  # two notes are far below the real threshold
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    index_dir = tmp_path / "index"
    index, _ = build_index(load_corpus(corpus), index_dir, embedder)
    layer = index.sentences
    assert layer.tokens.codec == PQ and "token_codes.npy" in index.manifest["files"]
    assert "token_vectors.npy" not in index.manifest["files"]
    answer = Rag.open(index_dir, embedder).ask("How hot does the new kiln fire?")
    assert not answer.abstained and "1,280 degrees" in answer.quotes[0].text
    before = layer.tokens.codebook.centroids.copy()
    (corpus / "pears.txt").write_text("Pear Notes\n\nPears keep for weeks in a cool, dark cellar.\n", encoding="utf-8")
    bigger, report = build_index(load_corpus(corpus), index_dir, embedder)
    assert report.reused > 0 and np.array_equal(bigger.sentences.tokens.codebook.centroids, before)


def test_a_small_index_keeps_float16_vectors(tmp_path, embedder):
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    index, _ = build_index(load_corpus(corpus), tmp_path / "index", embedder)
    assert index.sentences.tokens.codec == F16 and index.sentences.tokens.data.dtype == np.float16
