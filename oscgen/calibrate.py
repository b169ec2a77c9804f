"""MKL's thread count for the decode step, chosen by measurement and cached per host + BLAS.

Which count decodes fastest depends on the host (oscgen/_blas.py: default_threads), so it is
measured, once per host, core count and BLAS library:

- ``x @ W.T`` on decode-shaped matrices (2 rows, the musicgen-small step's weight shapes, whole
  layers past 256 MB so they stream from memory as a step does) at every candidate count, all
  cores included, in interleaved rounds (a moment of load from another process hits every count
  alike), keeping each count's best;
- the GEMM plan (gemm_plan.py: per row count the library, form and padding; the thread
  counts of OpenBLAS and of oscgen's own kernel);
- the real decode step of a musicgen checkpoint at each count, run as that plan says, where
  one is at hand and the caller can spend the time (``oscgen doctor --calibrate``: ~45 s on 2
  cores with musicgen-small, its plan timed on the real weights): when it was timed it decides,
  since it includes what a matmul alone does not (MLX's own thread, attention, sampling, and
  which threads spin against which).

The result goes to <oscgen cache>/calibration/ (_blas.calibration_file); every later process
(the daemon's worker included) reads it at import and decodes at that count.  The first model
load on a CPU calibrates if nothing is cached yet (matmuls and the plan on a 256 MB probe,
~8 s on 2 cores); OSCGEN_CALIBRATE=0 skips that (the test suite sets it: no test depends on
the outcome).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator

from oscgen import _blas, gemm_plan

#: Decode-shaped matrices per layer (out, in) at musicgen-small's width: fused q/k/v, the
#: self-attention output, the feed-forward pair (cross-attention is folded to a few columns).
_D, _FFN = 1024, 4096
LAYER_SHAPES = [(3 * _D, _D), (_D, _D), (_FFN, _D), (_D, _FFN)]
#: ensure_calibrated's switch for this process (``doctor --calibrate`` measures anyway).
AUTO = True
#: Streamed per timed pass: beyond the caches, so a pass reads memory as a decode step does.
PROBE_BYTES = 256 << 20


def candidates(cores: int | None = None) -> list[int]:
    """Thread counts worth timing: every count up to 8, then powers of two, and all cores."""
    cores = cores or _blas.oscgen_cores()
    counts = set(range(1, min(cores, 8) + 1)) | {2 ** i for i in range(cores.bit_length()) if 2 ** i <= cores}
    return sorted(counts | {cores})


def probe_shapes(layer_shapes=LAYER_SHAPES, probe_bytes: int = PROBE_BYTES, bytes_per_weight: int = 4,
                 max_layers: int | None = None) -> list[tuple[int, int]]:
    """Whole layers of ``layer_shapes``, enough of them to stream ``probe_bytes``."""
    per_layer = sum(o * i for o, i in layer_shapes) * bytes_per_weight
    layers = max(1, -(-probe_bytes // per_layer))
    return list(layer_shapes) * (min(layers, max_layers) if max_layers else layers)


def mlx_matmul_pass(shapes, dtype: str = "float32", quantize: int | None = None) -> tuple[Callable[[], None], int]:
    """(one_pass, bytes): ``one_pass`` runs ``x @ W.T`` with x of 2 rows for every matrix of
    ``shapes`` (in ``dtype``, quantized to ``quantize`` bits if set; in the GEMM form a 2-row
    step uses on this host, layers.matmul_t) and waits for the result;
    ``bytes`` is what a pass reads (scales and biases included).  The weights are a constant:
    a dense matmul's speed does not depend on the values, and drawing 256 MB of random numbers
    would cost more than the measurement."""
    import mlx.core as mx

    from oscgen.musicgen import layers

    mx.random.seed(0)
    dt = getattr(mx, dtype)
    weights = []
    for out_f, in_f in shapes:
        w = mx.full((out_f, in_f), 0.02, dtype=dt)
        weights.append(mx.quantize(w, group_size=64, bits=quantize) if quantize else (w,))
        mx.eval(weights[-1])
    xs = {in_f: mx.random.normal((2, in_f)).astype(dt) for _, in_f in shapes}
    mx.eval(xs)

    def matmul(x, w):
        if quantize:
            return mx.quantized_matmul(x, *w, transpose=True, group_size=64, bits=quantize)
        return layers.matmul_t(x, w[0])

    def one_pass():
        mx.eval([matmul(xs[in_f], w) for (_, in_f), w in zip(shapes, weights)])

    return one_pass, sum(a.nbytes for w in weights for a in w)


def best_seconds(one_pass: Callable[[], None], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (after one untimed): the least disturbed by the
    host's other work."""
    one_pass()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_matmuls(counts: list[int], rounds: int = 2, repeats: int = 3) -> dict[int, float]:
    """GB/s of a decode-shaped pass (2 rows: one guided take) at each MKL thread count, in the
    faster of its two GEMM forms (gemm_plan: the forms thread differently, so a count is judged
    by its better form); the best over ``rounds`` interleaved rounds."""
    weights = probe_weights()
    one_pass = gemm_plan.passes(weights, 2)
    nbytes = sum(w.nbytes for w in weights)
    best = {n: float("inf") for n in counts}
    with planned({}):  # MKL's: no row to OpenBLAS or the own kernel
        for _ in range(rounds):
            for n in counts:
                _blas.set_threads(n)
                best[n] = min([best[n]] + [best_seconds(one_pass[way], repeats) for way in (gemm_plan.PLAIN, gemm_plan.WXT)])
    return {n: nbytes / t / 1e9 for n, t in best.items()}


def probe_weights() -> list:
    """Constant decode-shaped float32 weights, PROBE_BYTES of them (see mlx_matmul_pass)."""
    import mlx.core as mx

    weights = [mx.full(shape, 0.02, dtype=mx.float32) for shape in probe_shapes()]
    mx.eval(weights)
    return weights


def decoder_weights(decoder) -> list:
    """The weights of the linears a decode step streams: each layer's q/k/v, attention output
    and feed-forward pair, then the codebook heads (cross-attention is folded per job)."""
    import mlx.nn as nn

    modules = [module for layer in decoder.layers
               for module in (layer.self_attn.qkv_proj, layer.self_attn.out_proj, layer.fc1, layer.fc2)
               if type(module) is nn.Linear]
    return [module.weight for module in modules + [decoder.lm_head]]


def step_weights(engine) -> list | None:
    """The real decoder's float32 weights to time the GEMM plan on (~1.4 GB for musicgen-small:
    the 256 MB probe misjudged 8 against 16 rows on a 2-core EPYC, 25 vs 26 ms where the whole
    decoder took 126 vs 110); None without an engine, for a converted decoder, or one smaller
    than the probe (a tiny model's weights sit in the caches)."""
    import mlx.core as mx

    if engine is None:
        return None
    weights = decoder_weights(engine.decoder)
    real = all(w.dtype == mx.float32 for w in weights) and sum(w.nbytes for w in weights) >= PROBE_BYTES
    return weights if real else None


def measure_steps(engine, counts: list[int], plan: dict, frames: int = 24, rounds: int = 2) -> dict[int, float]:
    """Median ms of the real decode step (guided, top_k 250: the defaults) at each MKL thread
    count, each row count's matmuls run as ``plan`` (gemm_plan.measure's fields) says, from the
    engine's per-step progress reports; the best median over ``rounds`` interleaved rounds.  The
    first job at each setting traces and compiles the step: not timed."""
    import mlx.core as mx

    input_ids = mx.array([[0] * 12], dtype=mx.int32)
    stamps: list[float] = []

    def job(n):
        _blas.set_threads(n)
        stamps.clear()
        engine.generate_codes(input_ids, frames, progress=lambda fraction: stamps.append(time.perf_counter()))
        gaps = [(b - a) * 1e3 for a, b in zip(stamps, stamps[1:-1])]  # the last report follows the loop
        return statistics.median(gaps[2:])  # the first steps also pay for the cross-attention fold

    with planned(plan):
        engine._compiled_steps.clear()  # traced with the plan's forms
        try:
            for n in counts:
                job(n)
            best = {n: float("inf") for n in counts}
            for _ in range(rounds):
                for n in counts:
                    best[n] = min(best[n], job(n))
            return best
        finally:
            engine._compiled_steps.clear()


@contextlib.contextmanager
def planned(plan: dict) -> Iterator[None]:
    """The router's routes and the linears' GEMM forms as ``plan`` says, for the duration."""
    from oscgen.musicgen import layers

    router = _blas.router
    forms = layers.WXT_ROWS, layers.PAD_ROWS
    with router.kept() if router is not None else contextlib.nullcontext():
        if router is not None:
            router.route(plan.get("openblas_rows"), plan.get("openblas_wxt_rows"))
            router.own(plan.get("own_rows"), threads=plan.get("own_threads"))
        layers.WXT_ROWS, layers.PAD_ROWS = gemm_plan.wxt_rows(plan) or (), gemm_plan.pad_rows(plan)
        try:
            yield
        finally:
            layers.WXT_ROWS, layers.PAD_ROWS = forms


def choose(matmul_gbs: dict[int, float], step_ms: dict[int, float] | None = None) -> int:
    """The decode thread count: the fastest real step where it was timed, else the highest
    matmul bandwidth; within 2 % of the best (host noise), the most threads, as the uncalibrated
    fallback does (_blas.default_threads)."""
    if step_ms:
        return gemm_plan.most_threads_near_best(step_ms)
    best = max(matmul_gbs.values())
    return max(n for n, gbs in matmul_gbs.items() if gbs >= best * 0.98)


def calibrate(engine=None, model: str | None = None, write: bool = True) -> dict:
    """Measure every candidate count (matmuls; the real step too with ``engine``), choose, cache
    the record (when ``write``) and decode at the choice from now on.  Without MKL under MLX
    there is nothing to choose: returns {"skipped": why}.

    The order matters: the GEMM plan is measured at the matmuls' count first, then the real
    step at every count runs as that plan says (what MKL's count decides in a step is what the
    plan leaves to MKL: where the own kernel takes a take's linears, attention's per-head calls
    and little else), and if the step chose another count the plan's MKL ways are measured
    again at it."""
    if _blas._mkl is None:
        return {"skipped": f"no MKL under MLX ({_blas.ACTIVE_BLAS})"}
    counts = candidates()
    started = time.perf_counter()
    plan_weights = step_weights(engine) or probe_weights()

    def plan_at(threads: int) -> dict:
        _blas.set_threads(threads)  # each row count's library and GEMM form at the count it will decode at
        return {**gemm_plan.measure(plan_weights, counts), "plan_bytes": sum(w.nbytes for w in plan_weights)}

    try:
        matmul_gbs = measure_matmuls(counts)
        threads = choose(matmul_gbs)
        plan = plan_at(threads)
        step_ms = measure_steps(engine, counts, plan) if engine is not None else None
        if step_ms and (chosen := choose(matmul_gbs, step_ms)) != threads:
            threads, plan = chosen, plan_at(chosen)
    finally:
        _blas.set_threads(_blas.default_threads())
    record = {
        "key": _blas.host_key(),
        "decode_threads": threads,
        **plan,
        "decided_by": "decode step" if step_ms else "matmul bandwidth",
        "matmul_gbs": {str(n): round(v, 2) for n, v in matmul_gbs.items()},
        "step_ms": {str(n): round(v, 2) for n, v in step_ms.items()} if step_ms else None,
        "step_model": model if step_ms else None,
        "seconds": round(time.perf_counter() - started, 2),
        # a busy host skews every count (oversubscribed threads): doctor says so
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if write:
        path = _blas.calibration_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old record or the new one
        _blas.apply_calibration()
    return record


def ensure_calibrated() -> None:
    """Calibrate (matmuls and the plan, no real step) if MKL threads are oscgen's to choose,
    nothing is cached for this host + BLAS yet and OSCGEN_CALIBRATE is not 0.  Called when a
    model loads on a CPU."""
    if not AUTO or os.environ.get("OSCGEN_CALIBRATE", "1").strip().lower() in ("0", "off", "no", "false"):
        return
    if not _blas.threads_are_ours() or _blas.read_calibration() is not None:
        return
    try:
        calibrate()
    except OSError:  # a read-only cache: decode at the fallback, try again next load
        pass


def describe(record: dict | None) -> str:
    """One line for ``oscgen doctor``: what each count reached and what was chosen."""
    if not record:
        return "not calibrated yet (the first model load on this host does it; oscgen doctor --calibrate redoes it)"
    if "skipped" in record:
        return record["skipped"]
    gbs = ", ".join(f"{n}: {v:.1f}" for n, v in record["matmul_gbs"].items())
    text = f"{record['decode_threads']} decode thread(s), by {record['decided_by']} ({record['date']}); GB/s by threads {gbs}"
    if record.get("step_ms"):
        ms = ", ".join(f"{n}: {v:.1f}" for n, v in record["step_ms"].items())
        text += f"; {record['step_model']} step ms by threads {ms}"
    if record.get("plan_ms"):
        text += "; " + gemm_plan.describe(record)
    load = record.get("load_average")
    if isinstance(load, (int, float)) and load > record["key"]["cores"]:
        text += (f"; measured at load average {load:.1f} on {record['key']['cores']} cores: "
                 "redo it on a quiet machine (oscgen doctor --calibrate)")
    return text


def wxt_rows() -> tuple[tuple[int, int], ...]:
    """layers.WXT_ROWS for this host: the calibration's plan, else none (x @ W.T throughout)."""
    return gemm_plan.wxt_rows(_blas.read_calibration()) or ()


def pad_rows() -> tuple[tuple[int, int, int], ...]:
    """layers.PAD_ROWS for this host: the calibration's plan, else none."""
    return gemm_plan.pad_rows(_blas.read_calibration())


def matmul_seconds(rows: int, nbytes: int) -> float | None:
    """Seconds a pass over ``nbytes`` of float32 decode weights takes at ``rows`` rows on this
    host, scaled from the calibration's plan (timed on plan_bytes of weights: the probe's
    probe_shapes(), or a real decoder's); None where it
    has none (a GPU, or not calibrated)."""
    record = _blas.read_calibration()
    ms = gemm_plan.pass_ms(record, rows)
    if ms is None:
        return None
    timed = record.get("plan_bytes") or sum(o * i for o, i in probe_shapes()) * 4
    return ms / 1e3 * nbytes / timed
