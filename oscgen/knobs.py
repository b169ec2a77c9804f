"""The generation knobs a performer turns: their names, types and allowed values.

One table read by config validation (``[defaults]`` in config.toml), the daemon's knob state
(OSC and MIDI changes) and the README's address table.  Kept beside ``config.py`` at the bottom
of the package because both the config loader and ``oscgen/service`` check values against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_DURATION = 30.0  # seconds; the model's context, one window (frames = round(duration * 50))
LONG_MAX_DURATION = 300.0  # seconds; longer takes are windowed (config [long] max_duration allows them)


def duration_knob(max_duration: float = MAX_DURATION) -> "Knob":
    """The duration knob with its upper end at ``max_duration`` (config [long] max_duration)."""
    import dataclasses

    knob = KNOBS["duration"]
    return knob if max_duration == knob.high else dataclasses.replace(knob, high=float(max_duration))
MAX_PROMPT_CHARS = 2000
MAX_VARIATIONS = 8  # takes one /oscgen/generate may ask for
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Knob:
    name: str
    kind: type  # float, int or str
    meaning: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the low end itself is not allowed, e.g. duration (0, 30]
    extra: tuple = ()  # single values allowed outside the range, e.g. seed -1

    @property
    def osc_tag(self) -> str:
        return {float: "f", int: "i", str: "s"}[self.kind]

    def allowed(self) -> str:
        """What a valid value looks like, for error messages and the README."""
        if self.kind is str:
            return "a non-empty string"
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            text = f"{noun} in {left}{_fmt(self.low)}, {_fmt(self.high)}]"
        elif self.low is not None:
            text = f"{noun} {'>' if self.low_open else '>='} {_fmt(self.low)}"
        else:
            text = noun
        for value in self.extra:
            text += f" or {_fmt(value)}"
        return text

    def check(self, value, *, round_floats: bool = False):
        """Return ``value`` as this knob's type, or raise ValueError naming the knob and what is
        allowed.  Ints are accepted for float knobs; floats with no fraction for int knobs, and any
        float when ``round_floats`` (a Pd slider or a Max dial sends 249.7 for top_k)."""
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
            value = value.strip()
            if not value:
                raise ValueError(f"{self.name} must be {self.allowed()}, got an empty string")
            if len(value) > MAX_PROMPT_CHARS:
                raise ValueError(f"{self.name} is {len(value)} characters long; the most is {MAX_PROMPT_CHARS}")
            return value
        if isinstance(value, bool) and self.kind is int and (self.low, self.high) == (0, 1):
            value = int(value)  # a switch: OSC T/F (TouchDesigner) or TOML true/false
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
        if self.kind is int:
            if isinstance(value, float):
                if value != int(value) and not round_floats:
                    raise ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")
                value = int(round(value))
        else:
            value = float(value)
        if value in self.extra:
            return value
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise ValueError(f"{self.name} must be {self.allowed()}, got {_fmt(value)}")
        return value


def _fmt(x) -> str:
    """Numbers as a musician would type them: 3 not 3.0, 0.25 not 0.25000001."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


KNOBS: dict[str, Knob] = {
    k.name: k
    for k in (
        Knob("prompt", str, "the text prompt"),
        Knob("duration", float, "length in seconds (up to config [long] max_duration, past 30 s: windowed); setting it clears bars",
             0.0, MAX_DURATION, low_open=True),
        Knob("bpm", float, "tempo used by bars", 20.0, 300.0),
        Knob("bars", float, "length in bars at bpm (0 = use duration); duration = bars * beats_per_bar * 60 / bpm", 0.0, 64.0),
        Knob("loop", int, "1 = a seamless loop (the tail crossfaded into the head, a smpl loop in the WAV), 0 = a one-shot", 0, 1),
        Knob("temperature", float, "sampling temperature (typically 0.5..1.5)", 0.0, 10.0, low_open=True),
        Knob("top_k", int, "sample from the k most likely codes (0 = off)", 0, 2048),
        Knob("top_p", float, "nucleus sampling (0 = off)", 0.0, 1.0),
        Knob("cfg", float, "classifier-free guidance scale (1 = off, typically 3)", 1.0, 20.0),
        Knob("seed", int, "fixed seed for repeatable output; -1 = a new random seed per job", 0, INT32_MAX, extra=(-1,)),
        Knob("variations", int, "takes per /oscgen/generate, made together in one batched pass (take i has seed + i - 1); "
             "each take gets its own WAV, sidecar and /oscgen/done", 1, MAX_VARIATIONS),
        Knob("model", str, "musicgen-small, musicgen-medium, tiny-random, a hub repo id or a local folder"),
    )
}


def format_atom(x) -> str:
    """One OSC argument as prompt text: Max and Pd split a typed message into atoms, so
    ``/oscgen/prompt 90s hip hop 808`` arrives as strings and numbers to be joined again."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return _fmt(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def duration_from_bars(bars: float, bpm: float, beats_per_bar: int) -> float:
    return bars * beats_per_bar * 60.0 / bpm
