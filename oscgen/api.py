"""The library's face: ``oscgen.generate(prompt, ...)`` → ``GenerationResult``.

Models load on first use and stay cached, so a second call (and the daemon's warm worker) pays
only for generation.  Every argument is checked up front; a bad one raises ValueError naming it
and its allowed range.
"""

from __future__ import annotations

import math
import numbers
import os
import secrets
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oscgen.audio import sound_format, write_audio
from oscgen.knobs import MAX_DURATION  # noqa: F401 (re-exported: the knob table's, one source)

SAMPLE_RATE = 32000
FRAME_RATE = 50  # EnCodec 32 kHz: one code frame per 640 samples
MAX_TAKES = 64  # takes in one batched pass (generate_variations, generate_batch, warm_up)
MAX_SEED = 2**32 - 1
#: Random seeds are drawn below this, so they fit an OSC int32 when the daemon reports them.
RANDOM_SEED_BOUND = 2**31
NOISE_WARNING = "random weights: the output is noise, not music"



class AudioData:
    """Audio as (channels, samples) float32 at ``sample_rate``."""

    def __init__(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE):
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[None]
        self._samples = samples
        self.sample_rate = int(sample_rate)

    @property
    def shape(self) -> tuple[int, int]:
        return self._samples.shape

    @property
    def channels(self) -> int:
        return self._samples.shape[0]

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self._samples.shape[1] / self.sample_rate

    def numpy(self) -> np.ndarray:
        """The samples, (channels, samples) float32 (a copy: changing it leaves this intact)."""
        return self._samples.copy()

    def __array__(self, dtype=None, copy=None):
        return self._samples if dtype is None else self._samples.astype(dtype)

    def save(self, path: str | os.PathLike, *, subtype: str | None = None) -> Path:
        """Write the audio (format from the extension; .wav is 16-bit PCM unless ``subtype``
        says e.g. "FLOAT").  The file appears complete or not at all."""
        return write_audio(path, self._samples, self.sample_rate, subtype=subtype)

    def __repr__(self) -> str:
        return f"AudioData(shape={self.shape}, sample_rate={self.sample_rate}, duration={self.duration:.2f}s)"


class GenerationResult:
    """What ``generate`` returns: the audio, the seed actually used, and every parameter, so any
    result can be regenerated bit for bit with ``generate(**result.params)``."""

    def __init__(self, audio: AudioData, seed: int, params: dict, *, random_weights: bool = False,
                 model_path: str | None = None, take=None, text: str | None = None, stopped: bool = False,
                 prompt_duration: float = 0.0):
        self.audio = audio
        self.seed = seed
        self.params = params
        #: True when the model has random weights (tiny-random): the audio is noise.
        self.random_weights = random_weights
        #: The checkpoint folder the model was loaded from.
        self.model_path = model_path
        #: ``generate_take``'s oscgen.audio.Take (bars, loop, gain), whose tempo and loop the
        #: saved WAV carries; None for ``generate``.
        self.take = take
        #: The text the model was given (the prompt, with the tempo added in bars mode).
        self.text = text if text is not None else params.get("prompt")
        #: True when the job was stopped early and this is the audio made until then.
        self.stopped = stopped
        #: Seconds of audio prompt the audio starts with (generate_continuation: where the new
        #: part begins); 0 otherwise.
        self.prompt_duration = prompt_duration

    @property
    def sample_rate(self) -> int:
        return self.audio.sample_rate

    @property
    def duration(self) -> float:
        return self.audio.duration

    @property
    def warning(self) -> str | None:
        return f"{self.params.get('model')}: {NOISE_WARNING}" if self.random_weights else None

    def save(self, path: str | os.PathLike, *, subtype: str | None = None) -> Path:
        """Write the audio; a take's WAV also carries its tempo (acid) and loop (smpl) chunks."""
        if self.take is None:
            return self.audio.save(path, subtype=subtype)
        return write_audio(path, self.audio.numpy(), self.sample_rate, subtype=subtype, chunks=self.take.chunks())

    def __repr__(self) -> str:
        return f"GenerationResult(duration={self.duration:.2f}s, seed={self.seed}, model={self.params.get('model')!r})"


# ------------------------------------------------------------------------------------- models

_lock = threading.Lock()
_loaded: dict[str, object] = {}  # model name → MusicGen; one model kept warm at a time


def load_model(model: str | os.PathLike, dtype: str | None = None, bits: int | None = None):
    """Load ``model`` (musicgen-small, musicgen-medium, tiny-random, a hub repo id or a local
    folder, as a str or a Path) and keep it cached; returns the engine (oscgen.musicgen.pipeline.MusicGen).

    ``dtype`` ("float32", "float16", "bfloat16") and ``bits`` (8 or 4: quantized decoder) pick
    the weights' precision (MusicGen.from_pretrained with dtype/bits: converted while loading, so
    the float32 weights are never all in memory).  Left out, the warm model is used whatever
    its precision, and a fresh load is float16 on a GPU and float32 on a CPU (``default_dtype``);
    a different precision than the warm one reloads.

    Raises oscgen.musicgen.weights.ModelNotFoundError (a ValueError) when it cannot be found."""
    model = os.fspath(model) if isinstance(model, os.PathLike) else model
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string: musicgen-small, musicgen-medium, tiny-random, "
                         "a hub repo id or a local folder")
    model = model.strip()
    from oscgen.musicgen import quantize

    quantize.check_precision(dtype, bits)
    with _lock:
        warm = _loaded.get(model)
        if warm is not None and dtype is None and bits is None:
            return warm
        dtype = dtype or default_dtype()
        if warm is not None and warm.decoder_precision == quantize.describe(dtype, bits):
            return warm
        from oscgen.musicgen import weights

        weights.resolve_model_dir(model)  # a bad name fails here, keeping the warm model
        _unload()  # one model warm at a time: free the previous one before loading the next
        from oscgen.musicgen.pipeline import MusicGen

        engine = MusicGen.from_pretrained(model, dtype, bits)
        _loaded[model] = engine
    if engine.random_weights:
        warnings.warn(f"{model}: {NOISE_WARNING}", UserWarning, stacklevel=2)
    return engine


def default_dtype() -> str:
    """The decoder precision a model loads at when none is asked for: float16 on a GPU (half the
    bytes a step reads; teacher-forced logits within 0.06 % of float32, benchmarks/RESULTS.md),
    float32 on a CPU, where MLX's half-precision matmuls run ~10x slower than MKL's float32."""
    from oscgen.musicgen.layers import on_gpu

    return "float16" if on_gpu() else "float32"


def unload_model() -> None:
    """Free the warm model (its weights and compiled steps); the next call loads it again."""
    with _lock:
        _unload()


def _unload() -> None:
    if not _loaded:
        return
    import gc

    import mlx.core as mx

    _loaded.clear()
    gc.collect()  # compiled steps hold the model in a reference cycle
    mx.clear_cache()


# ------------------------------------------------------------------------------------- checks


def _real(name: str, value, low: float, high: float, *, low_open: bool = False, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number {rule}, got {value!r}")
    value = float(value)
    if value < low or value > high or (low_open and value == low):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return value


def _integer(name: str, value, low: int, high: int, *, rule: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer {rule}, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be {rule}, got {value}")
    return value


def check_arguments(prompt, duration, temperature, top_k, top_p, cfg_scale, seed, progress_callback,
                    max_duration: float = MAX_DURATION) -> dict:
    """Validate ``generate``'s knobs (``duration`` up to ``max_duration``: the model's 30 s, or
    more for the windowed long path); returns them normalised (floats/ints)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string")
    return {
        "duration": _real("duration", duration, 0.0, max_duration, low_open=True,
                          rule=f"in (0, {max_duration:g}] seconds"),
        "temperature": _real("temperature", temperature, 0.0, math.inf, low_open=True, rule="> 0"),
        "top_k": _integer("top_k", top_k, 0, 2**31 - 1, rule=">= 0 (0 = off, 1 = greedy)"),
        "top_p": _real("top_p", top_p, 0.0, 1.0, rule="in [0, 1] (0 = off)"),
        "cfg_scale": _real("cfg_scale", cfg_scale, 1.0, math.inf, rule=">= 1 (1 = no guidance)"),
        "seed": None if seed is None else _integer("seed", seed, 0, MAX_SEED, rule=f"None or in [0, {MAX_SEED}]"),
        "progress_callback": _callable_or_none(progress_callback),
    }


def _callable_or_none(callback):
    if callback is not None and not callable(callback):
        raise ValueError(f"progress_callback must be callable(fraction) or None, got {callback!r}")
    return callback


def frames_for(duration: float) -> int:
    """Code frames for ``duration`` seconds: round(duration * 50), at least 1."""
    return max(1, round(duration * FRAME_RATE))


# ------------------------------------------------------------------------------------- generate


def generate(
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
) -> GenerationResult:
    """Generate ``duration`` seconds of 32 kHz mono audio from a text prompt.

    - ``temperature`` > 0 divides the logits; ``top_k`` keeps the k most likely codes (0 = off,
      1 = greedy); ``top_p`` keeps the smallest set with that much probability (0 = off);
      ``cfg_scale`` >= 1 weighs the prompt against an unconditional pass (1 = off).
    - ``seed``: same seed and arguments → bit-identical audio; None draws one (``result.seed``).
    - ``progress_callback(fraction)`` is called as decoding advances and finally with 1.0; if it
      raises, generation stops and the exception propagates (that is how callers cancel).
    - ``output_file``: also write the audio there (WAV by extension; written atomically).
    """
    knobs = check_arguments(prompt, duration, temperature, top_k, top_p, cfg_scale, seed, progress_callback)
    output_file = _check_output_file(output_file)
    audio, engine, seed, _ = _run(prompt, frames_for(knobs["duration"]), model, knobs)
    params = {
        "prompt": prompt,
        "duration": knobs["duration"],
        "model": model,
        "temperature": knobs["temperature"],
        "top_k": knobs["top_k"],
        "top_p": knobs["top_p"],
        "cfg_scale": knobs["cfg_scale"],
        "seed": seed,
        "output_file": None if output_file is None else str(output_file),
    }
    result = _result(AudioData(np.array(audio), engine.sample_rate), seed, params, engine)
    if output_file is not None:
        result.save(output_file)
    return result


def _run(text: str, frames: int, model: str, knobs: dict, stop: Callable[[], bool] | None = None, *,
         prompt_codes=None, extend_stride: float | None = None):
    """The engine call every generate function shares, one take through the batched core:
    (audio, engine, seed used, stopped: whether ``stop()`` ended it before its last frame;
    then the audio holds the complete frames made until then).  Takes past the model's 30 s,
    or continuing ``prompt_codes`` (K, P), go window by window (oscgen.continuation.windowed,
    ``extend_stride`` seconds a window; ``stop()`` is honoured between windows)."""
    import dataclasses

    from oscgen import continuation
    from oscgen.musicgen.batch import Stop
    from oscgen.musicgen.pipeline import DECODE_SHARE

    engine = load_model(model)
    seed = knobs["seed"] if knobs["seed"] is not None else secrets.randbelow(RANDOM_SEED_BOUND)
    if prompt_codes is not None or frames > continuation.window_frames():
        stride = continuation.EXTEND_STRIDE if extend_stride is None else extend_stride
        audio, stopped = continuation.windowed(engine, text, frames, knobs, seed, prompt_codes, stride, stop)
        return audio, engine, seed, stopped
    progress, halt = knobs["progress_callback"], None
    if stop is not None:
        halt, user_progress = Stop(), progress

        def progress(fraction: float) -> None:
            if fraction < DECODE_SHARE and stop():  # asked while decoding: the core keeps its frames
                halt.stop()
            if user_progress is not None:
                user_progress(fraction)

    take = dataclasses.replace(engine.take(text, frames, seed), temperature=knobs["temperature"],
                               top_p=knobs["top_p"], cfg_scale=knobs["cfg_scale"])
    (codes,) = engine.generate_takes([take], top_k=knobs["top_k"], progress=progress, stop=halt)
    if codes.shape[-1]:
        audio = engine.decode_audio(codes[None], progress)[0]
    else:  # stopped before its first complete frame
        audio = np.zeros((engine.audio_channels, 0), np.float32)
    if progress is not None:
        progress(1.0)
    return audio, engine, seed, codes.shape[-1] < frames


def _result(audio: AudioData, seed: int, params: dict, engine, **extra) -> GenerationResult:
    return GenerationResult(audio, seed, params, random_weights=engine.random_weights,
                            model_path=None if engine.model_dir is None else str(engine.model_dir), **extra)


def _check_output_file(output_file):
    if output_file is None:
        return None
    output_file = Path(output_file)
    # a bad extension or a missing folder fails now, not after minutes of generation
    sound_format(output_file)
    if not output_file.parent.is_dir():
        raise ValueError(f"output_file's folder {str(output_file.parent)!r} does not exist")
    return output_file


def warm_up(
    model: str = "musicgen-small",
    *,
    top_k: int = 250,
    top_p: float = 0.0,
    cfg_scale: float = 3.0,
    max_duration: float = MAX_DURATION,
    audio_duration: float = 1.0,
    takes: int = 1,
) -> dict[str, float]:
    """Load ``model`` and compile everything a job of ``takes`` variations with these knobs and
    a short prompt runs, for any duration up to ``max_duration`` (see MusicGen.warm_up); returns
    the seconds each part took.  Later ``generate`` calls with the same top_k / top_p on / guidance on then start at
    full speed instead of paying for tracing (a CPU) or kernel compilation (a fresh GPU).
    EnCodec is run on ``audio_duration`` seconds: on a GPU its convolutions are planned per
    length, so the duration the next takes will have is the one worth warming."""
    knobs = check_arguments("warm-up", max_duration, 1.0, top_k, top_p, cfg_scale, None, None)
    audio = _real("audio_duration", audio_duration, 0.0, MAX_DURATION, low_open=True,
                  rule=f"in (0, {MAX_DURATION:g}] seconds")
    takes = _integer("takes", takes, 1, MAX_TAKES, rule=f"in [1, {MAX_TAKES}]")
    engine = load_model(model)
    return engine.warm_up(frames_for(knobs["duration"]), top_k=knobs["top_k"], top_p=knobs["top_p"],
                          cfg_scale=knobs["cfg_scale"], audio_frames=frames_for(audio), takes=takes)


def __getattr__(name):
    # ModelNotFoundError lives with the weights code, which imports MLX; resolve it lazily so
    # ``oscgen.api`` stays importable without loading MLX (the daemon's OSC process imports it).
    if name == "ModelNotFoundError":
        from oscgen.musicgen.weights import ModelNotFoundError

        return ModelNotFoundError
    raise AttributeError(f"module 'oscgen.api' has no attribute {name!r}")
