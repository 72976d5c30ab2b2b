"""Embedding models: the Embedder protocol (base), pooling shared by the
backends, the torch and onnxruntime backends, and ``auto.default_embedder``,
which picks the configured model and backend."""
