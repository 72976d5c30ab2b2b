"""The index on disk: build, load and check it (manifest, vectors, BM25, sentence layer)."""
