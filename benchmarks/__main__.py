"""One command for every benchmark:

    .venv/bin/python -m benchmarks [quality|peer|scale|incremental|all] [--quick]

``all`` (the default) runs them in dependency order: quality saves the real
SciFact vectors that scale builds on. ``--quick`` shrinks every benchmark to
a smoke test (minutes); its figures are not for RESULTS.md.
"""

from __future__ import annotations

import sys

QUICK = {
    "quality": ["--limit", "300"],
    "peer": ["--docs", "40", "--build-rounds", "1", "--queries", "20", "--cold-runs", "2"],
    "scale": ["--sizes", "10000,100000"],
    "incremental": ["--docs", "60"],
    "models": ["--rounds", "1", "--questions", "10", "--cold-runs", "2"],
}
ORDER = ("quality", "peer", "incremental", "scale", "models")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    argv = [a for a in argv if a != "--quick"]
    names = argv or ["all"]
    if names == ["all"]:
        names = list(ORDER)
    import importlib

    for name in names:
        if name not in ORDER:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(ORDER)} or all")
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main(QUICK[name] if quick else [])


if __name__ == "__main__":
    main(sys.argv[1:])
