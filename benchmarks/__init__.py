"""Benchmarks of rag against the LangChain equivalent and at scale.

Run ``.venv/bin/python -m benchmarks`` (or ``scripts/bench.sh``); see docs/benchmarks.md.
"""
