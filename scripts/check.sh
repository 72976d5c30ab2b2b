#!/usr/bin/env bash
# Lint, format check and types (configured in pyproject.toml: [tool.ruff], [tool.mypy]).
# scripts/test.sh runs it before pytest; ruff and mypy come with the test extra.
#   scripts/check.sh          all three; stops at the first that fails
set -euo pipefail
cd "$(dirname "$0")/.."
bin=".venv/bin"
[ -x "$bin/ruff" ] || bin="$(dirname "$(command -v ruff)")"
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy" rag
