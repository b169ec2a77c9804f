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
  same key (top-k 250, delay pattern included): exact, except where the k-th largest score is
  tied (boundary_tied: the two samplers keep ties differently; counted apart);
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
from oscgen.musicgen.cuda import kernels, step as cuda_step  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402
from oscgen.musicgen.sampling import classifier_free_guidance, sample  # noqa: E402

import step_profile  # noqa: E402  (beside this script)

TOP_K, CFG, TEMPERATURE = 250, 3.0, 1.0


def load(checkpoint: str, dtype: str) -> MusicGen:
    engine = MusicGen.from_pretrained(checkpoint)
    quantize.convert_decoder(engine, dtype=dtype)
    engine._fit_to_device()
    return engine


def job_inputs(engine: MusicGen, steps: int, prompts: int = 1):
    """Folded cross-attention for ``prompts`` takes of one prompt (variations): rows
    [conditional x prompts, unconditional x prompts]."""
    ids = mx.arange(1, pipeline.TEXT_BLOCK + 1, dtype=mx.int32)[None]
    states, mask = engine._conditioning(ids, guided=True)
    if prompts > 1:
        states, mask = (mx.repeat(a, prompts, axis=0) for a in (states, mask))
    # every take's conditional row, not only row 0
    return engine._cross_attention(states, mask, max(steps, pipeline.FOLD_MIN_STEPS), conditional=prompts)


def teacher_forced(engine: MusicGen, fused: bool, tokens: np.ndarray) -> dict:
    """Guided logits per step (steps, K·V) float32, the final cache, and (fused) the draw check."""
    prompts, steps = tokens.shape[0], tokens.shape[-1]
    dec = engine.decoder
    cross_kv, cross_mask = job_inputs(engine, steps, prompts)
    table = engine._positions_table(steps)
    cache = dec.new_cache(2 * prompts, pipeline.CACHE_BLOCK)
    knobs = mx.array([CFG, TEMPERATURE, 0.0], dtype=mx.float32)
    frames = mx.array(steps - max(engine.codebook_delays), dtype=mx.int32)
    delays = mx.array(engine.codebook_delays)
    out, draws_equal, draws_tied = [], 0, 0
    for t in range(steps):
        if t == cache[0].shape[3]:
            cache = dec.grow_cache(cache, t + pipeline.CACHE_BLOCK)
        tok = mx.array(tokens[:, :, t], dtype=mx.int32)
        position, key = mx.array(t, dtype=mx.int32), mx.random.key(t)
        if fused:
            got, logits = engine._fused.step(tok, position, key, knobs, frames, table, cache, cross_kv,
                                             top_k=TOP_K, guided=True, start_token=engine.start_token_id, delays=delays)
            logits = logits.reshape(prompts, engine.num_codebooks, -1)
            want = sample(logits, key, knobs[1], TOP_K)
            nxt = position + 1
            want = mx.where((nxt > delays) & (nxt <= frames + delays), want, engine.start_token_id)
            if mx.array_equal(got, want).item():
                draws_equal += 1
            elif boundary_tied(np.array(logits), np.array(got) != np.array(want)):
                draws_tied += 1
        else:
            logits, cache = dec.step(mx.concatenate([tok, tok]), position, table, cache, cross_kv, cross_mask)
            logits = classifier_free_guidance(logits.astype(mx.float32), CFG)
        mx.eval(logits, cache)
        out.append(np.array(logits).reshape(-1))
    result = {"logits": np.stack(out), "cache": [np.array(c.astype(mx.float32)) for c in cache]}
    if fused:
        result["draws_equal"], result["draws_tied"] = draws_equal, draws_tied
        result["timed_out"] = engine._fused.timed_out()
    return result


def boundary_tied(logits: np.ndarray, differs: np.ndarray) -> bool:
    """Whether every (take, codebook) whose draw differs has a tie at the top-k boundary.  The
    kernel keeps every score equal to the k-th largest (transformers' TopKLogitsWarper rule), the
    portable sampler exactly k (argpartition), so a draw may legitimately differ there; guided
    logits built from float16-rounded heads take few distinct values, so such ties do occur."""
    for i, k in zip(*np.nonzero(differs)):
        ranked = np.sort(logits[i, k])[::-1]
        if ranked[TOP_K - 1] != ranked[TOP_K]:
            return False
    return True


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """max over steps of ‖a - b‖ / ‖b‖."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)).max())


def cache_rel(a: list, b: list, steps: int) -> float:
    return max(rel(x[:, :, :, :steps].transpose(3, 0, 1, 2, 4), y[:, :, :, :steps].transpose(3, 0, 1, 2, 4))
               for x, y in zip(a, b))


def decode_timing(engine: MusicGen, fused: bool, steps: int, prompts: int = 1) -> dict:
    """The pipeline's loop over a job of ``prompts`` takes, timed per step (step_profile.timed_loop)."""
    cross_kv, cross_mask = job_inputs(engine, steps, prompts)
    cache = engine.decoder.new_cache(2 * prompts, pipeline.CACHE_BLOCK)
    table = engine._positions_table(steps)
    # the step's per-take inputs: a key per take and step, knobs and length per take
    keys = mx.broadcast_to(mx.random.split(mx.random.key(0), steps)[:, None], (steps, prompts, 2))
    knobs = mx.broadcast_to(mx.array([CFG, TEMPERATURE, 0.0], dtype=mx.float32), (prompts, 3))
    frames = mx.full((prompts,), steps - max(engine.codebook_delays), dtype=mx.int32)
    step = engine._step(TOP_K, False, True, fused)
    tokens = mx.full((prompts, engine.num_codebooks), engine.start_token_id, dtype=mx.int32)
    mx.eval(cross_kv, cross_mask, cache, table, keys, tokens)
    mx.synchronize()
    job = (keys, knobs, frames, table, cross_kv, cross_mask)
    return {"fused": fused, "prompts": prompts, **step_profile.timed_loop(engine, step, tokens, cache, job, steps)}


def stage_profile(engine: MusicGen, position: int, launches: int = 30, prompts: int = 1) -> dict:
    """µs per stage of the first layer's kernel (block 0's clock, median over ``launches``
    single launches at ``position``) for ``prompts`` guided takes of one prompt (2 x prompts
    rows), with attention on one block per (row, head, split) and on one warp per split
    (kernels.WARP_ATTENTION_ROWS), no L2 prefetch."""
    dec = engine.decoder
    cross_kv, _ = job_inputs(engine, position + 1, prompts)
    window = -(-(position + 1) // pipeline.CACHE_BLOCK) * pipeline.CACHE_BLOCK
    cache = dec.new_cache(2 * prompts, window)
    x = (mx.random.normal((2 * prompts, dec.config.hidden_size)) * 0.5).astype(dec.dtype)
    layer = dec.layers[0]
    folded = cross_kv[0]
    cross = {"a": cuda_step.score_rows(folded, dec.config.hidden_size), "bt": folded["bt"], "mask": folded["mask"],
             "cond": folded["conditional"]}
    weights = engine._fused._layer_weights(layer)
    names = ["qkv", "attention", "out_proj", "cross_scores", "cross_out", "fc1", "fc2"]
    out = {}
    default = kernels.WARP_ATTENTION_ROWS
    for variant, threshold in (("block_attention", None), ("warp_attention", 1)):
        kernels.WARP_ATTENTION_ROWS = threshold
        rows = []
        for _ in range(launches):
            _, scratch = kernels.layer(x, mx.array(position, dtype=mx.int32), weights, cache[0], cross, engine._fused.bar,
                                       dec.config.num_attention_heads, engine._fused.blocks, dec.layers[1].self_attn.qkv_proj.weight)
            mx.eval(scratch)
            rows.append(kernels.stage_times(scratch))
        med = [round(statistics.median(r[i] for r in rows), 2) for i in range(len(names))]
        out[variant] = dict(zip(names + ["total"], med + [round(sum(med), 2)]))
    kernels.WARP_ATTENTION_ROWS = default
    return out


def copy_bandwidth(gigabytes: float = 2.0) -> dict:
    """A large device-to-device copy (torch, CUDA events), bytes read + written per second: the
    HBM ceiling a step's weight reads are measured against."""
    import torch

    n = int(gigabytes * 1e9)
    src, dst = torch.empty(n, dtype=torch.uint8, device="cuda"), torch.empty(n, dtype=torch.uint8, device="cuda")
    src.random_()
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return {"bytes": 2 * n, "median_s": statistics.median(times), "tb_per_s": round(2 * n / statistics.median(times) / 1e12, 3)}


def batch_main(args) -> int:
    """The CUDA step at ``args.batch`` takes (2x rows with guidance) against the portable step,
    float16, then steps at 1 and at ``args.batch`` takes alternating (CUDA and portable)."""
    report = {"device": str(mx.default_device()), "mlx": mx.__version__, "batch": args.batch, "failed": []}
    engine = load(args.checkpoint, "float16")
    steps = min(args.steps, 120)
    tokens = np.random.default_rng(0).integers(0, engine.vocab_size, (args.batch, engine.num_codebooks, steps))
    plain, fused = teacher_forced(engine, False, tokens), teacher_forced(engine, True, tokens)
    check = {"fused_vs_plain": rel(fused["logits"], plain["logits"]),
             "cache_fused_vs_plain": cache_rel(fused["cache"], plain["cache"], steps),
             "draws_equal": f"{fused['draws_equal']}/{steps}", "draws_tied": fused["draws_tied"],
             "timed_out": fused["timed_out"]}
    report["check"] = check
    print("batch", args.batch, json.dumps(check), flush=True)
    # float16 rounding at other points than MLX's kernels: the single-take check's 3.5e-3 and margin
    if check["fused_vs_plain"] > 1e-2 or fused["draws_equal"] + fused["draws_tied"] != steps or fused["timed_out"]:
        report["failed"].append("batched CUDA step off")
    report["timing"] = []
    for prompts, fused_path in [(1, True), (args.batch, True), (args.batch, False)] * 2:
        engine._compiled_steps.clear()
        row = decode_timing(engine, fused_path, args.time_steps, prompts)
        report["timing"].append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print("FAILED: " + "; ".join(report["failed"]) if report["failed"] else "batched CUDA checks passed")
    return 1 if report["failed"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16", "bfloat16"])
    parser.add_argument("--steps", type=int, default=300, help="teacher-forced steps (> 256: two cache windows)")
    parser.add_argument("--time-dtype", default="float16")
    parser.add_argument("--time-steps", type=int, default=503)
    parser.add_argument("--batch", type=int, default=0,
                        help="instead: check float16 at this many takes of one prompt, and time the step at 1 and at it")
    parser.add_argument("--stages", type=int, nargs="+", default=None, metavar="TAKES",
                        help="instead: only the first layer's per-stage µs (float16) at these numbers of takes")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.stages:
        engine = load(args.checkpoint, "float16")
        report = {str(n): {str(p): stage_profile(engine, p, prompts=n) for p in (100, 500)} for n in args.stages}
        print(json.dumps(report, indent=1), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        return 0
    if args.batch:
        return batch_main(args)

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
                 "draws_equal": f"{fused['draws_equal']}/{args.steps}", "draws_tied": fused["draws_tied"],
                 "timed_out": fused["timed_out"],
                 "max_abs_logit": float(np.abs(plain["logits"]).max()), "seconds": round(time.perf_counter() - t0, 1)}
        report["checks"][dtype] = check
        if dtype == "float32":
            bad = check["fused_vs_plain"] > 1e-4 or check["cache_fused_vs_plain"] > 1e-4
        else:
            bad = check["fused_vs_float32"] > 1.5 * check["plain_vs_float32"] + 1e-3
        if bad:
            report["failed"].append(f"{dtype}: logits or cache off")
        if fused["draws_equal"] + fused["draws_tied"] != args.steps:
            report["failed"].append(f"{dtype}: draws differ")
        if fused["timed_out"]:
            report["failed"].append(f"{dtype}: a grid barrier timed out")
        print(dtype, json.dumps(check), flush=True)
        if dtype == args.time_dtype:
            report["stages_us"] = {str(p): stage_profile(engine, p) for p in (100, 500)}
            print("stages", json.dumps(report["stages_us"]), flush=True)
            report["timing"] = []
            for fused_path, prefetch in [(True, True), (False, True), (True, False)] * 2:
                kernels.PREFETCH = prefetch
                engine._compiled_steps.clear()
                row = decode_timing(engine, fused_path, args.time_steps)
                row["prefetch"] = prefetch if fused_path else None
                report["timing"].append(row)
                print(json.dumps(row), flush=True)
            kernels.PREFETCH = False
            engine._compiled_steps.clear()
        del engine
    try:
        report["copy"] = copy_bandwidth()
        print("copy", json.dumps(report["copy"]), flush=True)
    except Exception as exc:  # torch missing: the checks above still count
        report["copy"] = repr(exc)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print("FAILED: " + "; ".join(report["failed"]) if report["failed"] else "all CUDA checks passed")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
