"""Retrieval: rank an index's chunks for a question (one module per retriever, see registry)."""
