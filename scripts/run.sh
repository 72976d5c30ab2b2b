#!/usr/bin/env bash
# Install (first time only), build the index of the bundled essays if it is
# missing or stale, and serve the chat page on http://127.0.0.1:7860.
# Extra arguments go to `rag serve` (e.g. --port 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,ui
.venv/bin/rag index --quiet
exec .venv/bin/rag serve "$@"
