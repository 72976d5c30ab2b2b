"""Ingest: documents from files (loaders, layout), split into chunks and sentences."""
