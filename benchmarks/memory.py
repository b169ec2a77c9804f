"""Where musicgen's memory goes: per component, over the load, over a job (results: memory.md).

    python benchmarks/memory.py --model small --dtype float16 [--frames 500] [--device gpu]
    python benchmarks/memory.py --model small --dtype float16 --after-load   # convert_decoder's path

One load and two jobs per process (MLX's peak counter is per process, so run one variant per
invocation).  Reported, in MB (1e6 bytes):

- ``params``: parameters and bytes of the text encoder (+ its projection), decoder and EnCodec,
  in the dtype they are kept in;
- MLX's allocator (``mx.get_peak_memory``/``get_active_memory``: buffers in use, not its cache
  of freed buffers): peak over the load, in use after it (the weights), and the peak over each
  part of a job (decoding, EnCodec) with the peak reset before each;
- the process's resident memory (now and its peak, ``ru_maxrss``), which adds Python, MKL and
  MLX's libraries and the allocator's cache.

``--model small``/``medium`` is the bench's random checkpoint at the real size (written once,
see oscgen/bench/); any checkpoint folder works too.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oscgen  # noqa: E402,F401  (MKL before mlx)
import mlx.core as mx  # noqa: E402
from mlx.utils import tree_flatten  # noqa: E402

from oscgen import bench  # noqa: E402
from oscgen.musicgen import quantize  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402

MB = 1e6
PROMPT = bench.PROMPT
COMPONENTS = {"text encoder": ("text_encoder", "enc_to_dec_proj"), "decoder": ("decoder",),
              "EnCodec": ("audio_decoder",)}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / MB


def rss_peak_mb() -> float:
    return bench.peak_rss_mb() * 2**20 / MB


def snapshot() -> dict:
    return {"mlx_active_mb": mx.get_active_memory() / MB, "mlx_peak_mb": mx.get_peak_memory() / MB,
            "mlx_cache_mb": mx.get_cache_memory() / MB, "rss_mb": rss_mb(), "rss_peak_mb": rss_peak_mb()}


def components(engine) -> dict:
    out = {}
    for label, names in COMPONENTS.items():
        params = [v for name in names if getattr(engine, name) is not None
                  for _, v in tree_flatten(getattr(engine, name).parameters())]
        out[label] = {"params_m": sum(v.size for v in params) / 1e6, "mb": sum(v.nbytes for v in params) / MB,
                      "dtypes": sorted({str(v.dtype).removeprefix("mlx.core.") for v in params})}
    return out


def load(model: str, dtype: str, bits: int | None, after_load: bool):
    if after_load:  # float32 first, then convert: today's convert_decoder path
        engine = MusicGen.from_pretrained(model)
        quantize.convert_decoder(engine, dtype=dtype, bits=bits)
        return engine
    return MusicGen.from_pretrained(model, dtype=dtype, bits=bits)


def measure(model: str, dtype: str, bits: int | None, after_load: bool, frames: int) -> dict:
    report = {"model": model, "dtype": dtype, "bits": bits, "path": "after-load" if after_load else "while-loading",
              "frames": frames, "device": str(mx.default_device()), "start": snapshot()}
    mx.reset_peak_memory()
    t0 = time.perf_counter()
    engine = load(model, dtype, bits, after_load)
    report["load_s"] = time.perf_counter() - t0
    report["load"] = snapshot()
    report["components"] = components(engine)
    ids = mx.array([engine.tokenizer.encode(PROMPT)], dtype=mx.int32)
    for job in ("job1", "job2"):  # the first one includes compiling (and on a GPU, kernel JIT)
        mx.reset_peak_memory()
        t0 = time.perf_counter()
        mx.eval(engine.encode_text(ids))
        t5_ms = (time.perf_counter() - t0) * 1e3
        mx.reset_peak_memory()
        t0 = time.perf_counter()
        codes = engine.generate_codes(ids, frames, seed=1)
        mx.eval(codes)
        decode = {**snapshot(), "s": time.perf_counter() - t0}
        mx.reset_peak_memory()
        t0 = time.perf_counter()
        mx.eval(engine.decode_audio(codes))
        encodec = {**snapshot(), "s": time.perf_counter() - t0}
        report[job] = {"t5_ms": t5_ms, "decode": decode, "encodec": encodec}
    return report


def print_report(r: dict) -> None:
    precision = quantize.describe(r["dtype"], r["bits"])
    print(f"{r['model']}: {precision} via {r['path']}, {r['frames']} frames, {r['device']}")
    for label, c in r["components"].items():
        print(f"  {label:13s} {c['params_m']:8.2f} M params {c['mb']:8.1f} MB  {', '.join(c['dtypes'])}")
    print(f"  {'total':13s} {sum(c['params_m'] for c in r['components'].values()):8.2f} M params "
          f"{sum(c['mb'] for c in r['components'].values()):8.1f} MB")
    load = r["load"]
    print(f"  load {r['load_s']:.2f} s: MLX peak {load['mlx_peak_mb']:.0f}, in use after {load['mlx_active_mb']:.0f}, "
          f"RSS {load['rss_mb']:.0f} (peak {load['rss_peak_mb']:.0f})")
    for job in ("job1", "job2"):
        j = r[job]
        print(f"  {job}: T5 {j['t5_ms']:.0f} ms; decode {j['decode']['s']:.2f} s MLX peak {j['decode']['mlx_peak_mb']:.0f}; "
              f"EnCodec {j['encodec']['s']:.2f} s MLX peak {j['encodec']['mlx_peak_mb']:.0f}; "
              f"RSS {j['encodec']['rss_mb']:.0f} (peak {j['encodec']['rss_peak_mb']:.0f}), "
              f"MLX cache {j['encodec']['mlx_cache_mb']:.0f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="small", help="small, medium, tiny-random or a checkpoint folder")
    p.add_argument("--dtype", default="float16", choices=quantize.DTYPES)
    p.add_argument("--bits", type=int, choices=quantize.BITS)
    p.add_argument("--after-load", action="store_true", help="load float32, then convert_decoder")
    p.add_argument("--frames", type=int, default=500, help="frames per job (50 = 1 s)")
    p.add_argument("--device", choices=["cpu", "gpu"])
    p.add_argument("--json", help="also write the report here")
    args = p.parse_args(argv)
    if args.device:
        mx.set_default_device(getattr(mx, args.device))
    model = str(bench.ensure_checkpoint(args.model))
    report = measure(model, args.dtype, args.bits, args.after_load, args.frames)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
