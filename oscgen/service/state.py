"""The one set of knobs (prompt, length, sampling, model) that OSC and MIDI both turn.

``State.set_knob`` is the single entry point for a change: it checks and coerces the value,
keeps duration / bars / bpm consistent, and returns the echoes to send (every knob whose value
changed as a result, in order).  It raises ValueError naming the knob and what is allowed; the
caller turns that into an ``/oscgen/error``.  Thread-safe: the OSC loop and a MIDI thread may
call it at once.
"""

from __future__ import annotations

import threading

from oscgen.config import Preset
from oscgen.knobs import KNOBS, MAX_DURATION, duration_from_bars, duration_knob

# Preset and override keys are applied in this order so that e.g. {bars = 16, bpm = 140} is
# checked at 140 bpm, not at the tempo that was set before.
_APPLY_ORDER = ("model", "prompt", "bpm", "duration", "bars", "loop", "temperature", "top_k", "top_p", "cfg", "seed", "variations")


class State:
    def __init__(self, defaults: dict, presets: tuple[Preset, ...] = (), beats_per_bar: int = 4,
                 max_duration: float = MAX_DURATION):
        self._values = dict(defaults)
        self.max_duration = max_duration  # config [long] max_duration: past 30 s, windowed takes
        self.presets = tuple(presets)
        self.beats_per_bar = beats_per_bar
        self._preset: str | None = None  # the preset loaded last, until the prompt changes
        self._lock = threading.RLock()

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._values)

    def get(self, name: str):
        with self._lock:
            return self._values[_known(name)]

    def set_knob(self, name: str, value, source: str = "osc") -> list[tuple[str, object]]:
        """Set one knob; returns [(knob, new value), ...] to echo.  ``source`` ("osc", "midi",
        "preset"...) is for the log only: every source goes through the same rules."""
        with self._lock:
            values = dict(self._values)
            echoes = _apply(values, name, value, self.beats_per_bar, self.max_duration)
            self._values = values
            if name == "prompt":
                self._preset = None  # a new prompt is no longer the preset's take
            return echoes

    def find_preset(self, ref) -> tuple[int, Preset]:
        """A preset by number (0 = first, like MIDI program change) or by name."""
        if isinstance(ref, str) and not ref.strip().lstrip("-").isdigit():
            for i, p in enumerate(self.presets):
                if p.name == ref.strip():
                    return i, p
            names = ", ".join(p.name for p in self.presets) or "none in config"
            raise ValueError(f"no preset named {ref!r} (presets: {names})")
        if isinstance(ref, bool) or not isinstance(ref, (int, float, str)):
            raise ValueError(f"preset must be a name or a number, got {ref!r}")
        index = int(round(float(ref)))
        if not 0 <= index < len(self.presets):
            raise ValueError(f"no preset number {index} (config has {len(self.presets)}: 0..{len(self.presets) - 1})")
        return index, self.presets[index]

    def load_preset(self, ref) -> tuple[int, Preset, list[tuple[str, object]]]:
        """Set the knobs from a preset, all or nothing; returns (number, preset, echoes)."""
        index, preset = self.find_preset(ref)
        with self._lock:
            values = dict(self._values)
            echoes = _apply_many(values, {"prompt": preset.prompt, **preset.overrides}, self.beats_per_bar, self.max_duration)
            self._values = values
            self._preset = preset.name
        return index, preset, echoes

    def job_params(self, prompt: str | None = None, overrides: dict | None = None, preset=None) -> dict:
        """The knobs a job runs with, frozen now: the current ones, then a preset's, then
        ``overrides``, then ``prompt``.  The live knobs are not changed.  Returns the keyword
        arguments of ``oscgen.generate`` plus ``bars``, ``bpm``, ``loop``, ``beats_per_bar``,
        ``variations`` (takes to make) and ``preset`` (name or None): the worker makes a take of them (oscgen.take)."""
        with self._lock:
            values = dict(self._values)
            preset_name = self._preset if prompt is None else None
        changes = {}
        if preset is not None:
            _, p = self.find_preset(preset)
            preset_name = p.name
            changes.update({"prompt": p.prompt, **p.overrides})
        changes.update(overrides or {})
        if prompt is not None:
            changes["prompt"] = prompt
        _apply_many(values, changes, self.beats_per_bar, self.max_duration)
        if not values["prompt"]:
            raise ValueError("no prompt: send /oscgen/prompt first, or /oscgen/generate with a prompt")
        return {
            "prompt": values["prompt"],
            "duration": values["duration"],
            "model": values["model"],
            "temperature": values["temperature"],
            "top_k": values["top_k"],
            "top_p": values["top_p"],
            "cfg_scale": values["cfg"],
            "seed": None if values["seed"] == -1 else values["seed"],
            "variations": values["variations"],
            "bars": values["bars"],
            "bpm": values["bpm"],
            "loop": values["loop"],
            "beats_per_bar": self.beats_per_bar,
            "preset": preset_name,
        }


def _known(name: str) -> str:
    if name not in KNOBS:
        raise ValueError(f"unknown knob {name!r} (knobs: {', '.join(KNOBS)})")
    return name


def _apply_many(values: dict, changes: dict, beats_per_bar: int, max_duration: float = MAX_DURATION) -> list[tuple[str, object]]:
    for name in changes:
        _known(name)
    echoes = []
    for name in _APPLY_ORDER:
        if name in changes:
            echoes += _apply(values, name, changes[name], beats_per_bar, max_duration)
    return echoes


def _apply(values: dict, name: str, value, beats_per_bar: int, max_duration: float = MAX_DURATION) -> list[tuple[str, object]]:
    """Set ``name`` in ``values`` (a plain dict of every knob) and keep the length consistent."""
    knob = duration_knob(max_duration) if name == "duration" else KNOBS[_known(name)]
    try:
        value = knob.check(value, round_floats=True)
    except ValueError as exc:
        if name == "duration" and isinstance(value, (int, float)) and value > max_duration:
            hint = (f"[long] max_duration = {max_duration:g}" if max_duration > MAX_DURATION
                    else "longer takes: set [long] max_duration in config (up to 300)")
            raise ValueError(f"{exc} ({hint})") from None
        raise
    if name == "duration":
        values["duration"] = value
        echoes = [("duration", value)]
        if values["bars"]:
            values["bars"] = 0.0  # an explicit length in seconds wins over bars
            echoes.append(("bars", 0.0))
        return echoes
    if name in ("bars", "bpm"):
        bars = value if name == "bars" else values["bars"]
        bpm = value if name == "bpm" else values["bpm"]
        values[name] = value
        echoes = [(name, value)]
        if bars:
            seconds = duration_from_bars(bars, bpm, beats_per_bar)
            if seconds > MAX_DURATION:
                raise ValueError(
                    f"{bars:g} bars at {bpm:g} bpm is {seconds:.1f} s; the longest is {MAX_DURATION:g} s "
                    f"(fewer bars or a faster tempo)"
                )
            values["duration"] = seconds
            echoes.append(("duration", seconds))
        return echoes
    values[name] = value
    return [(name, value)]
