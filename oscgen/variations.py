"""Several takes for about the price of one: ``generate_variations`` (n takes of one prompt) and
``generate_batch`` (takes of different prompts, lengths and knobs), decoded together in one pass
of the engine's batched core (MusicGen.generate_takes): a decode step costs about the same for
one take as for several.

Every take is what ``generate`` makes with its ``.params`` (``generate(**take.params)``: the
same codes; a batch's GEMMs round in another order than a single take's, a last-bit
difference that practically never changes a drawn code), and the same call gives
bit-identical takes.  A batch that will not fit in memory is refused before it starts.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oscgen import api

#: The most takes one call may ask for (memory refuses most long batches well before this).
MAX_TAKES = api.MAX_TAKES


def generate_variations(
    prompt: str,
    n: int = 4,
    duration: float = 10.0,
    model: str = "musicgen-small",
    temperature: float = 1.0,
    top_k: int = 250,
    top_p: float = 0.0,
    cfg_scale: float = 3.0,
    seed: int | None = None,
    progress_callback: Callable[[float], None] | None = None,
    output_dir: str | os.PathLike | None = None,
) -> list[api.GenerationResult]:
    """``n`` takes of ``prompt`` in one pass; take i has seed ``seed + i`` (None draws ``seed``),
    so ``generate_variations(**same arguments)`` gives the same takes bit for bit, and each
    take's ``.params`` (``generate``'s arguments with its own seed) make it again alone.

    The knobs are ``generate``'s.  ``progress_callback(fraction)`` follows the whole batch and
    ends at 1.0; if it raises, generation stops and the exception propagates.  ``output_dir``:
    every take is also written there as ``variation-<i>-seed-<seed>.wav`` (atomically)."""
    n = api._integer("n", n, 1, MAX_TAKES, rule=f"in [1, {MAX_TAKES}]")
    knobs = api.check_arguments(prompt, duration, temperature, top_k, top_p, cfg_scale, seed, progress_callback)
    if knobs["seed"] is not None and knobs["seed"] + n - 1 > api.MAX_SEED:
        raise ValueError(f"seed must leave room for {n} seeds (seed + n - 1 <= {api.MAX_SEED}), got {knobs['seed']}")
    out = None
    if output_dir is not None:
        out = Path(output_dir)
        if not out.is_dir():
            raise ValueError(f"output_dir {str(out)!r} is not a folder")
    first = knobs["seed"] if knobs["seed"] is not None else secrets.randbelow(api.RANDOM_SEED_BOUND - n + 1)
    requests = []
    for i in range(n):
        file = None if out is None else out / f"variation-{i + 1}-seed-{first + i}.wav"
        requests.append(_params(prompt, knobs, model, first + i, file))
    return _run(requests, [None] * n, knobs["progress_callback"])


def generate_batch(requests: list[dict]) -> list[api.GenerationResult]:
    """Takes of different prompts in as few passes as possible, in the order asked.

    Each request is a dict of ``generate``'s arguments (``prompt`` required, the rest as
    ``generate``'s defaults; a request's ``progress_callback`` follows its own take and ends at
    1.0; if one raises, the batch stops and the exception propagates; ``output_file`` is
    written when the take is made).  Takes for one model with one ``top_k`` share a pass
    (temperature, top_p, cfg_scale, duration and seed are per take); others run one after
    another.  ``generate_batch(same requests)`` gives the same takes bit for bit."""
    if not isinstance(requests, (list, tuple)) or not requests:
        raise ValueError("requests must be a non-empty list of dicts of generate()'s arguments")
    if len(requests) > MAX_TAKES:
        raise ValueError(f"requests holds {len(requests)} takes; at most {MAX_TAKES} a call")
    allowed = set(inspect.signature(api.generate).parameters)
    checked, callbacks = [], []
    for i, request in enumerate(requests):
        if not isinstance(request, dict):
            raise ValueError(f"requests[{i}] must be a dict of generate()'s arguments, got {type(request).__name__}")
        unknown = sorted(set(request) - allowed)
        if unknown:
            raise ValueError(f"requests[{i}]: unknown argument(s) {', '.join(unknown)}; generate() takes "
                             f"{', '.join(sorted(allowed))}")
        if "prompt" not in request:
            raise ValueError(f"requests[{i}]: prompt is required")
        args = {**_defaults(), **request}
        try:
            knobs = api.check_arguments(args["prompt"], args["duration"], args["temperature"], args["top_k"],
                                        args["top_p"], args["cfg_scale"], args["seed"], args["progress_callback"])
            file = api._check_output_file(args["output_file"])
        except ValueError as exc:
            raise ValueError(f"requests[{i}]: {exc}") from None
        seed = knobs["seed"] if knobs["seed"] is not None else secrets.randbelow(api.RANDOM_SEED_BOUND)
        checked.append(_params(args["prompt"], knobs, args["model"], seed, file))
        callbacks.append(knobs["progress_callback"])
    return _run(checked, callbacks, None)


# ------------------------------------------------------------------------------------- shared


def _defaults() -> dict:
    return {name: p.default for name, p in inspect.signature(api.generate).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _params(prompt: str, knobs: dict, model: str, seed: int, output_file: Path | None) -> dict:
    """``generate``'s arguments for one take (its ``.params``)."""
    return {"prompt": prompt, "duration": knobs["duration"], "model": model, "temperature": knobs["temperature"],
            "top_k": knobs["top_k"], "top_p": knobs["top_p"], "cfg_scale": knobs["cfg_scale"], "seed": seed,
            "output_file": None if output_file is None else str(output_file)}


def _run(requests: list[dict], callbacks: list, progress) -> list[api.GenerationResult]:
    """Decode ``requests`` (checked params) grouped by (model, top_k), one engine pass a group,
    every group's memory checked before the first starts.  ``callbacks``: per take (its own
    fraction); ``progress``: the whole call's."""
    groups: dict[tuple, list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault((request["model"], request["top_k"]), []).append(i)
    results: list[api.GenerationResult | None] = [None] * len(requests)
    planned = []
    for (model, top_k), rows in groups.items():
        engine = api.load_model(model)
        takes = [engine.take(requests[i]["prompt"], api.frames_for(requests[i]["duration"]), requests[i]["seed"],
                             temperature=requests[i]["temperature"], top_p=requests[i]["top_p"],
                             cfg_scale=requests[i]["cfg_scale"]) for i in rows]
        check_memory(engine, takes)
        planned.append((model, top_k, rows, takes))
    done = 0
    for model, top_k, rows, takes in planned:
        engine = api.load_model(model)
        share = (done, len(rows))
        report = _reporter(engine, takes, [callbacks[i] for i in rows], progress, share, len(requests))
        codes = engine.generate_takes(takes, top_k=top_k, progress=report)
        audio = engine.decode_takes(codes, progress=lambda f: report(f, audio_stage=True))
        report(1.0, audio_stage=True)
        for i, wave in zip(rows, audio):
            result = api._result(api.AudioData(np.array(wave), engine.sample_rate), requests[i]["seed"],
                                 requests[i], engine)
            if requests[i]["output_file"] is not None:
                result.save(requests[i]["output_file"])
            results[i] = result
        done += len(rows)
    return results


def _reporter(engine, takes, callbacks, progress, share, total):
    """The engine's progress(fraction) → each take's own fraction (a shorter take is done
    sooner) and the call's overall one.  ``share``: (takes done before this pass, its takes)."""
    from oscgen.musicgen import codebooks
    from oscgen.musicgen.pipeline import DECODE_SHARE

    steps = [codebooks.steps_for(t.frames, engine.codebook_delays) for t in takes]
    longest = max(steps)

    def report(fraction: float, audio_stage: bool = False) -> None:
        for callback, own in zip(callbacks, steps):
            if callback is not None:
                callback(fraction if audio_stage else min(DECODE_SHARE, fraction * longest / own))
        if progress is not None:
            progress((share[0] + fraction * share[1]) / total)

    return report


def free_memory() -> int:
    """Bytes a batch may still take: MLX's memory limit less what it holds, and on Linux no more
    than the system's available memory (plus MLX's reusable cache)."""
    import mlx.core as mx

    free = mx.get_memory_limit() - mx.get_active_memory()
    try:
        with open("/proc/meminfo") as meminfo:
            available = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
        free = min(free, available + mx.get_cache_memory())
    except (OSError, StopIteration, ValueError):
        pass
    return max(0, free)


def check_memory(engine, takes) -> None:
    """ValueError before a batch starts if it would not fit (MusicGen.memory_needed)."""
    needed, free = engine.memory_needed(takes), free_memory()
    if needed > free:
        longest = max(t.frames for t in takes) / api.FRAME_RATE
        raise ValueError(f"a batch of {len(takes)} take(s) of up to {longest:g} s needs about {needed / 2**30:.1f} GiB "
                         f"beyond the model, and {free / 2**30:.1f} GiB are free: ask for fewer takes or shorter ones")
