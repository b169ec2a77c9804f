"""``oscgen bench --batch 1,2,4,8``: what several takes in one pass cost, oscgen's batched core
against transformers' batched ``generate`` in the same run, on random weights at a real size.

Per batch size: wall time of the whole job (text, decoding, EnCodec) for that many variations of
one prompt, wall time per take, takes per minute, and (oscgen) MLX's peak memory beyond the
weights; the ratio of each batch size's time to batch 1's; oscgen's throughput over
transformers'.  On a CPU also the GEMM-form sweep behind layers.WXT_ROWS (oscgen/gemm_plan.py): the decoder's
weights streamed as x @ Wᵀ and as (W @ xᵀ)ᵀ at each row count the batch sizes make.  Each side
runs in its own process (one model load, every batch size in turn, a warm-up job first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "upbeat jazz piano solo with brushed drums"


def _oscgen_side(spec: dict) -> dict:
    import mlx.core as mx

    from oscgen.bench.oscgen_side import mlx_device
    from oscgen.musicgen import layers
    from oscgen.musicgen.pipeline import MusicGen

    mlx_device(spec["device"])
    engine = MusicGen.from_pretrained(spec["path"], dtype=spec["dtype"])
    frames = spec["frames"]
    base = mx.get_active_memory()

    def job(n: int) -> float:
        takes = [engine.take(PROMPT, frames, spec["seed"] + i) for i in range(n)]
        start = time.perf_counter()
        audio = engine.decode_takes(engine.generate_takes(takes, top_k=spec["top_k"]))
        mx.eval(audio)
        return time.perf_counter() - start

    job(1)  # traces the steps a first job traces
    rows = []
    for n in spec["sizes"]:
        job(n)  # this batch size's shapes traced once
        mx.clear_cache()
        mx.reset_peak_memory()
        wall = min(job(n) for _ in range(spec["repeats"]))
        rows.append({"takes": n, "wall_s": wall, "peak_mb": (mx.get_peak_memory() - base) / 1e6,
                     "estimate_mb": engine.memory_needed([engine.take(PROMPT, frames)] * n) / 1e6})
    result = {"rows": rows, "device": str(mx.default_device())}
    if layers.on_gpu():
        from oscgen.bench.oscgen_side import gpu_name

        result["device"] += f" ({gpu_name()})"
    else:
        result["gemm"] = _gemm_forms(engine, sorted({2 * n for n in spec["sizes"]}))
    return result


def _gemm_forms(engine, row_counts: list[int], repeats: int = 5) -> list[dict]:
    """ms to stream every decoder linear once, per row count, each way gemm_plan times (x @ Wᵀ
    and (W @ xᵀ)ᵀ on MKL, both on OpenBLAS and x @ Wᵀ on the own kernel where the row router is
    loaded)."""
    from oscgen import gemm_plan
    from oscgen.calibrate import decoder_weights

    times = gemm_plan.measure_plan(decoder_weights(engine.decoder), row_counts, repeats)
    return [{"rows": n, **{f"{way}_ms": t * 1000 for way, t in ways.items()}} for n, ways in times.items()]


def _transformers_side(spec: dict) -> dict:
    import torch
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    from oscgen.bench.transformers_side import torch_device, torch_sync

    torch.set_num_threads(spec["threads"])
    device = torch_device(spec["device"])
    sync = torch_sync(device)
    model = MusicgenForConditionalGeneration.from_pretrained(spec["path"], dtype=getattr(torch, spec["reference_dtype"]))
    model = model.to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(spec["path"])
    delay = model.config.decoder.num_codebooks - 1

    def job(n: int) -> float:
        inputs = tokenizer([PROMPT] * n, return_tensors="pt").to(device)
        torch.manual_seed(spec["seed"])
        sync()
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, do_sample=True, top_k=spec["top_k"], guidance_scale=3.0,
                           max_new_tokens=spec["frames"] + delay)
        sync()
        return time.perf_counter() - start

    job(1)
    return {"rows": [{"takes": n, "wall_s": min(job(n) for _ in range(spec["repeats"]))} for n in spec["sizes"]]}


def _run_side(side: str, spec: dict, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        proc = subprocess.run([sys.executable, "-m", "oscgen.bench_batch", side, f.name],
                              capture_output=True, text=True, env=env)
    finally:
        os.unlink(f.name)
    if proc.returncode != 0:
        raise RuntimeError(f"the {side} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(model: str = "small", sizes: tuple[int, ...] = (1, 2, 4, 8), duration: float = 2.0, seed: int = 1234,
        top_k: int = 250, repeats: int = 1, reference: bool = True, threads: int | None = None,
        device: str = "cpu", dtype: str = "float32", reference_dtype: str = "float32",
        json_path: str | None = None, out=sys.stdout) -> dict:
    """Both sides over ``sizes`` variations of ``duration`` seconds, on ``device`` (cpu, gpu:
    MLX's gpu and torch's cuda, auto), oscgen's decoder in ``dtype`` and transformers' model in
    ``reference_dtype``; prints the table and returns (and with ``json_path`` writes) the report."""
    from oscgen import _blas, bench

    if not sizes or any(n < 1 for n in sizes):
        raise ValueError(f"--batch takes batch sizes >= 1, got {sizes}")
    threads = threads or _blas.usable_cores()
    path = bench.ensure_checkpoint(model)
    spec = {"path": str(path), "frames": max(1, round(duration * 50)), "sizes": list(sizes), "seed": seed,
            "top_k": top_k, "repeats": repeats, "threads": threads, "device": device, "dtype": dtype,
            "reference_dtype": reference_dtype}
    # oscgen picks MKL's threads itself from its cores (_blas.py); torch gets ``threads``
    env = {**os.environ, "OSCGEN_CPU_THREADS": str(threads)}
    report = {"model": model, "duration_s": duration, "threads": threads, "host": _cpu_name(),
              "device": device, "dtype": dtype, "reference_dtype": reference_dtype,
              "date": time.strftime("%Y-%m-%d"), "load_average": os.getloadavg()[0],
              "oscgen": _run_side("oscgen", spec, env)}
    if reference:
        report["transformers"] = _run_side("transformers", spec, env)
    report["load_average_after"] = os.getloadavg()[0]
    print(format_table(report), file=out)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
    return report


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        return platform.processor() or platform.machine()


def format_table(report: dict) -> str:
    ours = report["oscgen"]["rows"]
    theirs = {r["takes"]: r for r in report.get("transformers", {}).get("rows", [])}
    one = ours[0]["wall_s"] if ours[0]["takes"] == 1 else None  # batch 1's wall: the x batch1 column
    lines = [f"batch bench: {report['model']}, {report['duration_s']:g} s takes, {report['threads']} threads, "
             f"{report['host']}, {report.get('device', 'cpu')} (oscgen {report.get('dtype', 'float32')}, "
             f"transformers {report.get('reference_dtype', 'float32')}), {report['date']} (load average {report['load_average']:.1f} -> "
             f"{report['load_average_after']:.1f})",
             f"{'takes':>5} {'wall s':>8} {'s/take':>7} {'takes/min':>9} {'x batch1':>8} {'peak MB':>8} "
             f"{'est MB':>7} {'tf wall s':>9} {'tf takes/min':>12} {'vs tf':>6}"]
    for row in ours:
        n, wall = row["takes"], row["wall_s"]
        ref = theirs.get(n)
        cells = [f"{n:>5}", f"{wall:8.2f}", f"{wall / n:7.2f}", f"{60 * n / wall:9.1f}",
                 f"{wall / one:8.2f}" if one else f"{'':>8}",
                 f"{row['peak_mb']:8.0f}", f"{row['estimate_mb']:7.0f}"]
        if ref:
            cells += [f"{ref['wall_s']:9.2f}", f"{60 * n / ref['wall_s']:12.1f}", f"{ref['wall_s'] / wall:5.2f}x"]
        lines.append(" ".join(cells))
    for row in report["oscgen"].get("gemm", []):
        openblas = f", x @ Wt on OpenBLAS {row['openblas_ms']:6.1f} ms" if "openblas_ms" in row else ""
        openblas_wxt = f", on OpenBLAS {row['openblas (W@xt)t_ms']:6.1f} ms" if "openblas (W@xt)t_ms" in row else ""
        own = f", x @ Wt on oscgen's kernel {row['own kernel_ms']:6.1f} ms" if "own kernel_ms" in row else ""
        lines.append(f"  GEMM forms at {row['rows']:>2} rows: x @ Wt on MKL {row['x@Wt_ms']:6.1f} ms{openblas}, "
                     f"(W @ xt)t on MKL {row['(W@xt)t_ms']:6.1f} ms{openblas_wxt}{own} per pass over the decoder's weights")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    side, spec_path = argv
    spec = json.loads(Path(spec_path).read_text())
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # libraries' prints must not reach the result line
    result = (_oscgen_side if side == "oscgen" else _transformers_side)(spec)
    print(json.dumps(result), file=real_stdout)
    return 0


if __name__ == "__main__":
    import oscgen  # noqa: F401  (MKL before MLX)

    sys.exit(_main(sys.argv[1:]))
