"""`rag serve` with other thread, concurrency and queue settings, to measure them.

Builds the same page with the same safe launch settings as ``rag.chat.serve.start``
and only changes the knobs being measured. Used by ``load.py --variant``.

    .venv/bin/python benchmarks/serve_variant.py --port 7861 --threads 2 --concurrency 1 --queue 16
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--concurrency", type=int, default=2, help="answers computed at once")
    parser.add_argument("--queue", type=int, default=16, help="questions allowed to wait")
    parser.add_argument("--index", default=None, help="index folder [default: as rag serve]")
    args = parser.parse_args()
    import os

    from rag.chat import serve
    from rag.pipeline import Rag

    # The same start as `rag serve` (model warmed, guard, theme), only these knobs changed.
    os.environ["RAG_TORCH_THREADS"] = str(args.threads)
    serve.QUEUE_SIZE, serve.CONCURRENCY, serve.TORCH_THREADS = args.queue, args.concurrency, args.threads
    serve.start(Rag.open(args.index), "127.0.0.1", args.port, block=True, quiet=True)


if __name__ == "__main__":
    main()
