"""How close a warm question encode is to this machine's limits: the 48
matrix products of all-mpnet-base-v2 (12 layers: query-key-value, output,
and the two feed-forward products) for one 15-word-piece question, on
bfloat16 weights packed by oneDNN as rag.embed.query_bf16 packs them,
against the memory bandwidth torch gets streaming bfloat16 on 1 and 2
threads and against the same kernel's rate where compute limits it;
then the whole encoder (rag's own forward) for mpnet and MiniLM.

    .venv/bin/python -m benchmarks.encoder_floor [--repeats 15]

Products on random weights of the model's shapes (the time does not depend
on the values). Figures are medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.common import machine, write_json

ROWS = 15  # word pieces of a typical question
MPNET = [(2304, 768), (768, 768), (3072, 768), (768, 3072)] * 12  # (out, in) of each product, in order


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _bandwidth(repeats: int) -> dict[int, float]:
    import torch

    big = torch.ones(100_000_000, dtype=torch.bfloat16)  # 200 MB, far past any cache
    out = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        out[threads] = big.numel() * 2 / (_median_ms(lambda: float(big.sum()), repeats) / 1000) / 1e9
    return out


def _products(repeats: int) -> float:
    import torch

    torch.manual_seed(0)
    weights = [torch.ops.mkldnn._reorder_linear_weight((torch.randn(n, k) * 0.02).bfloat16(), 16) for n, k in MPNET]
    biases = [torch.zeros(n, dtype=torch.bfloat16) for n, _ in MPNET]
    inputs = {k: torch.randn(ROWS, k).bfloat16() for k in (768, 3072)}

    def run():
        for (_, k), w, b in zip(MPNET, weights, biases):
            torch.ops.mkldnn._linear_pointwise(inputs[k], w, b, "none", [], "")

    return _median_ms(run, repeats)


def _peak_gflops(repeats: int) -> float:
    """The same kernel where compute, not memory, limits it: 1,024 rows."""
    import torch

    weight = torch.ops.mkldnn._reorder_linear_weight((torch.randn(3072, 768) * 0.02).bfloat16(), 1024)
    bias, x = torch.zeros(3072, dtype=torch.bfloat16), torch.randn(1024, 768).bfloat16()
    ms = _median_ms(lambda: torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], ""), repeats)
    return 2 * 1024 * 768 * 3072 / (ms / 1000) / 1e9


def _encoder(key: str, repeats: int) -> float | None:
    import numpy as np

    from rag.embed.models import resolve
    from rag.embed.query_bf16 import load_query_encoder

    encoder = load_query_encoder(resolve(key)[0])
    if encoder is None:
        return None
    encoder.prepare(ROWS)
    ids = np.arange(1000, 1000 + ROWS)
    return _median_ms(lambda: encoder.hidden(ids), repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    import torch

    bandwidth = _bandwidth(args.repeats)
    torch.set_num_threads(2)
    products = _products(args.repeats)
    peak = _peak_gflops(args.repeats)
    weight_bytes = sum(n * k for n, k in MPNET) * 2
    flops = sum(2 * ROWS * n * k for n, k in MPNET)
    encoders = {key: _encoder(key, args.repeats) for key in ("mpnet", "minilm")}
    result = {
        "machine": machine(),
        "stream_gb_s": {str(t): round(v, 1) for t, v in bandwidth.items()},
        "mpnet_products_ms": round(products, 2),
        "mpnet_products_gb_s": round(weight_bytes / (products / 1000) / 1e9, 1),
        "mpnet_products_gflops": round(flops / (products / 1000) / 1e9),
        "weight_mb": round(weight_bytes / 1e6),
        "peak_gflops_1024_rows": round(peak),
        "encoder_ms": {k: (None if v is None else round(v, 2)) for k, v in encoders.items()},
    }
    print(f"streaming bf16: {result['stream_gb_s']['1']} GB/s on 1 thread, {result['stream_gb_s']['2']} GB/s on 2")
    print(
        f"mpnet's 48 products, {ROWS} rows, {result['weight_mb']} MB of weights: {products:.2f} ms "
        f"= {result['mpnet_products_gb_s']} GB/s, {result['mpnet_products_gflops']} GFLOP/s"
    )
    print(f"the same kernel at 1,024 rows (compute-bound): {result['peak_gflops_1024_rows']} GFLOP/s")
    for key, ms in result["encoder_ms"].items():
        print(f"{key} whole encoder ({ROWS} word pieces): " + ("no bf16 path here" if ms is None else f"{ms} ms"))
    write_json("encoder_floor", result)


if __name__ == "__main__":
    main()
