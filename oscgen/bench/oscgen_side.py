"""The oscgen side of the bench, run in its own subprocess: load, warm up as the daemon does,
time one job through ``oscgen.api.generate``, then probe MLX's matmul bandwidth."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time

from oscgen.bench.common import (FRAME_RATE, Progress, copy_bandwidth, encode_times_ms, peak_rss_mb,
                                 probe_shapes, read_bandwidth, side_metrics, thread_counts)


def _mlx_read_bandwidth(config: dict, dtype: str, quantize: int | None, threads: int) -> dict:
    """x @ W.T on the decode-step shapes (in the GEMM form and library a 2-row step uses here), in
    oscgen's dtype / quantization, at each thread count up to ``threads`` (MKL's and the own
    kernel's) on a CPU; on a GPU once, plus a large device-to-device copy."""
    import mlx.core as mx

    from oscgen import _blas
    from oscgen.calibrate import mlx_matmul_pass

    shapes = probe_shapes(config)
    one_pass, nbytes = mlx_matmul_pass(shapes, dtype, quantize)
    on_gpu = mx.default_device() == mx.gpu
    counts = [threads] if on_gpu or not _blas.threads_are_ours() else thread_counts(threads)
    router = _blas.router
    before = _blas.mkl_threads()

    def set_threads(n: int) -> None:  # MKL's and the own kernel's (where the plan routes rows to it)
        _blas.set_threads(n)
        if router is not None:
            router.own(router.own_rows, threads=n)

    with router.kept() if router is not None else contextlib.nullcontext():
        result = read_bandwidth(config, shapes, nbytes, one_pass, set_threads, counts)
    if before is not None:
        _blas.set_threads(before)
    del one_pass
    if on_gpu:
        big = mx.zeros((1 << 29,), dtype=mx.float32)  # 2 GiB, far past the caches
        mx.eval(big)
        result["copy_gbs"] = copy_bandwidth(lambda: mx.eval(big + 1), big.nbytes)
        result["copy_mb"] = big.nbytes / 1e6
    return result


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


def mlx_device(device: str) -> None:
    """The bench's --device (cpu, gpu, auto) as MLX's default device (auto: MLX's own choice)."""
    import mlx.core as mx

    if device in ("cpu", "gpu"):
        mx.set_default_device(mx.cpu if device == "cpu" else mx.gpu)


def worker(spec: dict) -> dict:
    import oscgen  # noqa: F401  (MKL before mlx)
    from oscgen import _blas, api

    import mlx.core as mx

    progress = Progress("oscgen")
    mlx_device(spec["device"])

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
    decode_threads = _blas.mkl_threads()
    timing = run(spec["steps"], "generating")
    ids = mx.array([spec["input_ids"]])
    timing["t5_repeats_ms"] = encode_times_ms(lambda: engine.encode_text(ids), clock.t5)
    result = side_metrics(timing, spec)
    result["peak_rss_mb"] = peak_rss_mb()
    on_gpu = mx.default_device() == mx.gpu
    result["peak_mlx_mb"] = mx.get_peak_memory() / 1e6
    result["peak_device_mb"] = result["peak_mlx_mb"] if on_gpu else None
    result["weights_mb"] = weights_mb
    result["load_peak_mlx_mb"] = load_peak_mb
    result["load_s"] = load_s
    result["warm_up_s"] = warm_up_s
    result["audio_sha"] = timing["audio_sha"]
    progress("matmul bandwidth", 0.0, force=True)
    result.update(_mlx_read_bandwidth(spec["config"], spec["dtype"], spec["quantize"], spec["threads"]))
    result["device"] = str(mx.default_device()) + (f" ({gpu_name()})" if on_gpu else "")
    result["blas"] = _blas.ACTIVE_BLAS
    result["decode_threads"] = decode_threads  # MKL's, as oscgen chose them (calibration, _blas.py)
    result["blas_threads"] = _blas.describe_threads()
    result["mlx_version"] = mx.__version__
    return result


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "gpu"

