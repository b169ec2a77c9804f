"""Sample rate and level for a DAW: resampling with soxr (its "very high quality" band-limited
filter), and peak or ITU-R BS.1770 loudness normalisation with pyloudnorm."""

from __future__ import annotations

import math

import numpy as np

NORMALIZE_MODES = ("off", "peak", "loudness")


def resample(audio: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    """(channels, n) ``audio`` at ``sample_rate`` -> at ``target`` Hz (same array when equal)."""
    if target == sample_rate:
        return audio
    import soxr

    out = soxr.resample(np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T), sample_rate, target, quality="VHQ")
    return np.ascontiguousarray(out.reshape(out.shape[0], -1).T)


def peak_db(audio: np.ndarray) -> float:
    """The sample peak in dBFS (-inf for silence)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4, K-weighted, gated) in LUFS; -inf for silence.
    Raises ValueError for audio shorter than one 400 ms gating block."""
    import pyloudnorm

    audio = np.asarray(audio, dtype=np.float64)
    if audio.shape[-1] < round(0.4 * sample_rate):
        raise ValueError(f"loudness needs at least 0.4 s of audio, got {audio.shape[-1] / sample_rate:.3f} s")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio.T))


def normalize(audio: np.ndarray, sample_rate: int, mode: str, *, peak: float = -1.0,
              loudness: float = -14.0) -> tuple[np.ndarray, float]:
    """Returns (audio with one gain applied, the gain in dB).

    - "peak": the sample peak becomes ``peak`` dBFS.
    - "loudness": the integrated loudness becomes ``loudness`` LUFS, but never with the sample
      peak above ``peak`` dBFS (a quiet, spiky take stays below the ceiling instead of clipping);
      a take under 0.4 s (too short to measure) is peak-normalised.
    - "off": unchanged.  Silence is never amplified."""
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE_MODES)}, got {mode!r}")
    current_peak = peak_db(audio)
    if mode == "off" or current_peak == -math.inf:
        return audio, 0.0
    gain = peak - current_peak
    if mode == "loudness":
        try:
            current = loudness_lufs(audio, sample_rate)
        except ValueError:
            current = -math.inf
        if current > -math.inf:
            gain = min(loudness - current, gain)
    return (np.asarray(audio, dtype=np.float64) * 10 ** (gain / 20)).astype(np.float32), gain
