#!/usr/bin/env bash
# Install everything the tests need (first time only) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,ui,test
# The browser tests drive Debian's Chromium (Playwright cannot download its
# own browsers here). Installed once; needs root, as CI runs.
command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
exec .venv/bin/python -m pytest "$@"
