"""Past text and past 30 seconds: ``generate_continuation`` (an audio prompt, continued) and
``generate_long`` (takes of up to 5 minutes), both through the engine's one batched core.

- A continuation is what audiocraft's ``generate_continuation`` and transformers' audio-prompted
  ``generate(input_values=...)`` return: the prompt encoded to codes, the codes forced as the
  take's first frames, the rest generated after them, and the whole decoded together, so the
  result is the (EnCodec-coded) prompt followed by its continuation; ``.prompt_duration`` says
  where the new part starts.
- A take longer than the model's 30 s context is built as audiocraft builds it
  (oscgen.musicgen.windows): 30 s windows, each prompted by the last 30 − ``extend_stride``
  seconds of codes before it.  A continuation longer than a window goes the same way.

Arguments are checked up front, as ``generate``'s are: a bad one raises ValueError naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from oscgen import api, prompt_audio
from oscgen.knobs import LONG_MAX_DURATION

#: The longest take generate_long (and a continuation) builds: 5 minutes.
MAX_LONG_DURATION = LONG_MAX_DURATION
#: The model's context: a window of windowed extension (audiocraft's max_duration).
WINDOW_SECONDS = api.MAX_DURATION
#: audiocraft's default extend_stride: each window after the first adds 18 s and is prompted by
#: the 12 s before them.
EXTEND_STRIDE = 18.0


def window_frames() -> int:
    """Code frames in one window: the longest take the core makes in one pass."""
    return round(WINDOW_SECONDS * api.FRAME_RATE)


def check_long(prompt, duration, extend_stride, temperature, top_k, top_p, cfg_scale, seed, progress_callback) -> dict:
    """``generate``'s checks with ``duration`` up to 5 minutes, and ``extend_stride``."""
    knobs = api.check_arguments(prompt, duration, temperature, top_k, top_p, cfg_scale, seed, progress_callback,
                                max_duration=MAX_LONG_DURATION)
    knobs["extend_stride"] = check_stride(extend_stride)
    return knobs


def check_stride(extend_stride) -> float:
    """``extend_stride`` as seconds in (0, 30); ValueError naming it otherwise."""
    rule = f"in (0, {WINDOW_SECONDS:g}) seconds"
    value = api._real("extend_stride", extend_stride, 0.0, WINDOW_SECONDS, low_open=True, rule=rule)
    if value >= WINDOW_SECONDS:
        raise ValueError(f"extend_stride must be {rule}, got {extend_stride!r}")
    return value


def windowed(engine, text: str, frames: int, knobs: dict, seed: int, prompt_codes, extend_stride: float,
             stop: Callable[[], bool] | None = None) -> tuple[np.ndarray, bool]:
    """(the take's audio (channels, frames · hop), stopped): its codes (``prompt_codes`` (K, P)
    first) one window through the engine's batched core, or windowed extension past the model's
    context, then decoded together; progress up to 1.0 through ``knobs["progress_callback"]``.
    ``stop()`` (asked after every decoding step) ends the take early with the complete frames
    made so far, prompt included."""
    import mlx.core as mx

    from oscgen.musicgen import windows

    rate = api.FRAME_RATE
    progress = knobs["progress_callback"]
    codes = windows.generate(
        engine, text, frames, prompt_codes=prompt_codes,
        window=window_frames(), stride=max(1, round(extend_stride * rate)), seed=seed,
        progress=progress, stop=stop, temperature=knobs["temperature"], top_k=knobs["top_k"],
        top_p=knobs["top_p"], cfg_scale=knobs["cfg_scale"],
    )
    audio = np.array(engine.decode_audio(mx.array(codes)[None], progress)[0])
    if progress is not None:
        progress(1.0)
    return audio, codes.shape[1] < frames


def _finish(engine, audio, seed: int, params: dict, output_file, prompt_frames: int, stopped: bool = False):
    params = {**params, "seed": seed, "output_file": None if output_file is None else str(output_file)}
    result = api._result(api.AudioData(audio, engine.sample_rate), seed, params, engine,
                         prompt_duration=prompt_frames / api.FRAME_RATE, stopped=stopped)
    if output_file is not None:
        result.save(output_file)
    return result


def _knob_params(knobs: dict) -> dict:
    return {k: knobs[k] for k in ("duration", "temperature", "top_k", "top_p", "cfg_scale", "extend_stride")}


def generate_long(
    prompt: str,
    duration: float,
    model: str = "musicgen-small",
    temperature: float = 1.0,
    top_k: int = 250,
    top_p: float = 0.0,
    cfg_scale: float = 3.0,
    seed: int | None = None,
    progress_callback: Callable[[float], None] | None = None,
    output_file: str | os.PathLike | None = None,
    extend_stride: float = EXTEND_STRIDE,
) -> api.GenerationResult:
    """Generate up to 5 minutes from a text prompt: ``generate``'s arguments, ``duration`` in
    (0, 300] s.  Past 30 s the take is built from 30 s windows, each prompted by the last
    30 − ``extend_stride`` seconds of the one before (audiocraft's procedure); up to 30 s it is
    exactly ``generate``'s take for the same seed.  ``progress_callback`` runs over the whole
    take; raising in it cancels at whatever step is running."""
    knobs = check_long(prompt, duration, extend_stride, temperature, top_k, top_p, cfg_scale, seed, progress_callback)
    output_file = api._check_output_file(output_file)
    audio, engine, seed, _ = api._run(prompt, api.frames_for(knobs["duration"]), model, knobs,
                                   extend_stride=knobs["extend_stride"])
    return _finish(engine, np.array(audio), seed, {"prompt": prompt, "model": model, **_knob_params(knobs)}, output_file, 0)


def generate_continuation(
    audio,
    prompt: str,
    duration: float = 10.0,
    model: str = "musicgen-small",
    temperature: float = 1.0,
    top_k: int = 250,
    top_p: float = 0.0,
    cfg_scale: float = 3.0,
    seed: int | None = None,
    progress_callback: Callable[[float], None] | None = None,
    output_file: str | os.PathLike | None = None,
    sample_rate: int | None = None,
    *,
    extend_stride: float = EXTEND_STRIDE,
    stop: Callable[[], bool] | None = None,
) -> api.GenerationResult:
    """Continue ``audio`` for ``duration`` seconds of new music, guided by the text ``prompt``.

    ``audio``: a file path, an array (channels, samples) or (samples,) at ``sample_rate`` (None:
    the model's 32 kHz), or an AudioData; converted to the model's channels (mono: the mean;
    stereo: a mono prompt on both sides) and resampled with soxr.  It must be shorter than the
    model's 30 s context.  Returns the prompt followed by its continuation, decoded together
    from codes (``result.duration`` = prompt + new); ``result.prompt_duration`` = the prompt's
    length in whole 20 ms code frames, where the new part starts.  When prompt + new exceed
    30 s the take continues window by window as ``generate_long``'s (total up to 300 s).
    ``stop()``: asked as decoding advances; once it returns True decoding ends and the result
    is the prompt followed by the new music made so far, in whole code frames
    (``result.stopped`` is True); stopped before any new frame, a ValueError.
    The other arguments are ``generate``'s."""
    knobs = check_long(prompt, duration, extend_stride, temperature, top_k, top_p, cfg_scale, seed, progress_callback)
    output_file = api._check_output_file(output_file)
    if stop is not None and not callable(stop):
        raise ValueError(f"stop must be callable() -> bool or None, got {stop!r}")
    engine = api.load_model(model)
    samples = prompt_audio.load(audio, sample_rate, engine.sample_rate, engine.audio_channels)
    window = window_frames()
    prompt_frames = -(-samples.shape[1] // engine.samples_per_frame)
    if prompt_frames >= window:
        raise ValueError(f"the audio prompt is {samples.shape[1] / engine.sample_rate:.2f} s; it must be shorter than "
                         f"the model's {WINDOW_SECONDS:g} s context (pass its last seconds)")
    total = prompt_frames + api.frames_for(knobs["duration"])
    if total > round(MAX_LONG_DURATION * api.FRAME_RATE):
        raise ValueError(f"prompt ({prompt_frames / api.FRAME_RATE:g} s) + duration ({knobs['duration']:g} s) is over "
                         f"the longest take, {MAX_LONG_DURATION:g} s")
    prompt_codes = np.array(engine.encode_audio(samples[None])[0])
    out, engine, seed, stopped = api._run(prompt, total, model, knobs, stop=stop, prompt_codes=prompt_codes,
                                       extend_stride=knobs["extend_stride"])
    if stopped and out.shape[-1] <= prompt_frames * engine.samples_per_frame:
        raise ValueError("stopped before any new music was made: nothing to keep")
    params = {"prompt": prompt, "model": model, **_knob_params(knobs),
              "audio": str(audio) if isinstance(audio, (str, os.PathLike)) else None, "sample_rate": sample_rate}
    return _finish(engine, out, seed, params, output_file, prompt_frames, stopped)
