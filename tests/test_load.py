"""A small, fast version of benchmarks/load.py: real servers on 127.0.0.1,
sessions asking through the Gradio queue as a browser does.

Every request must succeed (verbatim citations) or be refused with an explicit
"queue full"; nothing else. Speed is measured by the script, not asserted here.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.test_server_security import load_bench

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench():
    return load_bench()


def _run(bench, variant, essays_index, sessions=10, per_session=2):
    port = bench.free_port()
    proc = bench.start_server(port, variant, essays_index.path)
    try:
        summary = asyncio.run(bench.run_load(f"http://127.0.0.1:{port}", sessions, per_session, essays_index.documents))
        assert proc.poll() is None, "the server died under load"
    finally:
        bench.stop_server(proc)
    return summary


def test_overload_gets_queue_full_answers_and_nothing_else(bench, essays_index):
    # One answer at a time and two waiting: ten sessions at once must overflow.
    summary = _run(bench, "threads=1,concurrency=1,queue=2", essays_index)
    result = summary.as_dict()
    assert result["requests"] == 20 and result["failed"] == 0, result["failures"]
    assert result["ok"] >= 1 and result["queue_full"] >= 1, result


def test_default_server_answers_every_session_below_its_queue_size(bench, essays_index):
    from rag.chat import serve

    sessions = min(10, serve.QUEUE_SIZE)  # all fit in the queue: none may be refused
    summary = _run(bench, None, essays_index, sessions=sessions)
    assert [o.kind for o in summary.outcomes] == ["ok"] * (2 * sessions), summary.as_dict()


def test_serve_uses_the_measured_settings(essays_rag):
    """Threads, concurrency, queue and sessions kept as measured in benchmarks/LOAD.md."""
    import torch

    from rag.chat import serve
    from tests.conftest import start_page

    torch.set_num_threads(2)
    demo, _ = start_page(essays_rag)
    try:
        assert torch.get_num_threads() == serve.TORCH_THREADS == 1
        assert demo.state_session_capacity == serve.SESSIONS_KEPT
        assert demo._queue.max_size == serve.QUEUE_SIZE
        chat = next(fn for fn in demo.fns.values() if fn.api_name == "chat")
        assert chat.concurrency_limit == "default"  # follows the queue's, set from serve.CONCURRENCY
        assert demo._queue.default_concurrency_limit == serve.CONCURRENCY
    finally:
        demo.close()
