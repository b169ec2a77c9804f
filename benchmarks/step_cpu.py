"""Variants of the CPU decode step against each other, in one process (issue 11: where the time
above the weight matmuls goes, on a host shared with other work).

    python benchmarks/step_cpu.py [--rounds 4] [--steps 24] [--windows 256,512] [--json out.json]

Loads the bench's random musicgen-small checkpoint (``oscgen bench`` writes it once into the
oscgen cache) and runs the pipeline's compiled guided top-k 250 step (one take: 2 rows) for
``--steps`` positions near the end of each cache window, once per variant, the variants
interleaved for ``--rounds`` rounds.  Per variant: the process's CPU time and the wall time
per step, each the lower quartile of the round's steps, then the best round; and the ratio to
``current``.  CPU time counts what this process ran (descheduling by other processes does
not), so it is the steadier figure on a loaded host.  Variants (module switches flipped
between rounds, each retraced):

- ``current``: the step as it ships;
- ``addmm``: the residual adds as ``mx.addmm`` (decoder.ADDMM_ON_CPU), what a GPU runs;
- ``no self-attention``: the step without reading the cache (wrong output: the price of
  attending over the window);
- ``no layer norms``: every LayerNorm an identity (wrong output: their price).
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
import mlx.nn as nn  # noqa: E402

from oscgen.bench import common  # noqa: E402
from oscgen.musicgen import decoder as decoder_lib  # noqa: E402
from oscgen.musicgen import pipeline  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402


def job_inputs(engine: MusicGen, steps: int) -> tuple:
    """What generate_takes gives the step for one guided take of ``steps`` steps."""
    ids = mx.arange(1, pipeline.TEXT_BLOCK + 1, dtype=mx.int32)[None]
    states, mask = engine._conditioning(ids, guided=True)
    cross_kv, cross_mask = engine._cross_attention(states, mask, steps)
    table = engine._positions_table(steps)
    keys = mx.random.split(mx.random.key(0), steps)[:, None]
    knobs = mx.array([[3.0, 1.0, 0.0]], dtype=mx.float32)
    frames = mx.array([steps], dtype=mx.int32)
    mx.eval(cross_kv, cross_mask, table, keys)
    return keys, knobs, frames, table, cross_kv, cross_mask


def timed_steps(engine: MusicGen, inputs: tuple, window: int, steps: int) -> tuple[float, float]:
    """``steps`` steps ending at the window's last position, each evaluated before the next →
    (CPU ms, wall ms) per step, lower quartiles (after 2 steps of tracing)."""
    keys, knobs, frames, table, cross_kv, cross_mask = inputs
    engine._compiled_steps.clear()
    step = engine._step(250, False, True)
    cache = engine.decoder.new_cache(2, window)
    tokens = mx.full((1, engine.num_codebooks), 7, dtype=mx.int32)
    mx.eval(cache, tokens)
    cpu, wall = [], []
    for t in range(window - steps - 2, window):
        c0, w0 = time.process_time(), time.perf_counter()
        tokens, cache = step(tokens, mx.array(t, dtype=mx.int32), keys[t], knobs, frames, table, cache, cross_kv, cross_mask)
        mx.eval(tokens, cache)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    quartile = lambda xs: 1e3 * sorted(xs[2:])[len(xs[2:]) // 4]  # noqa: E731
    return quartile(cpu), quartile(wall)


def _no_self_attention(self, x, mask, cache=None):
    B, L, _ = x.shape
    qkv = decoder_lib.linear(self.qkv_proj, x).reshape(B, L, 3, self.num_heads, -1).transpose(2, 0, 3, 1, 4)
    if cache is not None:
        cache.update(qkv[1:])
    return qkv[2].transpose(0, 2, 1, 3).reshape(B, L, -1)


def variants() -> dict:
    """name → (set up, tear down)."""
    saved = {}

    def switch(obj, name, value):
        def setup():
            saved[(obj, name)] = getattr(obj, name)
            setattr(obj, name, value)

        return setup, lambda: setattr(obj, name, saved[(obj, name)])

    nothing = (lambda: None, lambda: None)
    return {
        "current": nothing,
        "addmm": switch(decoder_lib, "ADDMM_ON_CPU", True),
        "no self-attention": switch(decoder_lib.SelfAttention, "context", _no_self_attention),
        "no layer norms": switch(nn.LayerNorm, "__call__", lambda self, x: x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--windows", default="256,512")
    parser.add_argument("--only", default=None, help="comma-separated variant names (default: all)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    checkpoint = common.checkpoint_dir("small")
    if not checkpoint.exists():
        common.write_random_checkpoint("small", checkpoint)
    engine = MusicGen.from_pretrained(str(checkpoint))
    windows = [int(w) for w in args.windows.split(",")]
    inputs = job_inputs(engine, max(windows) + 1)
    cases = variants()
    if args.only:
        cases = {name: cases[name] for name in ["current", *args.only.split(",")] if name in cases}
    results = {w: {name: [] for name in cases} for w in windows}
    for _ in range(args.rounds):
        for window in windows:
            for name, (setup, teardown) in cases.items():
                setup()
                try:
                    results[window][name].append(timed_steps(engine, inputs, window, args.steps))
                finally:
                    teardown()
    report = {"cpu": _blas.cpu_model(), "blas": _blas.ACTIVE_BLAS, "mkl_threads": _blas.default_threads(),
              "load_average": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "rounds": args.rounds, "steps": args.steps, "windows": {}}
    print(f"{report['cpu']}, MKL {report['mkl_threads']} thread(s), load average "
          f"{report['load_average'][0]:.1f}, {report['date']}")
    for window in windows:
        rows = results[window]
        best = {name: (min(c for c, _ in r), min(w for _, w in r)) for name, r in rows.items()}
        ref_cpu, ref_wall = best["current"]
        report["windows"][window] = {name: {"cpu_ms": round(c, 2), "wall_ms": round(w, 2),
                                            "cpu_ratio": round(c / ref_cpu, 3), "wall_ratio": round(w / ref_wall, 3),
                                            "cpu_ms_rounds": [round(x, 2) for x, _ in rows[name]]}
                                     for name, (c, w) in best.items()}
        print(f"window {window} (positions {window - args.steps}..{window - 1}):")
        for name, (c, w) in best.items():
            print(f"  {name:20s} CPU {c:7.2f} ms ({c / ref_cpu:5.3f})   wall {w:7.2f} ms ({w / ref_wall:5.3f})"
                  f"   rounds {statistics.median(c for c, _ in rows[name]):.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
