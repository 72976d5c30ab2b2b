#!/usr/bin/env bash
# Install everything the tests need (first time only), run the lint, format and
# type checks (scripts/check.sh), then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,ui,test,milvus
scripts/check.sh
# The browser tests drive Debian's Chromium (Playwright cannot download its
# own browsers here); the no-outbound tests watch native code with strace.
# Installed once; needs root, as CI runs.
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v strace >/dev/null || missing="$missing strace"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
