#!/usr/bin/env bash
# Install (first time only), build the index of the bundled essays if it is
# missing or stale, and answer an example question.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,ui
.venv/bin/rag index --quiet
.venv/bin/rag ask "Who is Michael Kofman?"
