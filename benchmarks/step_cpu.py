"""Variants of the CPU decode step against each other, in one process (issue 11: where the time
above the weight matmuls goes, on a host shared with other work).

    python benchmarks/step_cpu.py [--steps 40] [--windows 256,512] [--only addmm] [--json out.json]

Loads the bench's random musicgen-small checkpoint (``oscgen bench`` writes it once into the
oscgen cache) and traces the pipeline's compiled guided top-k 250 step (one take: 2 rows) once
per variant (module switches set while it traces).  Then, for ``--steps`` positions near the
end of each cache window, it runs at every position each variant's step once, in a rotating
order, each on its own cache: paired samples that meet the same moments of load from other
processes.  Per variant: the median CPU and wall ms per step, and the median over positions
of its ratio to ``current`` at the same position.  CPU time counts what this process ran
(descheduling by other processes does not), so it is the steadier figure on a loaded host.
Variants:

- ``current``: the step as it ships;
- ``addmm``: the residual adds as ``mx.addmm`` (decoder.ADDMM_ON_CPU), what a GPU runs;
- ``no self-attention``: the step without reading the cache (wrong output: the price of
  attending over the window);
- ``MLX's layer norms``: the decoder's layer norms as MLX's six ops each instead of oscgen's
  one (layers.DECODE_LAYER_NORM unset);
- ``no layer norms``: every LayerNorm an identity (wrong output: their price).

Then a job's set-up before its first step (T5 on a 19-token prompt, the cross-attention
keys/values and their fold), as ``generate_takes`` runs it, against projecting every row of the
guided batch as the code did before (the fold reads only the text's row): best and median wall
ms of ``--rounds`` × 2 interleaved runs.
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

from oscgen.bench import common  # noqa: E402
from oscgen.musicgen import decoder as decoder_lib  # noqa: E402
from oscgen.musicgen import layers, pipeline  # noqa: E402
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


def paired_steps(engine: MusicGen, inputs: tuple, window: int, steps: int, cases: dict) -> dict:
    """Every variant's compiled step traced once (its switch set while it traces), then
    ``steps`` positions ending at the window's last one, at each position every variant's step
    once, in a rotating order, each on its own cache and evaluated before the next: the
    variants meet the same moments of load.  → per variant the lists of CPU and wall ms."""
    keys, knobs, frames, table, cross_kv, cross_mask = inputs
    first = window - steps
    compiled, caches = {}, {}
    for name, (setup, teardown) in cases.items():
        setup()
        try:
            engine._compiled_steps.clear()
            compiled[name] = engine._step(250, False, True)
            cache = engine.decoder.new_cache(2, window)
            tokens = mx.full((1, engine.num_codebooks), 7, dtype=mx.int32)
            out = compiled[name](tokens, mx.array(first - 1, dtype=mx.int32), keys[first - 1], knobs, frames, table,
                                 cache, cross_kv, cross_mask)  # traces with the switch set
            mx.eval(out)
            caches[name] = out
        finally:
            teardown()
    engine._compiled_steps.clear()
    names = list(cases)
    times = {name: ([], []) for name in names}
    for t in range(first, window):
        shift = t % len(names)
        for name in names[shift:] + names[:shift]:
            tokens, cache = caches.pop(name)
            c0, w0 = time.process_time(), time.perf_counter()
            out = compiled[name](tokens, mx.array(t, dtype=mx.int32), keys[t], knobs, frames, table, cache, cross_kv, cross_mask)
            del tokens, cache  # the step's graph holds the only reference: MLX updates the cache in place
            mx.eval(out)
            times[name][0].append(1e3 * (time.process_time() - c0))
            times[name][1].append(1e3 * (time.perf_counter() - w0))
            caches[name] = out
    return times


def setup_ms(engine: MusicGen, rounds: int) -> dict:
    """A guided one-take job's set-up: T5, cross-attention keys/values, fold (wall ms)."""
    from oscgen.musicgen import crossfold
    from oscgen.musicgen.batch import Take

    take = Take(tuple(range(1, 20)), 500)

    def current():
        states, mask, texts = engine._batch_conditioning([take], True)
        return engine._cross_attention(states, mask, 503, 1, texts)

    def every_row():
        states, mask, texts = engine._batch_conditioning([take], True)
        cross_mask = decoder_lib.additive_mask(mask)
        return [crossfold.fold(layer.encoder_attn, k, v, cross_mask)
                for layer, (k, v) in zip(engine.decoder.layers, engine.decoder.cross_kv(states))]

    times = {"current": [], "every row projected": []}
    for _ in range(2 * rounds):
        for name, fn in (("current", current), ("every row projected", every_row)):
            start = time.perf_counter()
            mx.eval(fn())
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: {"best_ms": round(min(t), 1), "median_ms": round(statistics.median(t), 1)} for name, t in times.items()}


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
        "MLX's layer norms": switch(layers, "DECODE_LAYER_NORM", None),
        # the decoder's norms are layers.LayerNorm, whose __call__ is its own
        "no layer norms": switch(layers.LayerNorm, "__call__", lambda self, x: x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="set-up runs per variant, times 2")
    parser.add_argument("--steps", type=int, default=40, help="positions per window")
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
    report = {"cpu": _blas.cpu_model(), "blas": _blas.ACTIVE_BLAS, "mkl_threads": _blas.default_threads(),
              "load_average": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "steps": args.steps, "windows": {}}
    print(f"{report['cpu']}, MKL {report['mkl_threads']} thread(s), load average "
          f"{report['load_average'][0]:.1f}, {report['date']}")
    for window in windows:
        times = paired_steps(engine, inputs, window, args.steps, cases)
        ref_cpu, ref_wall = times["current"]
        rows = {}
        print(f"window {window} (positions {window - args.steps}..{window - 1}), medians over the positions:")
        for name, (cpu, wall) in times.items():
            cpu_ratio = statistics.median(c / r for c, r in zip(cpu, ref_cpu))
            wall_ratio = statistics.median(w / r for w, r in zip(wall, ref_wall))
            rows[name] = {"cpu_ms": round(statistics.median(cpu), 2), "wall_ms": round(statistics.median(wall), 2),
                          "cpu_ratio": round(cpu_ratio, 3), "wall_ratio": round(wall_ratio, 3)}
            print(f"  {name:20s} CPU {rows[name]['cpu_ms']:7.2f} ms ({cpu_ratio:5.3f})"
                  f"   wall {rows[name]['wall_ms']:7.2f} ms ({wall_ratio:5.3f})")
        report["windows"][window] = rows
    report["setup"] = setup_ms(engine, args.rounds)
    print("job set-up (T5 + cross-attention keys/values + fold):")
    for name, t in report["setup"].items():
        print(f"  {name:20s} best {t['best_ms']:7.1f} ms   median {t['median_ms']:7.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
