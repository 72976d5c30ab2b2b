"""Stands in for the parsing child in a test: never answers (rag.ingest.loaders.sandbox must stop it)."""

import time

if __name__ == "__main__":
    time.sleep(3600)
