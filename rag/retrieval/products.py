"""Many vectors against a few: the corpus's rows against one question's.

A question compares its dozen content word pieces with some 20,000 word-piece
vectors, and its vector with every sentence and chunk: tall, thin products.
numpy's OpenBLAS does them poorly here and leaves its threads spinning for
about 0.1 s afterwards, which slowed the next question's encode on two
cores (benchmarks/RESULTS.md, "Cost at corpus scale", 2026-12-07: 13,572
word pieces × 13 question pieces took 14.6 ms on one BLAS thread, against
10.0 ms on onnxruntime's MLAS kernel on one thread and 5.6 ms on two, whose
threads sleep when idle). So the products run on onnxruntime, which rag
loads for questions anyway, as a one-MatMul graph shipped beside this file
(products.onnx, 151 bytes; tests/test_products.py checks it is that graph).
Without onnxruntime, numpy does them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

GRAPH = Path(__file__).with_name("products.onnx")


@lru_cache(maxsize=4)
def _session(threads: int):
    """The product's session for ``threads``, or None where onnxruntime cannot run it."""
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle threads sleep: a spinning pool takes the core the next encode needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(GRAPH.read_bytes(), options, providers=["CPUExecutionProvider"])
    except Exception:  # any failure to load leaves numpy, which gives the same numbers
        return None


def _threads() -> int:
    from rag.embed.onnx_backend import default_threads

    return default_threads()


def products(rows: np.ndarray, few: np.ndarray) -> np.ndarray:
    """``rows @ few.T`` as float32: rows [n, dim], few [k, dim] (or one vector [dim], giving [n])."""
    one = few.ndim == 1
    few2 = np.ascontiguousarray(np.atleast_2d(few).T, dtype=np.float32)  # [dim, k]
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    if rows.shape[0] == 0 or few2.shape[1] == 0:
        out = np.zeros((rows.shape[0], few2.shape[1]), dtype=np.float32)
    else:
        session = _session(_threads())
        if session is None:
            out = rows @ few2
        else:
            out = session.run(None, {"rows": rows, "few": few2})[0]
    return out[:, 0] if one else out
