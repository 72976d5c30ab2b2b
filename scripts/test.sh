#!/usr/bin/env bash
# Install everything the tests need (first time only) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,ui,test
exec .venv/bin/python -m pytest "$@"
