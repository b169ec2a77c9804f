"""Takes that fit a set: bar-exact lengths, seamless loops and short edge fades.

A bars take is generated a little longer than it must be, then cut to exactly
``round(bars * beats_per_bar * 60 / bpm * sample_rate)`` samples (the model makes whole 20 ms
frames, which a bar almost never is).  A loop also keeps what the model made past the loop
end and crossfades that tail into the head (equal power), so the sample after the last one is
the music's own continuation: played round, sample N-1 -> 0 is the step N-1 -> N the model made.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

DEFAULT_CROSSFADE = 0.040  # seconds: long enough to hide the seam, short against a 16th at 180 bpm
# A tempo already in the prompt ("tight funk break, 100 bpm"): the musician's text is left alone.
_TEMPO_IN_TEXT = re.compile(r"\d\s*(bpm|beats per minute)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Bars:
    """A take measured in bars: ``bars`` bars of ``beats_per_bar`` beats at ``bpm``; a seamless
    loop when ``loop``, with a ``crossfade`` seconds long equal-power seam."""

    bars: float
    bpm: float
    beats_per_bar: int = 4
    loop: bool = False
    crossfade: float = DEFAULT_CROSSFADE
    #: False for a plain length in seconds (``Bars.of_seconds``): no tempo to tell anyone.
    musical: bool = True

    @classmethod
    def of_seconds(cls, seconds: float, loop: bool = False, crossfade: float = DEFAULT_CROSSFADE) -> Bars:
        """A take of ``seconds`` exactly (as one "bar" of one beat at 60 bpm), e.g. a loop of
        a length in seconds; it carries no tempo (no acid chunk, nothing added to the prompt)."""
        return cls(seconds, 60.0, 1, loop, crossfade, musical=False)

    def __post_init__(self):
        for name, value, low in (("bars", self.bars, 0.0), ("bpm", self.bpm, 0.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if isinstance(self.beats_per_bar, bool) or not isinstance(self.beats_per_bar, int) or not 1 <= self.beats_per_bar <= 16:
            raise ValueError(f"beats_per_bar must be an integer in [1, 16], got {self.beats_per_bar!r}")
        if not (isinstance(self.crossfade, (int, float)) and 0 <= self.crossfade <= 1.0):
            raise ValueError(f"loop crossfade must be in [0, 1] seconds, got {self.crossfade!r}")

    @property
    def beats(self) -> int:
        return round(self.bars * self.beats_per_bar)

    @property
    def seconds(self) -> float:
        return self.bars * self.beats_per_bar * 60.0 / self.bpm

    def samples(self, sample_rate: int) -> int:
        """The take's exact length: round(bars × beats_per_bar × 60 / bpm × sample_rate),
        computed on the exact rationals of the given numbers (no float drift at .5)."""
        exact = Fraction(self.bars) * self.beats_per_bar * 60 * sample_rate / Fraction(self.bpm)
        return round(exact)

    def crossfade_samples(self, sample_rate: int) -> int:
        """The seam's length in samples; never more than the loop itself."""
        return min(round(self.crossfade * sample_rate), self.samples(sample_rate)) if self.loop else 0

    def needed_samples(self, sample_rate: int) -> int:
        """What must be generated (at ``sample_rate``): the take, plus the tail a loop fades in."""
        return self.samples(sample_rate) + self.crossfade_samples(sample_rate)

    def frames(self, frame_rate: float, sample_rate: int) -> int:
        """Model frames to generate so that at least ``needed_samples`` exist at ``sample_rate``
        after any resampling: whole frames rounded up, plus one spare for the resampler's edge."""
        return math.ceil(self.needed_samples(sample_rate) * frame_rate / sample_rate) + 1

    def fit(self, available: int, sample_rate: int) -> Bars | None:
        """The longest take in whole bars (else whole beats) that ``available`` samples hold,
        tail included for a loop: what a stopped job keeps.  None when not even one beat."""
        for unit in (1.0, 1.0 / self.beats_per_bar):
            one = replace(self, bars=unit).samples(sample_rate)
            for count in range(min(math.floor(self.bars / unit + 1e-9), available // one), 0, -1):
                candidate = replace(self, bars=count * unit)
                if candidate.needed_samples(sample_rate) <= available:
                    return candidate
        return None

    def prompt(self, text: str, template: str = ", {bpm} bpm") -> str:
        """``text`` with the tempo said the way musicians write it ("…, 130 bpm"), unless it
        names a tempo already or ``template`` is empty.  Fields: {bpm}, {bars}, {beats_per_bar}."""
        if not template or not self.musical or _TEMPO_IN_TEXT.search(text):
            return text
        return text.rstrip() + template.format(bpm=f"{self.bpm:g}", bars=f"{self.bars:g}", beats_per_bar=self.beats_per_bar)


def cut(audio: np.ndarray, samples: int) -> np.ndarray:
    """The first ``samples`` samples of (channels, n) ``audio``; an error if there are fewer."""
    if audio.shape[-1] < samples:
        raise ValueError(f"the take has {audio.shape[-1]} samples, fewer than the {samples} needed")
    return audio[..., :samples]


def equal_power(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) over ``length`` samples: sin/cos of a quarter turn, so
    fade_in² + fade_out² = 1 (constant power for uncorrelated signals); fade_out starts at
    exactly 1 and fade_in at exactly 0."""
    t = np.arange(length, dtype=np.float64) * (np.pi / 2 / max(length, 1))
    return np.sin(t), np.cos(t)


def loop(audio: np.ndarray, samples: int, crossfade: int) -> np.ndarray:
    """A seamless loop ``samples`` long from (channels, n) ``audio`` that runs on past it: the
    ``crossfade`` samples after the loop end are faded out over the loop's first ``crossfade``
    samples while the head fades in.  Sample 0 is then the model's sample ``samples`` (the
    music's continuation), so playing the loop round is sample-for-sample the model's own step
    from N-1 to N; after the seam the loop is the take itself."""
    crossfade = min(crossfade, samples)
    audio = cut(audio, samples + crossfade)
    out = audio[..., :samples].astype(np.float64, copy=True)
    if crossfade:
        fade_in, fade_out = equal_power(crossfade)
        out[..., :crossfade] = audio[..., :crossfade] * fade_in + audio[..., samples:samples + crossfade] * fade_out
    return out.astype(np.float32)


def fade_edges(audio: np.ndarray, sample_rate: int, fade_in: float, fade_out: float) -> np.ndarray:
    """Raised-cosine fades (seconds) at the start and end of a one-shot, so its first and last
    samples are zero and it starts and stops without a click.  Each fade is at most half the take."""
    out = np.array(audio, dtype=np.float32, copy=True)
    n = out.shape[-1]
    for seconds, edge in ((fade_in, "in"), (fade_out, "out")):
        length = min(round(seconds * sample_rate), n // 2)
        if length <= 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(length) / length)).astype(np.float32)
        if edge == "in":
            out[..., :length] *= ramp
        else:
            out[..., n - length:] *= ramp[::-1]
    return out
