"""``generate_take_batch``: several set-ready takes (``oscgen.generate_take``'s bars, loops and
finishing) decoded together in one pass of the engine's batched core (MusicGen.generate_takes),
for the daemon's variations and its batches of waiting jobs.

Each row is what ``generate_take(**result.params)`` makes alone (the core's contract: a row
in a batch draws the same noise as alone; the batched GEMMs round in another order, a last-bit
difference that practically never changes a drawn code).  Rows share the model and top-k (they
shape the step); prompt, length, seed, temperature, top-p, guidance, bars and loop are per row.
A take past the model's 30 s window (windowed) cannot share a pass: ``NotBatchable``.  A batch
that will not fit in memory is refused before it starts: ``TooBig``.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

import numpy as np

from oscgen import api
from oscgen.take import _finished, check_take, take_params

#: what ``control(row)`` may answer, once a decode step: end the row now and keep its audio so far
#: (the whole bars or beats made), or end it and drop it (not decoded to audio, None in the results)
STOP, DROP = "stop", "drop"

_OWN = ("prompt", "duration", "bars", "bpm", "beats_per_bar", "loop", "crossfade", "tempo_text", "finish", "model",
        "temperature", "top_k", "top_p", "cfg_scale", "seed")


class NotBatchable(ValueError):
    """A request that cannot share a pass (a take past the model's window is made window by window)."""


class TooBig(ValueError):
    """The batch would not fit in memory (checked before anything is decoded)."""


def generate_take_batch(
    requests: list[dict],
    *,
    progress_callbacks: list[Callable[[float], None] | None] | None = None,
    control: Callable[[int], str | None] | None = None,
    incoming: Callable[[Callable], None] | None = None,
    on_result: Callable[[int, object], None] | None = None,
) -> list:
    """Make every request (a dict of ``generate_take``'s arguments among prompt, duration, bars,
    bpm, beats_per_bar, loop, crossfade, tempo_text, finish, model, temperature, top_k, top_p,
    cfg_scale and seed; None draws a seed) in one engine pass; returns per request, in order, a
    GenerationResult (``.take``, ``.text``, ``.stopped`` and ``.params`` as generate_take's), None
    for a row ``control`` dropped, or the ValueError of a row stopped before it made a beat.

    ``progress_callbacks[i](fraction)`` follows row i (a shorter row is done sooner) and ends at
    1.0; if one raises, the batch stops and the exception propagates.  ``control(row)`` is asked
    once a decode step for every row still going: STOP, DROP or None.

    Continuous batching: ``incoming(admit)`` is called once a decode step; it may call
    ``admit(requests, callbacks)`` to add more requests to the running pass, all or none: it
    returns their row numbers (after every row so far), or None when they cannot join (another
    model or top-k, a bad request, not joinable: decode_pass.DecodePass.can_join, too big
    together, or, unless ``always=True``, not worth it on this host: DecodePass.worth_joining),
    and the caller makes them another time.  ``on_result(row, result)``: each row's
    result as soon as its take is done (decoded to audio while the others wait), instead of all
    at the end; the returned list has them too."""
    if not isinstance(requests, (list, tuple)) or not requests:
        raise ValueError("requests must be a non-empty list of dicts of generate_take()'s arguments")
    callbacks = list(progress_callbacks or [None] * len(requests))
    if len(callbacks) != len(requests):
        raise ValueError(f"progress_callbacks has {len(callbacks)} entries for {len(requests)} requests")
    from oscgen.musicgen.pipeline import DECODE_SHARE

    rows = [_plan(i, request) for i, request in enumerate(requests)]
    model, top_k = rows[0]["params"]["model"], rows[0]["params"]["top_k"]
    for i, row in enumerate(rows):
        _check_shared(i, row, model, top_k)
    engine = api.load_model(model)
    takes = [_take(engine, row) for row in rows]
    _fits(engine, takes)
    run = engine.decode_pass(takes, top_k)
    ended, dropped, results = set(), set(), {}

    def admit(more: list[dict], more_callbacks: list | None = None, always: bool = False) -> list[int] | None:
        first = len(rows)
        try:
            planned = [_plan(first + i, request) for i, request in enumerate(more)]
            for i, row in enumerate(planned):
                _check_shared(first + i, row, model, top_k)
            new = [_take(engine, row) for row in planned]
            if not new or not all(run.can_join(take) for take in new):
                return None
            if not (always or run.worth_joining(len(new))):
                return None
            _fits(engine, run.joined_takes(new))
        except ValueError:
            return None
        run.add(new)
        rows.extend(planned)
        callbacks.extend(list(more_callbacks or [None] * len(new)))
        return list(range(first, len(rows)))

    def finish(done: list[int]) -> None:
        """Rows whose decoding is over → their results (audio decoded together)."""
        kept = [row for row in done if row not in dropped]

        def audio_progress(fraction: float) -> None:
            for row in kept:
                if callbacks[row] is not None:
                    callbacks[row](fraction)

        codes = {row: run.codes(row) for row in kept}
        audio = engine.decode_takes([codes[row] for row in kept], progress=audio_progress) if kept else []
        run.untimed()  # the step time measured next leaves EnCodec out
        for row in done:
            results[row] = None
        for row, wave in zip(kept, audio):
            results[row] = _result(rows[row], np.array(wave), engine, codes[row].shape[-1] < rows[row]["frames"])
        audio_progress(1.0)
        if on_result is not None:
            for row in done:
                on_result(row, results[row])

    def between(run) -> None:
        for row, callback in enumerate(callbacks):
            if row in results:
                continue
            if control is not None and row not in ended and not run.finished(row):
                asked = control(row)
                if asked in (STOP, DROP):
                    ended.add(row)
                    run.stop(row)
                    if asked == DROP:
                        dropped.add(row)
            if callback is not None and row not in dropped:
                callback(DECODE_SHARE * run.progress(row))
        if on_result is not None:
            done = [row for row in range(len(rows)) if row not in results and run.finished(row)]
            if done:
                finish(done)
        if incoming is not None:
            incoming(admit)

    hooked = any(c is not None for c in callbacks) or control is not None or incoming is not None or on_result is not None
    run.run(between if hooked else None)
    finish([row for row in range(len(rows)) if row not in results])
    return [results[row] for row in range(len(rows))]


def _take(engine, row: dict):
    """The engine's batch row for a planned request."""
    return dataclasses.replace(engine.take(row["text"], row["frames"], row["params"]["seed"]),
                               temperature=row["params"]["temperature"], top_p=row["params"]["top_p"],
                               cfg_scale=row["params"]["cfg_scale"])


def _check_shared(i: int, row: dict, model: str, top_k: int) -> None:
    """ValueError unless row i shares the batch's model and top-k; NotBatchable past the window."""
    from oscgen import continuation

    if (row["params"]["model"], row["params"]["top_k"]) != (model, top_k):
        raise ValueError(f"requests[{i}]: a batch shares its model and top_k ({model!r}, {top_k}); got "
                         f"({row['params']['model']!r}, {row['params']['top_k']})")
    if row["frames"] > continuation.window_frames():
        raise NotBatchable(f"requests[{i}]: {row['frames'] / api.FRAME_RATE:g} s is past the model's window; "
                           "a long take is made window by window, alone")


def _fits(engine, takes) -> None:
    """TooBig unless the takes fit in memory together."""
    from oscgen.variations import check_memory

    try:
        check_memory(engine, takes)
    except ValueError as exc:
        raise TooBig(str(exc)) from None


def _plan(i: int, request: dict) -> dict:
    """One request checked as generate_take checks it (ValueError naming the request)."""
    if not isinstance(request, dict):
        raise ValueError(f"requests[{i}] must be a dict of generate_take()'s arguments, got {type(request).__name__}")
    unknown = sorted(set(request) - set(_OWN))
    if unknown:
        raise ValueError(f"requests[{i}]: unknown or unbatchable argument(s) {', '.join(unknown)}")
    if "prompt" not in request:
        raise ValueError(f"requests[{i}]: prompt is required")
    args = {**_defaults(), **request}
    try:
        plan = check_take(args["prompt"], args["duration"], args["bars"], args["bpm"], args["beats_per_bar"],
                          args["loop"], args["crossfade"], args["tempo_text"], args["finish"], args["temperature"],
                          args["top_k"], args["top_p"], args["cfg_scale"], args["seed"], None)
    except ValueError as exc:
        raise ValueError(f"requests[{i}]: {exc}") from None
    seed = plan["knobs"]["seed"] if plan["knobs"]["seed"] is not None else secrets.randbelow(api.RANDOM_SEED_BOUND)
    params = take_params(plan, args["prompt"], args["bpm"], args["beats_per_bar"], args["loop"], args["crossfade"],
                         args["tempo_text"], args["model"], seed)
    return {"params": params, "spec": plan["length"], "finish": plan["finish"], "text": plan["text"],
            "frames": plan["frames"]}


def _result(row: dict, audio: np.ndarray, engine, stopped: bool):
    """The finished take of one row, or the ValueError of one stopped before a beat was made."""
    try:
        take = _finished(audio, engine.sample_rate, row["finish"], row["spec"], stopped)
    except ValueError as exc:
        return exc
    return api._result(api.AudioData(take.audio, take.sample_rate), row["params"]["seed"], row["params"], engine,
                       take=take, text=row["text"], stopped=stopped)


def _defaults() -> dict:
    import inspect

    from oscgen.take import generate_take

    return {name: p.default for name, p in inspect.signature(generate_take).parameters.items()
            if p.default is not inspect.Parameter.empty}
