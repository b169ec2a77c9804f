"""Audio prompts for continuation: whatever a caller hands in (a file path, an array, an
``AudioData``) as float32 (channels, samples) at the model's rate and channel count.

Channels follow audiocraft's ``convert_audio_channels`` (what someone moving from audiocraft
expects): mono models take the mean of the channels, stereo models duplicate a mono prompt or
keep the first two channels of a wider one.  Resampling is soxr's (VHQ), a well-kept resampler.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from oscgen.audio.levels import resample

#: Channel counts read from a file or array before conversion (more is surely a mistake, e.g. a
#: (samples, channels) array passed the wrong way round).
MAX_CHANNELS = 8


def load(audio, sample_rate: int | None, model_rate: int, channels: int) -> np.ndarray:
    """``audio`` (path, (channels, samples) / (samples,) array, or AudioData) → float32
    (channels, samples) at ``model_rate``.  ``sample_rate`` is the rate of an array (None: it
    is already at ``model_rate``); a file or AudioData carries its own, and a ``sample_rate``
    that disagrees with it is an error.  Raises ValueError naming the problem."""
    from oscgen.api import AudioData

    if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0):
        raise ValueError(f"sample_rate must be a positive integer (Hz) or None, got {sample_rate!r}")
    if isinstance(audio, (str, os.PathLike)):
        samples, rate = read_file(Path(audio))
    elif isinstance(audio, AudioData):
        samples, rate = audio.numpy(), audio.sample_rate
    elif isinstance(audio, np.ndarray) or hasattr(audio, "__array__"):
        samples, rate = _array(audio), sample_rate or model_rate
    else:
        raise ValueError(f"audio must be a file path, a (channels, samples) or (samples,) array, or an AudioData; "
                         f"got {type(audio).__name__}")
    if sample_rate is not None and sample_rate != rate:
        raise ValueError(f"sample_rate={sample_rate} disagrees with the audio's own rate of {rate} Hz")
    if samples.shape[1] == 0:
        raise ValueError("the audio prompt is empty (0 samples)")
    if not np.isfinite(samples).all():
        raise ValueError("the audio prompt contains NaN or infinite samples")
    samples = convert_channels(samples, channels)
    samples = resample(samples, rate, model_rate)
    return np.ascontiguousarray(samples, dtype=np.float32)


def read_file(path: Path) -> tuple[np.ndarray, int]:
    """A sound file's samples (channels, samples) float32 and rate; ValueError if it is missing
    or not audio soundfile can read."""
    import soundfile as sf

    if not path.is_file():
        raise ValueError(f"audio prompt {str(path)!r} is not a file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(f"cannot read audio prompt {str(path)!r}: {exc}") from None
    if data.shape[1] > MAX_CHANNELS:
        raise ValueError(f"audio prompt {str(path)!r} has {data.shape[1]} channels; at most {MAX_CHANNELS}")
    return data.T, int(rate)


def _array(audio) -> np.ndarray:
    samples = np.asarray(audio)
    if samples.dtype.kind not in "fiu":
        raise ValueError(f"audio must hold numbers, got dtype {samples.dtype}")
    samples = samples.astype(np.float32)
    if samples.ndim == 1:
        return samples[None]
    if samples.ndim != 2:
        raise ValueError(f"audio must be (channels, samples) or (samples,), got shape {samples.shape}")
    if samples.shape[0] > MAX_CHANNELS:
        raise ValueError(f"audio of shape {samples.shape} has {samples.shape[0]} channels; pass "
                         "(channels, samples) (a (samples, channels) array needs .T)")
    return samples


def convert_channels(samples: np.ndarray, channels: int) -> np.ndarray:
    """(c, n) → (channels, n) as audiocraft's convert_audio_channels."""
    have = samples.shape[0]
    if have == channels:
        return samples
    if channels == 1:
        return samples.mean(axis=0, keepdims=True)
    if have == 1:
        return np.repeat(samples, channels, axis=0)
    return samples[:channels]
