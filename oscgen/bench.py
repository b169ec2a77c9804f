"""``oscgen bench``: oscgen against transformers on the same random-weight checkpoint, in one run.

An autoregressive decoder runs the same number of steps whatever its weights are, so speed is
measured on random weights at the real sizes (musicgen-small, musicgen-medium), written once in
the transformers layout into the oscgen cache and loaded by each side through its normal loader.

Each side runs in its own subprocess (so peak RSS is honest and one side's threads, caches and
allocator never slow the other), with the same prompt, token ids, number of decoder steps,
sampling settings and thread count.  A side's numbers:

- ``t5_encode_ms``        text encoder (and, for oscgen, tokenizer) time
- ``step_ms_median/p90``  one decoder step (a CFG batch of 2 rows, 4 codebooks)
- ``encodec_ms``          EnCodec decode of the job's frames to audio
- ``job_s``               the whole measured job, as a caller sees it
- ``job_s_per_10s``       whole job for 10 s of audio (measured when the job is 10 s long)
- ``rtf``                 real-time factor: job seconds / audio seconds (< 1: faster than real time)
- ``peak_rss_mb``         the process's peak resident memory (load + warm-up + job)
- ``peak_device_mb``      the GPU allocator's peak over the job (MLX or torch; GPU only)
- ``weights_mb``          oscgen: MLX memory in use after the load (the weights as kept)
- ``load_peak_mlx_mb``    oscgen: MLX's peak memory over the load, any device
- ``peak_mlx_mb``         oscgen: MLX's peak memory over the job (after warm-up), any device:
                          weights + activations, without the allocator's cache or the
                          process's libraries (which ``peak_rss_mb`` includes)
- ``first_progress_s``    from the call to the first progress report
- ``matmul_gbs``          ``x @ W.T`` bandwidth on the decode-step shapes (GB/s of weights read)
- ``copy_gbs``            GPU only (in the JSON and the last line): a large device-to-device copy, bytes read + written per
                          second (the HBM ceiling; the decode shapes' matmuls are launch-bound
                          there, so they say nothing about the memory)
- ``floor_ms``            decoder weight bytes read per step / ``matmul_gbs`` (CPU) or
                          ``copy_gbs`` (GPU)
- ``step_over_floor``     ``step_ms_median / floor_ms`` (1.0 = every step is pure weight streaming)

Run: ``oscgen bench --model small`` (see ``oscgen bench --help``).  The subprocess entry point
is ``python -m oscgen.bench worker ...``; nothing here imports mlx or torch at module level.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRAME_RATE = 50  # EnCodec 32 kHz frames per second
SAMPLE_RATE = 32000
PROMPT = "upbeat jazz piano solo with brushed drums"
#: Default steps per model: a whole 10 s job for small; medium is ~4x slower, so 2 s and extrapolate.
DEFAULT_SECONDS = {"small": 10.0, "medium": 2.0, "tiny-random": 0.2}

METRICS = [
    # key, label, better ("low"/"high"), format
    ("t5_encode_ms", "T5 encode (ms)", "low", "{:.1f}"),
    ("step_ms_median", "decoder step, median (ms)", "low", "{:.2f}"),
    ("step_ms_p90", "decoder step, p90 (ms)", "low", "{:.2f}"),
    ("encodec_ms", "EnCodec decode (ms)", "low", "{:.1f}"),
    ("job_s", "whole job (s)", "low", "{:.2f}"),
    ("job_s_per_10s", "whole job per 10 s audio (s)", "low", "{:.2f}"),
    ("rtf", "real-time factor (job s / audio s)", "low", "{:.3f}"),
    ("peak_rss_mb", "peak RSS (MB)", "low", "{:.0f}"),
    ("peak_device_mb", "peak device memory (MB)", "low", "{:.0f}"),
    ("weights_mb", "weights in memory (MB)", "low", "{:.0f}"),
    ("load_peak_mlx_mb", "peak MLX memory, load (MB)", "low", "{:.0f}"),
    ("peak_mlx_mb", "peak MLX memory, job (MB)", "low", "{:.0f}"),
    ("first_progress_s", "first progress (s)", "low", "{:.3f}"),
    ("load_s", "model load (s)", "low", "{:.2f}"),
    ("matmul_gbs", "matmul bandwidth, x @ W.T (GB/s)", "high", "{:.1f}"),
    ("weight_mb_per_step", "decoder weights read per step (MB)", "low", "{:.0f}"),
    ("floor_ms", "weight-bandwidth floor (ms/step)", "low", "{:.2f}"),
    ("step_over_floor", "step median / floor", "low", "{:.2f}"),
]
METRIC_KEYS = [m[0] for m in METRICS]
#: Metrics only one side (or device) has: None where they do not apply.
OPTIONAL_METRICS = {"peak_device_mb", "weights_mb", "load_peak_mlx_mb", "peak_mlx_mb"}


# --------------------------------------------------------------------------------------------
# checkpoints


REAL_SIZES = ("small", "medium")


def bench_cache_dir() -> Path:
    from oscgen.musicgen.weights import cache_dir

    return cache_dir() / "bench"


def checkpoint_dir(size: str) -> Path:
    return bench_cache_dir() / f"musicgen-{size}-random"


def write_random_checkpoint(size: str, out: Path, seed: int = 0) -> Path:
    """oscgen's random-weight writer at a real size (numpy, no torch), written beside ``out``
    and renamed into place, so an interrupted build never leaves half a checkpoint."""
    import shutil

    from oscgen.musicgen import tiny

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tiny.write_random_model(tmp, size, seed=seed, shards=2)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def _size_name(model: str) -> str:
    """"musicgen-small" → "small" (the bench's random real-size model); anything else as given."""
    size = model.removeprefix("musicgen-")
    return size if size in REAL_SIZES else model


def ensure_checkpoint(model: str, progress=None) -> Path:
    """The folder to benchmark: a real-size random checkpoint (written once), tiny-random, or a
    checkpoint folder.  "musicgen-small"/"musicgen-medium" mean the random real-size ones too:
    the bench never downloads."""
    model = _size_name(model)
    if model in REAL_SIZES:
        path = checkpoint_dir(model)
        if not (path / "config.json").is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            if progress:
                progress(f"writing random musicgen-{model} weights (once)", 0.0)
            # in a subprocess: the writer holds every tensor in memory at once
            cmd = [sys.executable, "-m", "oscgen.bench", "build", model, str(path)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(default_threads()))
            if proc.returncode != 0:
                raise RuntimeError(f"writing the random musicgen-{model} checkpoint failed:\n{proc.stderr[-3000:]}")
        return path
    if model == "tiny-random":
        from oscgen.musicgen.weights import tiny_model_dir

        return Path(tiny_model_dir())
    path = Path(model).expanduser()
    if (path / "config.json").is_file():
        return path
    raise ValueError(f"model must be small, medium, tiny-random or a checkpoint folder, got {model!r}")


# --------------------------------------------------------------------------------------------
# helpers shared by both sides (run inside the worker subprocesses)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _peak_rss_mb() -> float:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def decode_step_shapes(config: dict) -> tuple[list[tuple[int, int]], list[tuple[int, int]], int]:
    """(per-layer weight shapes, head shapes, layers) of the matrices one decode step reads.

    Per layer: self-attention q, k, v, out; cross-attention q and out (its k/v are computed once
    per job from the text states, not per step); fc1, fc2.  Heads: one (vocab, d) per codebook.
    Embedding lookups read 4 rows, not the tables, so they are not counted.
    """
    dec = config["decoder"]
    d, ffn = dec["hidden_size"], dec["ffn_dim"]
    layer = [(d, d)] * 6 + [(ffn, d), (d, ffn)]
    heads = [(dec["vocab_size"], d)] * dec["num_codebooks"]
    return layer, heads, dec["num_hidden_layers"]


def decoder_weight_bytes(config: dict, bytes_per_weight: float) -> float:
    """Bytes of decoder weights one decode step reads (see decode_step_shapes)."""
    layer, heads, layers = decode_step_shapes(config)
    return (sum(o * i for o, i in layer) * layers + sum(o * i for o, i in heads)) * bytes_per_weight


def _probe_shapes(config: dict) -> list[tuple[int, int]]:
    """The matrices the bandwidth probe streams: whole decoder layers, enough of them to dwarf
    the caches (>= 256 MB in float32), never more than the model has (little extra memory)."""
    layer, _, layers = decode_step_shapes(config)
    want = -(-(256 << 20) // (sum(o * i for o, i in layer) * 4))
    return layer * max(1, min(layers, want))


def _floor(config: dict, shapes: list[tuple[int, int]], probe_bytes: int, one_pass, repeats: int = 7) -> dict:
    """Time ``one_pass`` (all probe matmuls, synchronised), then the floor for a whole step at
    the probe's bytes per weight (so quantized scales/biases are counted too)."""
    one_pass()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    gbs = probe_bytes / statistics.median(times) / 1e9
    step_bytes = decoder_weight_bytes(config, probe_bytes / sum(o * i for o, i in shapes))
    return {"matmul_gbs": gbs, "weight_mb_per_step": step_bytes / 1e6, "floor_ms": step_bytes / (gbs * 1e9) * 1e3}


def _copy_floor(floor: dict, copy_gbs: float) -> dict:
    """A GPU's floor: the step's weight bytes at the device-to-device copy's bandwidth."""
    return {**floor, "copy_gbs": copy_gbs, "floor_ms": floor["weight_mb_per_step"] * 1e6 / (copy_gbs * 1e9) * 1e3}


def _copy_gbs(copy_once, sync, nbytes: int, repeats: int = 10) -> float:
    """Median bandwidth of ``copy_once`` (read + write of ``nbytes`` each way), after warm-up."""
    for _ in range(3):
        copy_once()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        copy_once()
        sync()
        times.append(time.perf_counter() - t0)
    return 2 * nbytes / statistics.median(times) / 1e9


#: The worker's real stdout, kept for the line protocol while sys.stdout points at stderr.
_PROTOCOL = sys.stdout


def _emit(kind: str, payload) -> None:
    """Worker -> parent line protocol on stdout (everything else goes to stderr)."""
    _PROTOCOL.write(f"@@{kind} {json.dumps(payload)}\n")
    _PROTOCOL.flush()


class _Progress:
    """Reports (phase, fraction) to the parent, at most ~20 times a second."""

    def __init__(self, side: str):
        self.side = side
        self._last = 0.0

    def __call__(self, phase: str, fraction: float, force: bool = False) -> None:
        now = time.perf_counter()
        if force or fraction >= 1.0 or now - self._last > 0.05:
            self._last = now
            _emit("progress", {"side": self.side, "phase": phase, "fraction": float(fraction)})


# --------------------------------------------------------------------------------------------
# the oscgen side


def _mlx_matmul_bandwidth(config: dict, dtype: str, quantize: int | None) -> dict:
    """x @ W.T on the decode-step shapes with random weights, in oscgen's dtype / quantization."""
    import mlx.core as mx

    shapes = _probe_shapes(config)
    mx.random.seed(0)
    dt = getattr(mx, dtype)
    weights = []
    for out_f, in_f in shapes:
        w = (mx.random.normal((out_f, in_f)) * 0.02).astype(dt)
        weights.append(mx.quantize(w, group_size=64, bits=quantize) if quantize else (w,))
    xs = {in_f: mx.random.normal((2, in_f)).astype(dt) for _, in_f in shapes}
    mx.eval(weights, xs)

    def matmul(x, w):
        if quantize:
            return mx.quantized_matmul(x, *w, transpose=True, group_size=64, bits=quantize)
        return x @ w[0].T

    def one_pass():
        mx.eval([matmul(xs[in_f], w) for (_, in_f), w in zip(shapes, weights)])

    floor = _floor(config, shapes, sum(a.nbytes for w in weights for a in w), one_pass)
    if mx.default_device() == mx.gpu:
        src = mx.random.uniform(shape=(1 << 29,))  # 2 GB, far past the caches
        mx.eval(src)
        floor = _copy_floor(floor, _copy_gbs(lambda: mx.eval(-src), mx.synchronize, src.nbytes))
    return floor


class _MlxClock:
    """Timestamps around the engine's text encoder and EnCodec decoder (evaluated on the spot,
    which the pipeline does right after anyway), and at every progress report."""

    def __init__(self, engine):
        import mlx.core as mx

        self.t5: list[float] = []
        self.codec: list[float] = []
        self.progress: list[tuple[float, float]] = []
        for name, where in (("encode_text", self.t5), ("decode_audio", self.codec)):
            original = getattr(engine, name)

            def timed(*args, _original=original, _where=where, **kwargs):
                _where.append(time.perf_counter())
                out = _original(*args, **kwargs)
                mx.eval(out)
                _where.append(time.perf_counter())
                return out

            setattr(engine, name, timed)

    def reset(self) -> None:
        self.t5.clear()
        self.codec.clear()
        self.progress.clear()


def _oscgen_worker(spec: dict) -> dict:
    import oscgen  # noqa: F401  (MKL before mlx)
    from oscgen import _blas, api

    import mlx.core as mx

    progress = _Progress("oscgen")
    if spec["device"] == "cpu":
        mx.set_default_device(mx.cpu)
    elif spec["device"] == "gpu":
        mx.set_default_device(mx.gpu)

    progress("loading", 0.0, force=True)
    mx.reset_peak_memory()
    t0 = time.perf_counter()
    # converted while loading (MusicGen.from_pretrained with a dtype): the float32 weights never all coexist
    engine = api.load_model(spec["checkpoint"], dtype=spec["dtype"], bits=spec["quantize"])
    load_s = time.perf_counter() - t0
    weights_mb = mx.get_active_memory() / 1e6
    load_peak_mb = mx.get_peak_memory() / 1e6
    clock = _MlxClock(engine)
    K = spec["num_codebooks"]

    def run(steps, phase):
        frames = steps - K + 1
        clock.reset()

        def on_progress(fraction):
            clock.progress.append((time.perf_counter(), fraction))
            progress(phase, fraction)

        start = time.perf_counter()
        result = api.generate(
            spec["prompt"],
            duration=frames / FRAME_RATE,
            model=spec["checkpoint"],
            temperature=spec["temperature"],
            top_k=spec["top_k"],
            cfg_scale=spec["cfg_scale"],
            seed=spec["seed"],
            progress_callback=on_progress,
        )
        end = time.perf_counter()
        # the engine reports after every decoder step (then once more after EnCodec, with 1.0)
        decoding = [t for t, f in clock.progress if f < 1.0 and t <= clock.codec[0]]
        stamps = [clock.t5[1]] + decoding
        audio = result.audio.numpy()
        return {
            "start": start,
            "end": end,
            "t5_encode_ms": (clock.t5[1] - clock.t5[0]) * 1e3,
            "steps_ms": [(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])],
            "first_progress_s": clock.progress[0][0] - start,
            "encodec_ms": (clock.codec[1] - clock.codec[0]) * 1e3,
            "samples": int(audio.shape[-1]),
            "audio_sha": hashlib.sha256(audio.tobytes()).hexdigest()[:16],
        }

    run(spec["warmup_steps"], "warm-up")
    # what the daemon's worker does after loading: compile the step for every window of the job
    progress("warm-up", 0.0, force=True)
    job_seconds = (spec["steps"] - K + 1) / FRAME_RATE
    warm_up_s = sum(api.warm_up(spec["checkpoint"], top_k=spec["top_k"], cfg_scale=spec["cfg_scale"],
                                max_duration=job_seconds, audio_duration=job_seconds).values())
    mx.reset_peak_memory()
    timing = run(spec["steps"], "generating")
    result = _side_metrics(timing, spec)
    result["peak_rss_mb"] = _peak_rss_mb()
    on_gpu = mx.default_device() == mx.gpu
    result["peak_mlx_mb"] = mx.get_peak_memory() / 1e6
    result["peak_device_mb"] = result["peak_mlx_mb"] if on_gpu else None
    result["weights_mb"] = weights_mb
    result["load_peak_mlx_mb"] = load_peak_mb
    result["load_s"] = load_s
    result["warm_up_s"] = warm_up_s
    result["audio_sha"] = timing["audio_sha"]
    progress("matmul bandwidth", 0.0, force=True)
    result.update(_mlx_matmul_bandwidth(spec["config"], spec["dtype"], spec["quantize"]))
    result["step_over_floor"] = result["step_ms_median"] / result["floor_ms"]
    result["device"] = str(mx.default_device()) + (f" ({_gpu_name()})" if on_gpu else "")
    result["blas"] = _blas.ACTIVE_BLAS
    result["mlx_version"] = mx.__version__
    return result


def _gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "gpu"


# --------------------------------------------------------------------------------------------
# the transformers side


def _torch_sync(device: str):
    """Waits for the device's queued work (timestamps on a GPU are otherwise launch times)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    if device == "mps":
        return torch.mps.synchronize
    return lambda: None


def _torch_matmul_bandwidth(config: dict, torch_dtype, device: str) -> dict:
    import torch

    shapes = _probe_shapes(config)
    gen = torch.Generator(device="cpu").manual_seed(0)
    weights = [(torch.randn(o, i, generator=gen) * 0.02).to(device=device, dtype=torch_dtype) for o, i in shapes]
    xs = {i: torch.randn(2, i, generator=gen).to(device=device, dtype=torch_dtype) for _, i in shapes}
    sync = _torch_sync(device)

    def one_pass():
        with torch.inference_mode():
            for (_, i), w in zip(shapes, weights):
                torch.nn.functional.linear(xs[i], w)
        sync()

    floor = _floor(config, shapes, sum(w.numel() * w.element_size() for w in weights), one_pass)
    if device.startswith("cuda"):
        src = torch.empty(2 << 30, dtype=torch.uint8, device=device).random_()
        dst = torch.empty_like(src)
        floor = _copy_floor(floor, _copy_gbs(lambda: dst.copy_(src), sync, src.numel()))
    return floor


class _StepClock:
    """Timestamps for one transformers ``generate``: text-encoder forward start/end, one stamp per
    decoder step (a no-op logits processor: it runs once per step, right after the forward), and
    EnCodec decode start/end.

    (transformers 5.x MusicGen ``generate`` does not pass its ``streamer`` on to the decoding
    loop, so a streamer sees only the initial input; a logits processor sees every step.)
    """

    def __init__(self, model, sync, on_step=None):
        self.sync = sync
        self.on_step = on_step
        self.steps: list[float] = []
        self.t5: list[float] = []
        self.codec: list[float] = []
        model.text_encoder.register_forward_pre_hook(lambda *a: self.t5.append(time.perf_counter()))
        model.text_encoder.register_forward_hook(lambda *a: self._stamp(self.t5))
        decode = model.audio_encoder.decode

        def timed_decode(*args, **kwargs):
            self.sync()
            self.codec.append(time.perf_counter())
            out = decode(*args, **kwargs)
            self._stamp(self.codec)
            return out

        model.audio_encoder.decode = timed_decode

    def _stamp(self, where: list) -> None:
        self.sync()
        where.append(time.perf_counter())

    def reset(self) -> None:
        self.steps.clear()
        self.t5.clear()
        self.codec.clear()

    def __call__(self, input_ids, scores):  # LogitsProcessor protocol
        self._stamp(self.steps)
        if self.on_step:
            self.on_step(len(self.steps))
        return scores


def _transformers_worker(spec: dict) -> dict:
    import torch
    from transformers import MusicgenForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    progress = _Progress(f"transformers {spec['reference_dtype']}")
    torch.set_num_threads(spec["threads"])
    device = spec["device"]
    if device in ("gpu", "auto"):
        mps = getattr(torch.backends, "mps", None)
        device = "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"
    torch_dtype = getattr(torch, spec["reference_dtype"])
    sync = _torch_sync(device)

    progress("loading", 0.0, force=True)
    t0 = time.perf_counter()
    model = MusicgenForConditionalGeneration.from_pretrained(spec["checkpoint"], dtype=torch_dtype)
    model = model.to(device).eval()
    sync()
    load_s = time.perf_counter() - t0
    input_ids = torch.tensor([spec["input_ids"]], device=device)
    attention_mask = torch.ones_like(input_ids)

    from transformers import LogitsProcessorList

    clock = _StepClock(model, sync)

    def run(steps, phase):
        clock.reset()
        clock.on_step = lambda i: progress(phase, i / steps)
        torch.manual_seed(spec["seed"])
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sync()
        start = time.perf_counter()
        with torch.inference_mode():
            audio = model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                do_sample=True,
                top_k=spec["top_k"],
                temperature=spec["temperature"],
                guidance_scale=spec["cfg_scale"],
                max_new_tokens=steps,
                logits_processor=LogitsProcessorList([clock]),
            )
        sync()
        end = time.perf_counter()
        progress(phase, 1.0)
        # step 1 = from the end of the text encoder to the first sampled token
        stamps = [clock.t5[1]] + clock.steps
        return {
            "start": start,
            "end": end,
            "t5_encode_ms": (clock.t5[1] - clock.t5[0]) * 1e3,
            "steps_ms": [(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])],
            "first_progress_s": clock.steps[0] - start,
            "encodec_ms": (clock.codec[1] - clock.codec[0]) * 1e3,
            "samples": int(audio.shape[-1]),
        }

    run(spec["warmup_steps"], "warm-up")
    timing = run(spec["steps"], "generating")
    result = _side_metrics(timing, spec)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["peak_device_mb"] = torch.cuda.max_memory_allocated() / 1e6 if device == "cuda" else None
    result.update({key: None for key in OPTIONAL_METRICS - set(result)})  # MLX's figures: oscgen only
    result["load_s"] = load_s
    del model
    progress("matmul bandwidth", 0.0, force=True)
    result.update(_torch_matmul_bandwidth(spec["config"], torch_dtype, device))
    result["step_over_floor"] = result["step_ms_median"] / result["floor_ms"]
    result["device"] = torch.cuda.get_device_name() if device == "cuda" else device
    result["torch_version"] = torch.__version__
    import transformers

    result["transformers_version"] = transformers.__version__
    return result


def _side_metrics(timing: dict, spec: dict) -> dict:
    """The common metrics from one timed job: per-step times, component times and the job."""
    steps_ms = timing["steps_ms"]
    job_s = timing["end"] - timing["start"]
    audio_s = timing["samples"] / SAMPLE_RATE
    frames_10s = 10 * FRAME_RATE
    steps_10s = frames_10s + spec["num_codebooks"] - 1
    median = statistics.median(steps_ms)
    measured_10s = abs(audio_s - 10.0) < 1e-6
    if measured_10s:
        per_10s = job_s
    else:  # fixed costs once, per-step and codec costs scaled to 10 s of audio
        frames = max(1, timing["samples"] // (SAMPLE_RATE // FRAME_RATE))
        per_10s = (timing["t5_encode_ms"] + median * steps_10s + timing["encodec_ms"] * frames_10s / frames) / 1e3
    return {
        "t5_encode_ms": timing["t5_encode_ms"],
        "step_ms_median": median,
        "step_ms_p90": _percentile(steps_ms, 0.9),
        "steps_timed": len(steps_ms),
        "encodec_ms": timing["encodec_ms"],
        "job_s": job_s,
        "audio_s": audio_s,
        "job_s_per_10s": per_10s,
        "job_per_10s_extrapolated": not measured_10s,
        "rtf": job_s / audio_s if audio_s else float("nan"),
        "first_progress_s": timing["first_progress_s"],
        "steps_ms": [round(x, 3) for x in steps_ms],
    }


# --------------------------------------------------------------------------------------------
# the parent: build, run each side in its own process, compare, print, write JSON


class _Bar:
    """One-line progress bar on stderr (a plain line per phase when stderr is not a terminal)."""

    def __init__(self, stream=sys.stderr, width=30):
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last_label = None

    def update(self, label: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}%  {label:<48.48}")
            self.stream.flush()
        elif label != self._last_label:
            self.stream.write(f"... {label}\n")
            self.stream.flush()
        self._last_label = label

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()


def _run_worker(side: str, spec: dict, bar: _Bar, env: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="oscgen-bench-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        err_path = Path(tmp) / "stderr.txt"
        result = None
        with open(err_path, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "oscgen.bench", "worker", side, str(spec_path)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
            )
            for line in proc.stdout:
                if line.startswith("@@progress "):
                    p = json.loads(line[len("@@progress ") :])
                    bar.update(f"{p['side']}: {p['phase']}", p["fraction"])
                elif line.startswith("@@result "):
                    result = json.loads(line[len("@@result ") :])
            proc.wait()
        if proc.returncode != 0 or result is None:
            bar.done()
            tail = err_path.read_text()[-4000:]
            raise RuntimeError(f"the {side} side of the benchmark failed (exit {proc.returncode}):\n{tail}")
        return result


def _worker_env(threads: int, oscgen_side: bool = False) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    if oscgen_side:  # oscgen picks MKL's threads from its cores as in use (_blas.py), not fixed
        env.pop("MKL_NUM_THREADS")
        env["OSCGEN_CPU_THREADS"] = str(threads)
    # the package must be importable by the worker however the parent found it
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def oscgen_blas_threads(threads: int) -> int:
    """MKL threads of oscgen's side while it decodes, so that it keeps ``threads`` threads busy
    like torch with ``set_num_threads(threads)``: MLX's stream thread (one of MKL's) computes
    while the Python thread enqueues the next step, so MKL gets one thread fewer (oscgen's own
    default, _blas.py); EnCodec, during which nothing else runs, gets all ``threads``."""
    return max(1, threads - 1)


def default_threads() -> int:
    """Both sides' thread count unless told: every usable core."""
    from oscgen._blas import usable_cores

    return usable_cores()


def run_bench(
    model: str = "small",
    steps: int | None = None,
    dtype: str = "float32",
    quantize: int | None = None,
    reference: bool = True,
    reference_dtypes: tuple[str, ...] = ("float32",),
    device: str = "cpu",
    threads: int | None = None,
    seed: int = 1234,
    top_k: int = 250,
    temperature: float = 1.0,
    cfg_scale: float = 3.0,
    prompt: str = PROMPT,
    warmup_steps: int = 8,
    json_path: str | None = None,
    out=sys.stdout,
) -> dict:
    """Run the benchmark and return (and optionally write) its JSON report."""
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"dtype must be float32, float16 or bfloat16, got {dtype!r}")
    if quantize not in (None, 4, 8):
        raise ValueError(f"quantize must be 4 or 8 (bits), got {quantize!r}")
    if device not in ("cpu", "gpu", "auto"):
        raise ValueError(f"device must be cpu, gpu or auto, got {device!r}")
    for rd in reference_dtypes:
        if rd not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"reference dtype must be float32, float16 or bfloat16, got {rd!r}")
    model = _size_name(model)
    threads = threads or default_threads()
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    bar = _Bar()
    checkpoint = ensure_checkpoint(model, progress=lambda label, f: bar.update(label, f))
    config = json.loads((checkpoint / "config.json").read_text())
    num_codebooks = config["decoder"]["num_codebooks"]
    if steps is None:
        seconds = DEFAULT_SECONDS.get(model, 10.0)
        steps = int(round(seconds * FRAME_RATE)) + num_codebooks - 1
    if steps < num_codebooks:
        raise ValueError(f"steps must be >= {num_codebooks} (one audio frame needs {num_codebooks} steps), got {steps}")
    warmup_steps = max(num_codebooks, min(warmup_steps, steps))

    from oscgen.musicgen.tokenizer import T5Tokenizer

    input_ids = T5Tokenizer.from_dir(checkpoint).encode(prompt)
    spec = {
        "checkpoint": str(checkpoint),
        "config": config,
        "num_codebooks": num_codebooks,
        "prompt": prompt,
        "input_ids": input_ids,
        "steps": steps,
        "warmup_steps": warmup_steps,
        "seed": seed,
        "top_k": top_k,
        "temperature": temperature,
        "cfg_scale": cfg_scale,
        "dtype": dtype,
        "quantize": quantize,
        "device": device,
        "threads": threads,
    }
    env = _worker_env(threads)
    oscgen_env = _worker_env(threads, oscgen_side=True)
    report = {
        "meta": {
            "model": model,
            "checkpoint": str(checkpoint),
            "random_weights": True,
            "steps": steps,
            "audio_s": (steps - num_codebooks + 1) / FRAME_RATE,
            "prompt": prompt,
            "prompt_tokens": len(input_ids),
            "config": config,
            "sampling": {"top_k": top_k, "temperature": temperature, "cfg_scale": cfg_scale, "seed": seed},
            "dtype": dtype,
            "quantize": quantize,
            "device": device,
            "threads": threads,
            "oscgen_blas_threads": oscgen_blas_threads(threads),
            "cpu": _cpu_name(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        },
        "oscgen": _run_worker("oscgen", spec, bar, oscgen_env),
        "transformers": {},
        "ratio": {},
    }
    if reference:
        for rd in reference_dtypes:
            try:
                ref = _run_worker("transformers", {**spec, "reference_dtype": rd}, bar, env)
            except RuntimeError as exc:  # e.g. a dtype the reference cannot run: keep oscgen's numbers
                print(f"transformers {rd} failed: {exc}", file=sys.stderr)
                ref = {"error": str(exc)[-2000:]}
            report["transformers"][rd] = ref
            report["ratio"][rd] = {
                k: (report["oscgen"][k] / ref[k])
                if isinstance(report["oscgen"].get(k), (int, float)) and isinstance(ref.get(k), (int, float)) and ref[k]
                else None
                for k in METRIC_KEYS
            }
    bar.done()
    print(format_table(report), file=out)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2))
        print(f"wrote {json_path}", file=out)
    return report


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(fmt: str, value) -> str:
    if value is None or not isinstance(value, (int, float)) or value != value:
        return "-"
    return fmt.format(value)


def format_table(report: dict) -> str:
    meta = report["meta"]
    refs = list(report["transformers"])
    quant = f", {meta['quantize']}-bit decoder" if meta["quantize"] else ""
    lines = [
        f"oscgen bench: {meta['model']} (random weights), {meta['steps']} decoder steps "
        f"({meta['audio_s']:.2f} s of audio), oscgen {meta['dtype']}{quant}, {meta['threads']} threads "
        f"(oscgen: MKL {meta['oscgen_blas_threads']} + its Python thread), "
        f"oscgen on {report['oscgen'].get('device')}"
        + (f", transformers on {report['transformers'][refs[0]].get('device')}" if refs else ""),
        f"  sampling: top_k={meta['sampling']['top_k']} temperature={meta['sampling']['temperature']} "
        f"cfg={meta['sampling']['cfg_scale']} seed={meta['sampling']['seed']}; {meta['date']}",
    ]
    header = ["metric", "oscgen"]
    for rd in refs:
        header += [f"tf {rd}", f"oscgen/tf {rd}"]
    rows = [header]
    for key, label, _, fmt in METRICS:
        row = [label, _fmt(fmt, report["oscgen"].get(key))]
        for rd in refs:
            row += [_fmt(fmt, report["transformers"][rd].get(key)), _fmt("{:.2f}", report["ratio"][rd].get(key))]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if meta.get("audio_s") and refs:
        for rd in refs:
            r = report["ratio"][rd].get("job_s_per_10s")
            if r:
                lines.append(f"whole job: oscgen is {1 / r:.2f}x as fast as transformers {rd}")
    o = report["oscgen"]
    gbs, how = (o["copy_gbs"], "GPU copy") if o.get("copy_gbs") else (o["matmul_gbs"], "x @ W.T")
    lines.append(
        f"oscgen decoder step: {o['step_ms_median']:.2f} ms = {o['step_over_floor']:.2f}x the weight-bandwidth floor "
        f"({o['weight_mb_per_step']:.0f} MB / {gbs:.1f} GB/s ({how}) = {o['floor_ms']:.2f} ms)"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# subprocess entry points


def _main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        write_random_checkpoint(argv[1], Path(argv[2]))
        return 0
    if argv[:1] == ["worker"]:
        side, spec_path = argv[1], argv[2]
        spec = json.loads(Path(spec_path).read_text())
        # keep stdout for the line protocol: libraries' prints go to stderr
        global _PROTOCOL
        _PROTOCOL, sys.stdout = sys.stdout, sys.stderr
        result = (_oscgen_worker if side == "oscgen" else _transformers_worker)(spec)
        _emit("result", result)
        return 0
    print("usage: python -m oscgen.bench build SIZE DIR | worker SIDE SPEC.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
