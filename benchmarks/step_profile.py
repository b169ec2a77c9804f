"""Where a decode step's time goes, on the device MLX runs on (run it on the GPU machine).

For one loaded engine it measures, in one process so the variants are comparable:
- the warm-up a daemon runs after loading (first call: tracing + any kernel compilation; second
  call: what is left once everything is compiled);
- decode steps the way the pipeline runs them (``async_eval``, one step in flight), split into
  host time building the step's graph (the compiled function's call), host time encoding it for
  the device (``async_eval``) and wall time per step: if the host times add up to the wall
  time, the step is bound by the host's per-kernel work, not by the device;
- the same with and without the folded cross-attention (crossfold.py);
- EnCodec on 500 frames with MLX's conv kernels and with the matmul forms.

    python benchmarks/step_profile.py CHECKPOINT_DIR [--dtype float16] [--steps 200] [--json out.json]

With MLX_SAVE_CUDA_GRAPHS_DOT_FILE=/some/folder/g set (CUDA only), it also counts the kernels
of a decode step from the graphs MLX dumps, and writes them next to the JSON (.dot).

Knobs of MLX's CUDA backend (e.g. MLX_MAX_OPS_PER_BUFFER) are read once per process: compare
them by running this script once per setting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mlx.core as mx  # noqa: E402

from oscgen.musicgen import decoder as decoder_lib  # noqa: E402
from oscgen.musicgen import encodec, fused_heads, pipeline, quantize  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_loop(engine: MusicGen, step, tokens, cache, job: tuple, steps: int) -> dict:
    """``steps`` steps run the pipeline's way (``async_eval``, one step in flight, the cache grown
    a block when full), each timed: host time building the step's graph (the compiled function's
    call), host time encoding it for the device (``async_eval``), wall time (ms, medians).
    ``job``: (keys, knobs, frames, positions table, cross_kv, cross_mask)."""
    keys, knobs, frames, table, cross_kv, cross_mask = job
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
    mx.eval(tokens, cache)
    mx.synchronize()
    skip = min(10, steps // 4)  # the first steps trace and compile
    ms = lambda xs: round(1e3 * statistics.median(xs[skip:]), 3)
    return {"steps": steps, "decode_s": round(time.perf_counter() - start, 3), "wall_ms": ms(wall),
            "host_build_ms": ms(build), "host_encode_ms": ms(encode), "first_step_ms": round(1e3 * wall[0], 1)}


def decode_steps(engine: MusicGen, steps: int, fold: bool, on_loop_start=None) -> dict:
    """``steps`` guided top-k 250 steps from position 0, timed per part (timed_loop).
    ``on_loop_start()`` runs once the job's inputs are on the device, before the first step."""
    pipeline.FOLD_CROSS_ATTENTION = fold
    engine._fit_to_device()
    engine._compiled_steps.clear()
    ids = mx.arange(1, pipeline.TEXT_BLOCK + 1, dtype=mx.int32)[None]  # one text block
    states, mask = engine._conditioning(ids, guided=True)
    cross_kv, cross_mask = engine._cross_attention(states, mask, max(steps, pipeline.FOLD_MIN_STEPS))
    cache = engine.decoder.new_cache(2, -(-steps // pipeline.CACHE_BLOCK) * pipeline.CACHE_BLOCK)
    table = engine._positions_table(steps)
    keys = mx.random.split(mx.random.key(0), steps)[:, None]  # the step's per-take inputs: one take
    knobs = mx.array([[3.0, 1.0, 0.0]], dtype=mx.float32)
    frames = mx.array([steps], dtype=mx.int32)
    step = engine._step(250, False, True)
    tokens = mx.full((1, engine.num_codebooks), engine.start_token_id, dtype=mx.int32)
    mx.eval(cross_kv, cross_mask, cache, table, keys, tokens)
    mx.synchronize()
    if on_loop_start is not None:
        on_loop_start()
    return {"fold": fold, **timed_loop(engine, step, tokens, cache, (keys, knobs, frames, table, cross_kv, cross_mask), steps)}


def layout_check(engine: MusicGen, steps: int = 8) -> dict:
    """Step logits of the padded self-attention layout (fused_heads.pad_heads_for_fused_attention,
    what a GPU runs) against the plain, masked one, on this device: the same random tokens
    teacher-forced through both.  Pads the engine's decoder (if it applies)."""
    decoder = engine.decoder
    states, mask = engine._conditioning(mx.arange(1, pipeline.TEXT_BLOCK + 1, dtype=mx.int32)[None], guided=True)
    cross_kv, cross_mask = engine._cross_attention(states, mask, 1)
    table = engine._positions_table(steps)
    tokens = mx.random.randint(0, engine.vocab_size, (2, engine.num_codebooks, steps), key=mx.random.key(1))

    def logits() -> mx.array:
        cache = decoder.new_cache(2, pipeline.CACHE_BLOCK)
        out = []
        for t in range(steps):
            step_logits, cache = decoder.step(tokens[:, :, t], mx.array(t), table, cache, cross_kv, cross_mask)
            out.append(step_logits.astype(mx.float32))
        return mx.stack(out)

    plain = logits()
    mx.eval(plain)
    padded_now = fused_heads.pad_heads_for_fused_attention(decoder)
    engine._compiled_steps.clear()
    padded = logits()
    return {"padded": padded_now, "padded_head_dim": decoder.padded_head_dim,
            "max_abs_diff": float(mx.abs(padded - plain).max()), "max_abs_logit": float(mx.abs(plain).max())}


def kernel_census(engine: MusicGen, dot_prefix: str, raw_out: str | None, steps: int = 4) -> dict:
    """Kernels per decode step, from the CUDA graphs MLX writes when MLX_SAVE_CUDA_GRAPHS_DOT_FILE
    is set (one .dot file per submitted graph): node types and kernel names, per step."""
    folder = Path(dot_prefix).parent
    before = set()

    def mark():
        before.update(folder.glob("*.dot"))

    decode_steps(engine, steps, True, on_loop_start=mark)
    files = sorted(set(folder.glob("*.dot")) - before, key=lambda p: int(p.stem.rsplit("_", 1)[-1]))
    text = "\n".join(p.read_text(errors="replace") for p in files)
    if raw_out:
        Path(raw_out).write_text(text)
    labels = re.findall(r'label="([^"]*)"', text)
    kinds: dict[str, int] = {}
    names: dict[str, int] = {}
    for label in labels:
        kind = label.split("\\n")[0].split("\n")[0][:40]
        kinds[kind] = kinds.get(kind, 0) + 1
        for name in re.findall(r"(_Z\w+|[A-Za-z_][\w:]*kernel\w*)", label)[:1]:
            names[name] = names.get(name, 0) + 1
    per_step = lambda d: {k: round(v / steps, 2) for k, v in sorted(d.items(), key=lambda kv: -kv[1])}
    return {"graphs_per_step": round(len(files) / steps, 2), "labels_per_step": round(len(labels) / steps, 1),
            "label_kinds": per_step(kinds), "kernel_names": per_step(names)}


def fused_attention(engine: MusicGen) -> bool | str:
    """Whether MLX runs the step's self-attention as one fused kernel here (else why not)."""
    decoder = engine.decoder
    heads = decoder.config.num_attention_heads
    head_dim = decoder.padded_head_dim or decoder.config.head_dim
    q = mx.zeros((2, heads, 1, head_dim), dtype=decoder.dtype)
    k = mx.zeros((2, heads, pipeline.CACHE_BLOCK, head_dim), dtype=decoder.dtype)
    mask = None if decoder.padded_head_dim else mx.ones((1, 1, 1, pipeline.CACHE_BLOCK), dtype=mx.bool_)
    try:
        mx.eval(mx.fast.scaled_dot_product_attention(q, k, k, scale=1.0, mask=mask, force_fused=True))
        return True
    except ValueError as exc:
        return str(exc)


def encodec_ms(engine: MusicGen, impl: str, frames: int = 500, repeats: int = 3) -> float:
    encodec.CONV_IMPL = impl
    codes = mx.random.randint(0, engine.vocab_size, (1, engine.num_codebooks, frames)).astype(mx.int32)
    mx.eval(engine.decode_audio(codes))  # compile / plan once
    best = min(_timed(lambda: mx.eval(engine.decode_audio(codes))) for _ in range(repeats))
    encodec.CONV_IMPL = "auto"
    return round(1e3 * best, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--dtype", default="float16", choices=quantize.DTYPES)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json")
    parser.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the step without the folded cross-attention, alternating")
    args = parser.parse_args()

    report = {"device": str(mx.default_device()), "mlx": mx.__version__, "dtype": args.dtype,
              "env": {k: v for k, v in os.environ.items() if k.startswith("MLX_")}}
    start = time.perf_counter()
    engine = MusicGen.from_pretrained(args.checkpoint)
    quantize.convert_decoder(engine, dtype=args.dtype)
    report["load_s"] = round(time.perf_counter() - start, 2)
    report["layout_check"] = layout_check(engine)
    frames_30s = 1500
    report["warm_up_first_s"] = {k: round(v, 2) for k, v in engine.warm_up(frames_30s).items()}
    report["warm_up_again_s"] = {k: round(v, 2) for k, v in engine.warm_up(frames_30s).items()}
    runs = [decode_steps(engine, args.steps, fold) for fold in (True, False, True, False)[: 4 if args.variants else 1]]
    report["decode"] = runs
    report["fused_attention"] = fused_attention(engine)
    report["padded_head_dim"] = engine.decoder.padded_head_dim
    report["encodec_ms"] = {impl: encodec_ms(engine, impl) for impl in ("mlx", "matmul")}
    dot_prefix = os.environ.get("MLX_SAVE_CUDA_GRAPHS_DOT_FILE")
    if dot_prefix:
        raw = str(Path(args.json).with_suffix(".dot")) if args.json else None
        report["census"] = kernel_census(engine, dot_prefix, raw)
    if hasattr(mx, "get_peak_memory"):
        report["peak_mlx_mb"] = round(mx.get_peak_memory() / 1e6)
    text = json.dumps(report, indent=1)
    if args.json:  # before printing: a reader that stops early (| head) must not lose the file
        Path(args.json).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
