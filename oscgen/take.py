"""``oscgen.generate_take``: a take that fits a set.  Bar-exact at a tempo (the tempo said in the
prompt), optionally a seamless loop, at the sample rate and level the session wants, saved with
its tempo and loop in the WAV.  ``generate`` (the seed's API) stays the raw model output; this
is the same engine call followed by oscgen.audio's finishing."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from oscgen import api
from oscgen.audio import Bars, Finish, finish as finish_take, stopped as stopped_take
from oscgen.audio.takes import DEFAULT_CROSSFADE
from oscgen.knobs import LONG_MAX_DURATION

DEFAULT_TEMPO_TEXT = ", {bpm} bpm"


def generate_take(
    prompt: str,
    duration: float | None = None,
    *,
    bars: float | None = None,
    bpm: float = 120.0,
    beats_per_bar: int = 4,
    loop: bool = False,
    crossfade: float = DEFAULT_CROSSFADE,
    tempo_text: str = DEFAULT_TEMPO_TEXT,
    finish: Finish | dict | None = None,
    model: str = "musicgen-small",
    temperature: float = 1.0,
    top_k: int = 250,
    top_p: float = 0.0,
    cfg_scale: float = 3.0,
    seed: int | None = None,
    progress_callback: Callable[[float], None] | None = None,
    output_file: str | os.PathLike | None = None,
    extend_stride: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> api.GenerationResult:
    """Generate a take of ``bars`` bars at ``bpm`` (exactly round(bars × beats_per_bar × 60 / bpm
    × sample_rate) samples), or of ``duration`` seconds when ``bars`` is None or 0: up to 300 s,
    past 30 s window by window (oscgen.generate_long's procedure, ``extend_stride`` seconds a
    window after the first; None = audiocraft's 18).

    - ``loop``: a seamless loop (the music past the loop end crossfaded into the head over
      ``crossfade`` seconds, equal power); with ``duration`` a loop of exactly that many seconds.
    - ``tempo_text``: appended to the prompt in bars mode ("…, 130 bpm") unless the prompt names
      a tempo already; "" = never.  Fields {bpm}, {bars}, {beats_per_bar}.
    - ``finish``: sample rate, one-shot fades, normalisation (oscgen.audio.Finish or its fields
      as a dict); None = none of them (32 kHz, the model's levels).
    - ``stop()``: asked as decoding advances; once it returns True decoding ends and the take
      keeps what was made: in bars mode the whole bars (else whole beats) made so far, still a
      loop if it was one (``result.stopped`` is True).  Less than one beat is a ValueError.
    - the other knobs are ``generate``'s.  ``result.take`` has the bars and the gain applied,
      ``result.text`` what the model was given; ``generate_take(**result.params)`` regenerates it,
      and ``result.save(path)`` writes the tempo (acid) and loop (smpl) chunks into a WAV.
    """
    plan = check_take(prompt, duration, bars, bpm, beats_per_bar, loop, crossfade, tempo_text, finish,
                      temperature, top_k, top_p, cfg_scale, seed, progress_callback)
    spec, finish, knobs, text = plan["length"], plan["finish"], plan["knobs"], plan["text"]
    output_file = api._check_output_file(output_file)
    if extend_stride is not None:
        from oscgen.continuation import check_stride

        extend_stride = check_stride(extend_stride)
    if stop is not None and not callable(stop):
        raise ValueError(f"stop must be callable() -> bool or None, got {stop!r}")
    audio, engine, seed, stopped = api._run(text, plan["frames"], model, knobs, stop=stop, extend_stride=extend_stride)
    take = _finished(audio, engine.sample_rate, finish, spec, stopped)
    params = take_params(plan, prompt, bpm, beats_per_bar, loop, crossfade, tempo_text, model, seed,
                         output_file=None if output_file is None else str(output_file), extend_stride=extend_stride)
    result = api._result(api.AudioData(take.audio, take.sample_rate), seed, params, engine, take=take, text=text,
                         stopped=stopped)
    if output_file is not None:
        result.save(output_file)
    return result


def check_take(prompt, duration=None, bars=None, bpm=120.0, beats_per_bar=4, loop=False, crossfade=DEFAULT_CROSSFADE,
               tempo_text=DEFAULT_TEMPO_TEXT, finish=None, temperature=1.0, top_k=250, top_p=0.0, cfg_scale=3.0,
               seed=None, progress_callback=None) -> dict:
    """Check every argument of ``generate_take`` (ValueError naming the first bad one) before
    any model loads; returns {"length": Bars or None, "finish": Finish, "knobs": the checked
    sampling knobs, "text": what the model will be given, "frames": the frames to decode}."""
    spec = _length(duration, bars, bpm, beats_per_bar, loop, crossfade)
    finish = _finish(finish)
    if not isinstance(tempo_text, str):
        raise ValueError(f"tempo_text must be a string (\"\" = don't add the tempo), got {tempo_text!r}")
    seconds = spec.seconds if spec is not None else duration
    # plain takes may be long (windowed); bars and loops stay within the model's 30 s
    longest = LONG_MAX_DURATION if spec is None else api.MAX_DURATION
    knobs = api.check_arguments(prompt, seconds, temperature, top_k, top_p, cfg_scale, seed, progress_callback,
                                max_duration=longest)
    try:
        text = prompt if spec is None else spec.prompt(prompt, tempo_text)
    except (KeyError, ValueError, IndexError) as exc:
        raise ValueError(f"tempo_text {tempo_text!r}: {exc} (fields: {{bpm}}, {{bars}}, {{beats_per_bar}})") from None
    frames = (api.frames_for(knobs["duration"]) if spec is None
              else spec.frames(api.FRAME_RATE, finish.rate(api.SAMPLE_RATE)))
    return {"length": spec, "finish": finish, "knobs": knobs, "text": text, "frames": frames}


def take_params(plan: dict, prompt, bpm, beats_per_bar, loop, crossfade, tempo_text, model, seed,
                output_file: str | None = None, extend_stride: float | None = None) -> dict:
    """``result.params`` of a take checked by check_take and made with ``seed``: the arguments
    that make it again with ``generate_take(**params)``."""
    spec, knobs = plan["length"], plan["knobs"]
    musical = spec is not None and spec.musical
    return {
        "prompt": prompt, "duration": None if musical else knobs["duration"],
        "bars": spec.bars if musical else None, "bpm": bpm, "beats_per_bar": beats_per_bar,
        "loop": bool(loop), "crossfade": crossfade, "tempo_text": tempo_text, "finish": dataclasses.asdict(plan["finish"]),
        "model": model, "temperature": knobs["temperature"], "top_k": knobs["top_k"], "top_p": knobs["top_p"],
        "cfg_scale": knobs["cfg_scale"], "seed": seed, "output_file": output_file, "extend_stride": extend_stride,
    }


def _finished(audio, sample_rate: int, finish: Finish, spec: Bars | None, stopped: bool):
    """The finished take; a stopped one keeps its whole bars (beats) made so far."""
    audio = np.asarray(audio, dtype=np.float32)
    made = audio.shape[-1] * finish.rate(sample_rate) // sample_rate
    if not stopped or (spec is not None and made >= spec.needed_samples(finish.rate(sample_rate))):
        return finish_take(audio, sample_rate, finish, spec)
    take = stopped_take(audio, sample_rate, finish, spec)
    if take is None:
        unit = "one beat" if spec is not None and spec.musical else "any audio"
        raise ValueError(f"stopped after {audio.shape[-1] / sample_rate:.2f} s, before {unit} was made: nothing to keep")
    return take


def _length(duration, bars, bpm, beats_per_bar, loop, crossfade) -> Bars | None:
    """The take's exact length (None: a plain take of ``duration`` seconds in whole frames)."""
    if not isinstance(loop, bool):
        raise ValueError(f"loop must be True or False, got {loop!r}")
    if bars is not None and bars != 0:
        spec = Bars(bars, bpm, beats_per_bar, loop, crossfade)
        if spec.seconds > api.MAX_DURATION:
            raise ValueError(f"{bars:g} bars at {bpm:g} bpm is {spec.seconds:.1f} s; the longest is "
                             f"{api.MAX_DURATION:g} s (fewer bars or a faster tempo)")
        return spec
    if duration is None:
        raise ValueError("give a length: duration in seconds, or bars (with bpm)")
    if loop:
        api.check_arguments("x", duration, 1.0, 0, 0.0, 1.0, None, None)  # duration's own message
        return Bars.of_seconds(float(duration), True, crossfade)
    return None


def _finish(finish) -> Finish:
    if finish is None:
        return Finish()
    if isinstance(finish, dict):
        unknown = set(finish) - {f.name for f in dataclasses.fields(Finish)}
        if unknown:
            raise ValueError(f"finish: unknown option(s) {', '.join(sorted(unknown))}")
        return Finish(**finish)
    if not isinstance(finish, Finish):
        raise ValueError(f"finish must be an oscgen.audio.Finish, a dict of its fields or None, got {finish!r}")
    return finish
