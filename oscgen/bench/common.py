"""What both sides of the bench and its parent share: the metrics, the random real-size
checkpoints, the decode step's weight shapes and bandwidth probe, the worker line protocol and
the per-side metrics of one timed job.  Imports neither mlx nor torch at module level."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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


def size_name(model: str) -> str:
    """"musicgen-small" → "small" (the bench's random real-size model); anything else as given."""
    size = model.removeprefix("musicgen-")
    return size if size in REAL_SIZES else model


def ensure_checkpoint(model: str, progress=None) -> Path:
    """The folder to benchmark: a real-size random checkpoint (written once), tiny-random, or a
    checkpoint folder.  "musicgen-small"/"musicgen-medium" mean the random real-size ones too:
    the bench never downloads."""
    model = size_name(model)
    if model in REAL_SIZES:
        path = checkpoint_dir(model)
        if not (path / "config.json").is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            if progress:
                progress(f"writing random musicgen-{model} weights (once)", 0.0)
            # in a subprocess: the writer holds every tensor in memory at once
            cmd = [sys.executable, "-m", "oscgen.bench", "build", model, str(path)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(default_threads()))
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def peak_rss_mb() -> float:
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


def probe_shapes(config: dict) -> list[tuple[int, int]]:
    """The matrices the bandwidth probe streams: whole decoder layers, enough of them to dwarf
    the caches (>= 256 MB in float32), never more than the model has (little extra memory)."""
    layer, _, layers = decode_step_shapes(config)
    want = -(-(256 << 20) // (sum(o * i for o, i in layer) * 4))
    return layer * max(1, min(layers, want))


def floor(config: dict, shapes: list[tuple[int, int]], probe_bytes: int, one_pass, repeats: int = 7) -> dict:
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


#: The worker's real stdout, kept for the line protocol while sys.stdout points at stderr.
PROTOCOL = sys.stdout


def emit(kind: str, payload) -> None:
    """Worker -> parent line protocol on stdout (everything else goes to stderr)."""
    PROTOCOL.write(f"@@{kind} {json.dumps(payload)}\n")
    PROTOCOL.flush()


class Progress:
    """Reports (phase, fraction) to the parent, at most ~20 times a second."""

    def __init__(self, side: str):
        self.side = side
        self._last = 0.0

    def __call__(self, phase: str, fraction: float, force: bool = False) -> None:
        now = time.perf_counter()
        if force or fraction >= 1.0 or now - self._last > 0.05:
            self._last = now
            emit("progress", {"side": self.side, "phase": phase, "fraction": float(fraction)})



def side_metrics(timing: dict, spec: dict) -> dict:
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
        "step_ms_p90": percentile(steps_ms, 0.9),
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


def worker_env(threads: int, oscgen_side: bool = False) -> dict:
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



def default_threads() -> int:
    """Both sides' thread count unless told: every usable core."""
    from oscgen._blas import usable_cores

    return usable_cores()

