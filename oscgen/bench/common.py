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
#: Text encodes timed after the job, beside the job's own: one 0.1-0.2 s encode swings 2x on a
#: shared 2-core host (93-234 ms in one process on the Zen 1 EPYC, 2026-12-03), so the table's T5
#: figure is the median of these and the job's.
T5_REPEATS = 6

METRICS = [
    # key, label, better ("low"/"high"), format
    ("t5_encode_ms", "T5 encode, median (ms)", "low", "{:.1f}"),
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
    ("matmul_gbs", "matmul bandwidth, 2-row x @ W.T (GB/s)", "high", "{:.1f}"),
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


def probe_shapes(config: dict, max_bytes: int = 1 << 30) -> list[tuple[int, int]]:
    """The matrices the bandwidth probe streams: whole decoder layers, as many as the model has
    up to ~1 GiB in float32, so a pass reads weights from memory at the scale a step does."""
    layer, _, layers = decode_step_shapes(config)
    per_layer = sum(o * i for o, i in layer) * 4
    return layer * max(1, min(layers, max_bytes // per_layer))


def thread_counts(threads: int) -> list[int]:
    """The thread counts each side's read bandwidth is measured at: 1 .. ``threads``."""
    from oscgen.calibrate import candidates

    return candidates(threads)


def read_bandwidth(config: dict, shapes: list[tuple[int, int]], probe_bytes: int, one_pass, set_threads,
                   counts: list[int], rounds: int = 2, repeats: int = 3) -> dict:
    """``x @ W.T`` GB/s of ``one_pass`` (all probe matmuls, synchronised) at each thread count,
    the best of ``repeats`` calls over ``rounds`` interleaved rounds (the fastest is the least
    disturbed by the host's other work), and the bytes a whole step reads at the probe's bytes
    per weight (quantized scales/biases counted).  The floor is the parent's: honest_floor."""
    from oscgen.calibrate import best_seconds

    gbs = {n: 0.0 for n in counts}
    for _ in range(rounds):
        for n in counts:
            set_threads(n)
            gbs[n] = max(gbs[n], probe_bytes / best_seconds(one_pass, repeats) / 1e9)
    step_bytes = decoder_weight_bytes(config, probe_bytes / sum(o * i for o, i in shapes))
    return {"read_gbs": {str(n): v for n, v in gbs.items()}, "matmul_gbs": max(gbs.values()),
            "probe_mb": probe_bytes / 1e6, "weight_mb_per_step": step_bytes / 1e6}


def copy_bandwidth(one_copy, nbytes: int, repeats: int = 5) -> float:
    """GB/s moved (read + written) by a large device-to-device copy (a GPU's memory ceiling)."""
    from oscgen.calibrate import best_seconds

    return 2 * nbytes / best_seconds(one_copy, repeats) / 1e9


def honest_floor(sides: dict[str, dict]) -> dict:
    """One floor for the whole run: the best read bandwidth any side reached at any thread count
    (or in a device copy: on a GPU the decode matmuls are launch-bound, the copy is the ceiling), and each side's bytes per step over it.  Sets ``floor_ms`` and
    ``step_over_floor`` on every side; returns how the floor was measured.  (A side's own
    bandwidth would let a slow BLAS lower its own floor.)"""
    reached = []
    for name, side in sides.items():
        for n, gbs in side.get("read_gbs", {}).items():
            reached.append((gbs, f"{name}: x @ W.T on {side['probe_mb']:.0f} MB of decode-shaped weights, "
                                 f"{n} thread{'s' if n != '1' else ''}"))
        if side.get("copy_gbs"):
            reached.append((side["copy_gbs"], f"{name}: a {side['copy_mb']:.0f} MB device-to-device copy (read + written)"))
    if not reached:
        return {}
    gbs, how = max(reached)
    for side in sides.values():
        if side.get("weight_mb_per_step"):
            side["floor_ms"] = side["weight_mb_per_step"] / gbs
            side["step_over_floor"] = side["step_ms_median"] / side["floor_ms"]
    return {"gbs": gbs, "measured_by": how}


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



def encode_times_ms(encode, stamps: list[float], repeats: int = T5_REPEATS) -> list[float]:
    """``repeats`` more runs of a side's text encoder (``encode()``, which appends its start and
    end to ``stamps``), in ms: the samples ``side_metrics`` takes the median of with the job's."""
    times = []
    for _ in range(repeats):
        stamps.clear()
        encode()
        times.append((stamps[1] - stamps[0]) * 1e3)
    return times


def side_metrics(timing: dict, spec: dict) -> dict:
    """The common metrics from one timed job: per-step times, component times and the job.
    ``timing["t5_repeats_ms"]`` (optional): more encodes of the same prompt after the job."""
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
    t5_samples = [timing["t5_encode_ms"], *timing.get("t5_repeats_ms", ())]
    return {
        "t5_encode_ms": statistics.median(t5_samples),
        "t5_encode_ms_job": timing["t5_encode_ms"],
        "t5_encodes_ms": [round(x, 2) for x in t5_samples],
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

