#!/usr/bin/env bash
# Run every benchmark: installs the peer's packages (the `bench` extra) into
# .venv, then prints tables and writes JSON to benchmarks/out/.
#   scripts/bench.sh                 all benchmarks (about an hour on 2 cores)
#   scripts/bench.sh peer --quick    one benchmark, smoke-test sizes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh eval,bench
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m benchmarks "$@"
