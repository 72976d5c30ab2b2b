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
    import torch

    from rag.chat import serve
    from rag.pipeline import Rag

    torch.set_num_threads(args.threads)
    app = serve.load_app()
    demo = app.build_demo(Rag.open(args.index))
    for fn in demo.fns.values():
        if fn.api_name == "chat":
            fn.concurrency_limit = args.concurrency
    demo.queue(max_size=args.queue, default_concurrency_limit=args.concurrency, api_open=False)
    demo.launch(**serve.launch_settings("127.0.0.1", args.port), quiet=True, css=app.CSS)


if __name__ == "__main__":
    main()
