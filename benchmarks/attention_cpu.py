"""What self-attention over the padded cache window costs a musicgen-small decode step on a CPU,
against the step's weight matmuls, in one process (issue 11's "where the time above the matmuls
goes").

    python benchmarks/attention_cpu.py [--threads 1] [--rounds 10]

For windows of 256 and 512 positions (the cache grows CACHE_BLOCK positions at a time and
attention reads all of it) it times, over the 24 layers of a step: MLX's fused SDPA as the
decoder calls it (guided batch of 2, 16 heads of 64), its scores and values matmuls alone, a
plain read of the same keys/values (a sum), and the step's weight matmuls (x @ W.T, 2 rows).
Times are the process's CPU time (min and median of ``--rounds``, interleaved), which a shared
host's other processes disturb less than wall time; GB/s are of the bytes each part reads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oscgen  # noqa: E402,F401  (MKL under MLX)
from oscgen import _blas  # noqa: E402

import mlx.core as mx  # noqa: E402

B, H, HD, LAYERS, D, FFN = 2, 16, 64, 24, 1024, 4096


def parts(window: int) -> dict:
    q = mx.random.normal((B, H, 1, HD))
    kv = [mx.random.normal((2, B, H, window, HD)) for _ in range(LAYERS)]
    pos = mx.array(window - 5)
    mx.eval(q, kv)

    def sdpa(q, kv, pos):
        mask = (mx.arange(window) <= pos)[None, None, None]
        return [mx.fast.scaled_dot_product_attention(q, c[0], c[1], scale=HD ** -0.5, mask=mask) for c in kv]

    def scores(q, kv, pos):
        return [q @ c[0].swapaxes(-1, -2) for c in kv]

    def values(q, kv, pos):
        p = mx.ones((B, H, 1, window)) / window
        return [p @ c[1] for c in kv]

    def read(q, kv, pos):
        return [c.sum(axis=-1) for c in kv]

    kv_bytes = sum(c.nbytes for c in kv)
    fns = {"sdpa": (sdpa, kv_bytes), "scores matmuls": (scores, kv_bytes / 2),
           "values matmuls": (values, kv_bytes / 2), "read (sum)": (read, kv_bytes)}
    return {name: (mx.compile(fn), nbytes, (q, kv, pos)) for name, (fn, nbytes) in fns.items()}


def matmuls() -> tuple:
    shapes = [(3 * D, D), (D, D), (FFN, D), (D, FFN)] * LAYERS + [(4 * 2048, D)]
    weights = [mx.full(s, 0.02) for s in shapes]
    xs = {i: mx.ones((B, i)) for i in (D, FFN)}
    mx.eval(weights, xs)
    fn = lambda ws: [xs[w.shape[1]] @ w.T for w in ws]  # noqa: E731
    return fn, sum(w.nbytes for w in weights), (weights,)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="MKL threads (default 1)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    _blas.set_threads(args.threads)
    cases = {f"{name}, window {w}": case for w in (256, 512) for name, case in parts(w).items()}
    cases["weight matmuls (x @ W.T, the step's)"] = matmuls()
    cpu = {name: [] for name in cases}
    for fn, _, inputs in cases.values():
        mx.eval(fn(*inputs))
    for _ in range(args.rounds):
        for name, (fn, _, inputs) in cases.items():
            t0 = time.process_time()
            mx.eval(fn(*inputs))
            cpu[name].append((time.process_time() - t0) * 1e3)
    report = {"cpu": _blas.cpu_model(), "threads": args.threads, "load": os.getloadavg()[0],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "parts": {}}
    print(f"{report['cpu']}, MKL {args.threads} thread(s), load average {report['load']:.1f}, {report['date']}")
    for name, (_, nbytes, _) in cases.items():
        best = min(cpu[name])
        report["parts"][name] = {"cpu_ms_min": best, "cpu_ms_median": statistics.median(cpu[name]),
                                 "mb": nbytes / 1e6, "gbs": nbytes / best / 1e6}
        print(f"  {name:40s} {best:7.2f} ms (median {statistics.median(cpu[name]):7.2f}), "
              f"{nbytes / 1e6:6.0f} MB, {nbytes / best / 1e6:5.1f} GB/s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
