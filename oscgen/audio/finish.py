"""From what the model made to a file a producer drags into a set: resample, cut to the bar
(or loop), fade a one-shot's edges, normalise, and the WAV chunks that carry tempo and loop."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oscgen.audio import levels, riff, takes
from oscgen.audio.takes import Bars


@dataclass(frozen=True)
class Finish:
    """How a take is made set-ready.  The defaults change nothing (the library's raw output);
    the daemon and the CLI take theirs from config.toml's [output] table."""

    sample_rate: int = 0  # output rate in Hz; 0 = the model's own (32 kHz)
    fade_in: float = 0.0  # seconds, one-shots only (a loop's edges are its seam)
    fade_out: float = 0.0
    normalize: str = "off"  # "off", "peak" or "loudness" (levels.normalize)
    peak_db: float = -1.0  # peak target / ceiling, dBFS
    loudness_lufs: float = -14.0  # loudness target, LUFS (BS.1770 integrated)

    def __post_init__(self):
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int) or not (
                self.sample_rate == 0 or 8000 <= self.sample_rate <= 192000):
            raise ValueError(f"sample_rate must be 0 (the model's) or an integer in [8000, 192000] Hz, got {self.sample_rate!r}")
        for name in ("fade_in", "fade_out"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 10:
                raise ValueError(f"{name} must be in [0, 10] seconds, got {value!r}")
        if self.normalize not in levels.NORMALIZE_MODES:
            raise ValueError(f"normalize must be one of {', '.join(levels.NORMALIZE_MODES)}, got {self.normalize!r}")
        if not (isinstance(self.peak_db, (int, float)) and -60 <= self.peak_db <= 0):
            raise ValueError(f"peak_db must be in [-60, 0] dBFS, got {self.peak_db!r}")
        if not (isinstance(self.loudness_lufs, (int, float)) and -70 <= self.loudness_lufs <= 0):
            raise ValueError(f"loudness_lufs must be in [-70, 0] LUFS, got {self.loudness_lufs!r}")

    def rate(self, model_rate: int) -> int:
        return self.sample_rate or model_rate


@dataclass(frozen=True)
class Take:
    """A finished take: (channels, samples) float32 at ``sample_rate``; ``bars`` when it is
    measured in bars (then exactly ``bars.samples(sample_rate)`` long), ``gain_db`` applied."""

    audio: np.ndarray
    sample_rate: int
    bars: Bars | None = None
    gain_db: float = 0.0

    @property
    def samples(self) -> int:
        return self.audio.shape[-1]

    @property
    def tempo(self) -> riff.Tempo | None:
        if self.bars is None or not self.bars.musical:
            return None
        return riff.Tempo(self.bars.bpm, self.bars.beats, self.bars.beats_per_bar, one_shot=False)

    @property
    def loop(self) -> riff.Loop | None:
        return riff.Loop(0, self.samples) if self.bars is not None and self.bars.loop else None

    def chunks(self) -> list[tuple[bytes, bytes]]:
        """The WAV chunks for this take: ``acid`` for a bars take, ``smpl`` for a loop."""
        return riff.metadata_chunks(self.tempo, self.loop, self.sample_rate)


def finish(audio, sample_rate: int, spec: Finish = Finish(), bars: Bars | None = None) -> Take:
    """Resample to ``spec``'s rate, then cut to ``bars`` exactly (a seamless loop if
    ``bars.loop``), fade a one-shot's edges, normalise.  Resampling comes first so the cut is
    exact at the rate the file has.  ``audio`` must hold ``bars.needed_samples`` at the output
    rate (``Bars.frames`` says how many model frames that is); ValueError if it does not."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    rate = spec.rate(sample_rate)
    audio = levels.resample(audio, sample_rate, rate)
    if bars is not None and bars.loop:
        audio = takes.loop(audio, bars.samples(rate), bars.crossfade_samples(rate))
    else:
        if bars is not None:
            audio = takes.cut(audio, bars.samples(rate))
        audio = takes.fade_edges(audio, rate, spec.fade_in, spec.fade_out)
    audio, gain = levels.normalize(audio, rate, spec.normalize, peak=spec.peak_db, loudness=spec.loudness_lufs)
    return Take(audio, rate, bars, gain)


def stopped(audio, sample_rate: int, spec: Finish, bars: Bars | None) -> Take | None:
    """What a job stopped early keeps: in bars mode the whole bars (else beats) made so far,
    still a seamless loop if it was one; None when not even one beat was made (or no audio)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.shape[-1] == 0:
        return None
    if bars is None:
        return finish(audio, sample_rate, spec)
    rate = spec.rate(sample_rate)
    available = math.floor(audio.shape[-1] * rate / sample_rate)  # soxr keeps the duration
    kept = bars.fit(available, rate)
    return None if kept is None else finish(audio, sample_rate, spec, kept)
