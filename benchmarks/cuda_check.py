"""The CUDA decode step (oscgen/musicgen/cuda) against the portable step, ON the GPU; then both
timed in the pipeline's own loop.  Run it on the lent GPU (benchmarks/gpu_lease.sh stage2 kernels):

    python benchmarks/cuda_check.py CHECKPOINT_DIR [--dtypes float32 float16 bfloat16] [--json out.json]

Checks, per decoder dtype, with random tokens teacher-forced through both paths over more than
one cache window (so the window growth and attention over many positions are covered):
- guided logits: the CUDA step against the portable step, and both against the float32 portable
  step (true float32: TF32 off, see below).  float32: within 1e-4 relative (same maths, other summation order over ≤ 4·hidden terms
  a layer).  float16 / bfloat16: the CUDA step may round at other points than the portable one,
  so it must be as close to float32 as the portable step at that dtype is (≤ 1.5x its error +
  1e-3), which is what a user of the dtype already accepts;
- the keys/values each path left in the cache, the same way;
- the draw: the kernel's tokens equal the portable sampler's on the kernel's own logits with the
  same key (top-k 250, delay pattern included): exact;
- no grid barrier timed out.
Exit status 1 when a check fails.  Timing: decode steps of a 10 s job (503 steps), CUDA step and
portable step alternating in this process, split into host time and wall time per step.
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
# MLX runs float32 GEMMs in TF32 on CUDA by default (MLX_ENABLE_TF32, read once per process): the
# portable float32 step is then only ~1e-3 from float32 (measured 9.3e-4 against the kernels on an
# H200, 2026-12-01).  The reference here is true float32; float16/bfloat16 GEMMs are unaffected.
os.environ.setdefault("MLX_ENABLE_TF32", "0")

import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from oscgen.musicgen import pipeline, quantize  # noqa: E402
from oscgen.musicgen.cuda import step as cuda_step  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402
from oscgen.musicgen.sampling import classifier_free_guidance, sample  # noqa: E402

TOP_K, CFG, TEMPERATURE = 250, 3.0, 1.0


def load(checkpoint: str, dtype: str) -> MusicGen:
    engine = MusicGen.from_pretrained(checkpoint)
    quantize.convert_decoder(engine, dtype=dtype)
    engine._fit_to_device()
    return engine


def job_inputs(engine: MusicGen, steps: int):
    ids = mx.arange(1, pipeline.TEXT_BLOCK + 1, dtype=mx.int32)[None]
    states, mask = engine._conditioning(ids, guided=True)
    cross_kv, cross_mask = engine._cross_attention(states, mask, max(steps, pipeline.FOLD_MIN_STEPS))
    return cross_kv, cross_mask


def teacher_forced(engine: MusicGen, fused: bool, tokens: np.ndarray) -> dict:
    """Guided logits per step (steps, K·V) float32, the final cache, and (fused) the draw check."""
    steps = tokens.shape[-1]
    dec = engine.decoder
    cross_kv, cross_mask = job_inputs(engine, steps)
    table = engine._positions_table(steps)
    cache = dec.new_cache(2, pipeline.CACHE_BLOCK)
    knobs = mx.array([CFG, TEMPERATURE, 0.0], dtype=mx.float32)
    frames = mx.array(steps - max(engine.codebook_delays), dtype=mx.int32)
    delays = mx.array(engine.codebook_delays)
    out, draws_equal = [], 0
    for t in range(steps):
        if t == cache[0].shape[3]:
            cache = dec.grow_cache(cache, t + pipeline.CACHE_BLOCK)
        tok = mx.array(tokens[:, :, t], dtype=mx.int32)
        position, key = mx.array(t, dtype=mx.int32), mx.random.key(t)
        if fused:
            got, logits = engine._fused.step(tok, position, key, knobs, frames, table, cache, cross_kv,
                                             top_k=TOP_K, guided=True, start_token=engine.start_token_id, delays=delays)
            logits = logits.reshape(1, engine.num_codebooks, -1)
            want = sample(logits, key, knobs[1], TOP_K)
            nxt = position + 1
            want = mx.where((nxt > delays) & (nxt <= frames + delays), want, engine.start_token_id)
            draws_equal += bool(mx.array_equal(got, want).item())
        else:
            logits, cache = dec.step(mx.concatenate([tok, tok]), position, table, cache, cross_kv, cross_mask)
            logits = classifier_free_guidance(logits.astype(mx.float32), CFG)
        mx.eval(logits, cache)
        out.append(np.array(logits).reshape(-1))
    result = {"logits": np.stack(out), "cache": [np.array(c.astype(mx.float32)) for c in cache]}
    if fused:
        result["draws_equal"] = draws_equal
        result["timed_out"] = engine._fused.timed_out()
    return result


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """max over steps of ‖a - b‖ / ‖b‖."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)).max())


def cache_rel(a: list, b: list, steps: int) -> float:
    return max(rel(x[:, :, :, :steps].transpose(3, 0, 1, 2, 4), y[:, :, :, :steps].transpose(3, 0, 1, 2, 4))
               for x, y in zip(a, b))


def decode_timing(engine: MusicGen, fused: bool, steps: int) -> dict:
    """The pipeline's loop (async_eval, one step in flight), per step: host time building the
    step, host time encoding it, wall time."""
    cross_kv, cross_mask = job_inputs(engine, steps)
    cache = engine.decoder.new_cache(2, pipeline.CACHE_BLOCK)
    table = engine._positions_table(steps)
    keys = mx.random.split(mx.random.key(0), steps)
    knobs = mx.array([CFG, TEMPERATURE, 0.0], dtype=mx.float32)
    frames = mx.array(steps - max(engine.codebook_delays), dtype=mx.int32)
    step = engine._step(TOP_K, False, True, fused)
    tokens = mx.full((1, engine.num_codebooks), engine.start_token_id, dtype=mx.int32)
    mx.eval(cross_kv, cross_mask, cache, table, keys, tokens)
    mx.synchronize()
    build, encode, wall = [], [], []
    previous = None
    start = last = time.perf_counter()
    for t in range(steps):
        if t == cache[0].shape[3]:
            cache = engine.decoder.grow_cache(cache, t + pipeline.CACHE_BLOCK)
        t0 = time.perf_counter()
        tokens, cache = step(tokens, mx.array(t, dtype=mx.int32), keys[t], knobs, frames, table, cache, cross_kv, cross_mask)
        t1 = time.perf_counter()
        mx.async_eval(tokens, cache)
        t2 = time.perf_counter()
        if previous is not None:
            mx.eval(previous)
        now = time.perf_counter()
        build.append(t1 - t0)
        encode.append(t2 - t1)
        wall.append(now - last)
        last = now
        previous = tokens
    mx.eval(tokens)
    total = time.perf_counter() - start
    ms = lambda xs: round(1e3 * statistics.median(xs[10:]), 3)
    return {"fused": fused, "steps": steps, "decode_s": round(total, 3), "wall_ms": ms(wall),
            "host_build_ms": ms(build), "host_encode_ms": ms(encode)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16", "bfloat16"])
    parser.add_argument("--steps", type=int, default=300, help="teacher-forced steps (> 256: two cache windows)")
    parser.add_argument("--time-dtype", default="float16")
    parser.add_argument("--time-steps", type=int, default=503)
    parser.add_argument("--json")
    args = parser.parse_args()

    report = {"device": str(mx.default_device()), "mlx": mx.__version__, "checks": {}, "failed": []}
    rng = np.random.default_rng(0)
    reference = None
    for dtype in ["float32"] + [d for d in args.dtypes if d != "float32"]:
        engine = load(args.checkpoint, dtype)
        if engine._fused is None:
            report["failed"].append(f"{dtype}: the CUDA step does not apply")
            continue
        if reference is None:
            tokens = rng.integers(0, engine.vocab_size, (1, engine.num_codebooks, args.steps))
        t0 = time.perf_counter()
        plain = teacher_forced(engine, False, tokens)
        fused = teacher_forced(engine, True, tokens)
        if reference is None:
            reference = plain
        check = {"fused_vs_plain": rel(fused["logits"], plain["logits"]),
                 "plain_vs_float32": rel(plain["logits"], reference["logits"]),
                 "fused_vs_float32": rel(fused["logits"], reference["logits"]),
                 "cache_fused_vs_plain": cache_rel(fused["cache"], plain["cache"], args.steps),
                 "draws_equal": f"{fused['draws_equal']}/{args.steps}", "timed_out": fused["timed_out"],
                 "max_abs_logit": float(np.abs(plain["logits"]).max()), "seconds": round(time.perf_counter() - t0, 1)}
        report["checks"][dtype] = check
        if dtype == "float32":
            bad = check["fused_vs_plain"] > 1e-4 or check["cache_fused_vs_plain"] > 1e-4
        else:
            bad = check["fused_vs_float32"] > 1.5 * check["plain_vs_float32"] + 1e-3
        if bad:
            report["failed"].append(f"{dtype}: logits or cache off")
        if fused["draws_equal"] != args.steps:
            report["failed"].append(f"{dtype}: draws differ")
        if fused["timed_out"]:
            report["failed"].append(f"{dtype}: a grid barrier timed out")
        print(dtype, json.dumps(check), flush=True)
        if dtype == args.time_dtype:
            report["timing"] = [decode_timing(engine, fused_path, args.time_steps) for fused_path in (True, False, True, False)]
            for row in report["timing"]:
                print(json.dumps(row), flush=True)
        del engine
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print("FAILED: " + "; ".join(report["failed"]) if report["failed"] else "all CUDA checks passed")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
