"""MIDI mapping: config mappings -> what a MIDI message means for the daemon.

Kept beside ``config.py`` and ``knobs.py`` at the bottom of the package (like ``knobs.py``):
config validates the ``[midi]`` mappings with `parse_midi_mappings` before anything starts, and
``oscgen/service/midi.py`` runs `MidiMapper` on what the ports deliver.

Pure and thread-free: `MidiMapper.handle(message, now)` takes a `mido.Message` and the time it
arrived and returns plain action objects (`SetKnob`, `Generate`, `Cancel`, `SelectPreset`,
`Tempo`, `Transport`, `Learned`) that the daemon applies to the same knob state OSC uses.
Nothing here opens a port, a socket or a file.

Config shape (the `[midi]` table of config.toml; channels are 1-16 as on a controller, 0 or
missing = any channel):

    [[midi.cc]]      cc, knob, channel, min, max, curve ("linear" | "exponential"), bits (7 | 14), step
    [[midi.note]]    note, channel, action ("generate" | "preset" | "cancel" | "stop"), preset,
                     velocity (knob name), velocity_min, velocity_max, velocity_curve
    [midi.program]   enabled, channel, first (preset number that program 0 selects)
    [midi]           clock (follow MIDI clock tempo)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from oscgen.knobs import KNOBS

# --- actions: what the daemon is asked to do ------------------------------------------------


@dataclass(frozen=True)
class SetKnob:
    name: str
    value: float | int


@dataclass(frozen=True)
class Generate:
    preset: int | None = None  # preset number, None = the current knobs as they are
    overrides: dict = field(default_factory=dict)  # knob -> value for this job only (velocity)


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Stop:
    """End the running job early, keeping what it made (/oscgen/stop)."""


@dataclass(frozen=True)
class SelectPreset:
    number: int


@dataclass(frozen=True)
class Tempo:
    bpm: float


@dataclass(frozen=True)
class Transport:
    running: bool
    kind: str = ""  # "start", "stop" or "continue": what the clock source sent


@dataclass(frozen=True)
class Learned:
    knob: str
    channel: int  # 1-16 as a controller shows it, 0 = any
    cc: int
    mapping: "CcMapping"


# --- knobs a MIDI control can drive ---------------------------------------------------------


@dataclass(frozen=True)
class KnobSpec:
    lo: float  # default range of a knob turned from 0 to 127
    hi: float
    integer: bool = False
    step: float | None = None  # quantise (whole bars, say) so a knob does not spam tiny changes


# The useful range of each knob MIDI can drive; what is *allowed* is oscgen.knobs.KNOBS.
KNOB_SPECS: dict[str, KnobSpec] = {
    "temperature": KnobSpec(0.1, 2.0),
    "cfg": KnobSpec(1.0, 10.0),
    "top_k": KnobSpec(0, 500, integer=True),
    "top_p": KnobSpec(0.0, 1.0),
    "duration": KnobSpec(1.0, 30.0),
    "bars": KnobSpec(1, 16, step=1.0),
    "bpm": KnobSpec(60.0, 180.0),
    "seed": KnobSpec(0, 127, integer=True),
    "loop": KnobSpec(0, 1, integer=True),  # a button: pressed (127) = loop, released (0) = one-shot
}
CURVES = ("linear", "exponential")
NOTE_ACTIONS = ("generate", "preset", "cancel", "stop")


# --- mappings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """A control position x in [0, 1] -> a knob value in [lo, hi]."""

    lo: float
    hi: float
    shape: str = "linear"
    integer: bool = False
    step: float | None = None

    def __call__(self, x: float) -> float | int:
        x = min(max(x, 0.0), 1.0)
        if self.shape == "exponential":  # equal knob travel = equal ratio (lo, hi > 0)
            value = self.lo * (self.hi / self.lo) ** x
        else:
            value = self.lo + (self.hi - self.lo) * x
        if self.step:
            value = self.lo + round((value - self.lo) / self.step) * self.step
        value = min(max(value, min(self.lo, self.hi)), max(self.lo, self.hi))
        if self.integer:
            return int(round(value))
        return float(f"{value:.7g}")  # 7 digits: finer than 14-bit steps, no 0.30000000000000004 echoes


@dataclass(frozen=True)
class CcMapping:
    cc: int  # for 14-bit: the MSB controller (0-31); its LSB is cc + 32
    knob: str
    channel: int = 0  # 1-16, 0 = any
    curve: Curve = Curve(0.0, 1.0)
    bits: int = 7

    def to_table(self) -> dict:
        """The config.toml form of this mapping (what `save_learned` writes)."""
        table = {"cc": self.cc, "knob": self.knob}
        if self.channel:
            table["channel"] = self.channel
        table.update(min=self.curve.lo, max=self.curve.hi, curve=self.curve.shape)
        if self.bits != 7:
            table["bits"] = self.bits
        return table


@dataclass(frozen=True)
class NoteMapping:
    note: int
    action: str = "generate"
    channel: int = 0
    preset: int | None = None
    velocity_knob: str | None = None
    velocity_curve: Curve | None = None


@dataclass(frozen=True)
class ProgramMapping:
    enabled: bool = True
    channel: int = 0
    first: int = 0  # the preset number program change 0 selects (presets count from 0, like programs)


@dataclass(frozen=True)
class MidiMapConfig:
    cc: tuple[CcMapping, ...] = ()
    notes: tuple[NoteMapping, ...] = ()
    program: ProgramMapping = ProgramMapping()
    clock: bool = True
    clock_snap: float = 0.0  # round the clock's tempo to a multiple of this (1 = whole BPM); 0 = off


def default_mapping(knob: str, cc: int, channel: int = 0) -> CcMapping:
    """What MIDI learn assigns: the knob's whole useful range, linear, 7-bit."""
    spec = KNOB_SPECS[knob]
    return CcMapping(cc=cc, knob=knob, channel=channel,
                     curve=Curve(spec.lo, spec.hi, "linear", spec.integer, spec.step))


# --- config parsing (every error names the key, the value and what is allowed) ---------------


def _where(prefix: str, key: str) -> str:
    return f"{prefix}.{key}"


def _int(table, key, prefix, lo, hi, default=None, required=False):
    if key not in table:
        if required:
            raise ValueError(f"{_where(prefix, key)} is missing: expected an integer {lo}..{hi}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{_where(prefix, key)} = {value!r}: expected an integer {lo}..{hi}")
    return value


def _number(table, key, prefix, default):
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{_where(prefix, key)} = {value!r}: expected a number")
    return value


def _choice(table, key, prefix, choices, default):
    value = table.get(key, default)
    if value not in choices:
        raise ValueError(f"{_where(prefix, key)} = {value!r}: expected one of {', '.join(map(str, choices))}")
    return value


def _bool(table, key, prefix, default):
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{_where(prefix, key)} = {value!r}: expected true or false")
    return value


def _unknown_keys(table, allowed, prefix):
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ValueError(f"{prefix}: unknown key {extra[0]!r}; allowed: {', '.join(allowed)}")


def _curve(table, prefix, knob, min_key="min", max_key="max", curve_key="curve") -> Curve:
    spec = KNOB_SPECS[knob]
    lo = _number(table, min_key, prefix, spec.lo)
    hi = _number(table, max_key, prefix, spec.hi)
    shape = _choice(table, curve_key, prefix, CURVES, "linear")
    for key, value in ((min_key, lo), (max_key, hi)):
        try:
            KNOBS[knob].check(value, round_floats=True)
        except ValueError as exc:
            raise ValueError(f"{_where(prefix, key)} = {value!r}: {exc}") from None
    if shape == "exponential" and (lo <= 0 or hi <= 0):
        raise ValueError(f"{_where(prefix, curve_key)} = 'exponential' needs {min_key} and {max_key} above 0 "
                         f"(got {lo!r}, {hi!r}); use 'linear' for a range that includes 0")
    step = _number(table, "step", prefix, spec.step) if curve_key == "curve" else spec.step
    if step is not None and step <= 0:
        raise ValueError(f"{_where(prefix, 'step')} = {step!r}: expected a number above 0")
    return Curve(float(lo), float(hi), shape, spec.integer, step)


def _knob(table, key, prefix, required=True):
    if key not in table and not required:
        return None
    value = table.get(key)
    if value not in KNOB_SPECS:
        raise ValueError(f"{_where(prefix, key)} = {value!r}: expected one of {', '.join(KNOB_SPECS)}")
    return value


CC_KEYS = ("cc", "knob", "channel", "min", "max", "curve", "bits", "step")
NOTE_KEYS = ("note", "action", "channel", "preset", "velocity", "velocity_min", "velocity_max", "velocity_curve")
PROGRAM_KEYS = ("enabled", "channel", "first")


def parse_cc(table: dict, prefix: str) -> CcMapping:
    _unknown_keys(table, CC_KEYS, prefix)
    knob = _knob(table, "knob", prefix)
    bits = _choice(table, "bits", prefix, (7, 14), 7)
    cc = _int(table, "cc", prefix, 0, 31 if bits == 14 else 127, required=True)
    channel = _int(table, "channel", prefix, 0, 16, default=0)
    return CcMapping(cc=cc, knob=knob, channel=channel, curve=_curve(table, prefix, knob), bits=bits)


def parse_note(table: dict, prefix: str) -> NoteMapping:
    _unknown_keys(table, NOTE_KEYS, prefix)
    note = _int(table, "note", prefix, 0, 127, required=True)
    action = _choice(table, "action", prefix, NOTE_ACTIONS, "preset" if "preset" in table else "generate")
    preset = _int(table, "preset", prefix, 0, 127, required=action == "preset")
    if action != "preset" and preset is not None:
        raise ValueError(f"{prefix}.preset is only used with action = 'preset' (action is {action!r})")
    velocity_knob = _knob(table, "velocity", prefix, required=False)
    velocity_curve = None
    if velocity_knob is not None:
        velocity_curve = _curve(table, prefix, velocity_knob, "velocity_min", "velocity_max", "velocity_curve")
    elif any(k in table for k in ("velocity_min", "velocity_max", "velocity_curve")):
        raise ValueError(f"{prefix}: velocity_min/velocity_max/velocity_curve need velocity = KNOB")
    return NoteMapping(note=note, action=action, channel=_int(table, "channel", prefix, 0, 16, default=0),
                       preset=preset, velocity_knob=velocity_knob, velocity_curve=velocity_curve)


def parse_midi_mappings(midi: dict, prefix: str = "midi") -> MidiMapConfig:
    """The mapping part of the `[midi]` table (cc, note, program, clock) -> MidiMapConfig.
    Other `[midi]` keys (enabled, port, virtual, api, ...) are left to the caller."""
    def array(key):
        value = midi.get(key, [])
        if not isinstance(value, list) or not all(t is None or isinstance(t, dict) for t in value):
            raise ValueError(f"{prefix}.{key}: expected an array of tables ([[{prefix}.{key}]])")
        return value

    # None: an entry config.py set aside after reporting it (the others keep their numbers)
    cc = tuple(parse_cc(t, f"{prefix}.cc[{i}]") for i, t in enumerate(array("cc")) if t is not None)
    notes = tuple(parse_note(t, f"{prefix}.note[{i}]") for i, t in enumerate(array("note")) if t is not None)
    program_table = midi.get("program", {})
    if not isinstance(program_table, dict):
        raise ValueError(f"{prefix}.program: expected a table ([{prefix}.program])")
    _unknown_keys(program_table, PROGRAM_KEYS, f"{prefix}.program")
    program = ProgramMapping(
        enabled=_bool(program_table, "enabled", f"{prefix}.program", True),
        channel=_int(program_table, "channel", f"{prefix}.program", 0, 16, default=0),
        first=_int(program_table, "first", f"{prefix}.program", 0, 127, default=0))
    seen: dict[tuple[int, int], int] = {}
    for i, m in enumerate(cc):
        for number in (m.cc, m.cc + 32) if m.bits == 14 else (m.cc,):
            if (m.channel, number) in seen:
                raise ValueError(f"{prefix}.cc[{i}]: CC {number} on channel {m.channel or 'any'} is already "
                                 f"mapped by {prefix}.cc[{seen[(m.channel, number)]}]")
            seen[(m.channel, number)] = i
    snap = _number(midi, "clock_snap", prefix, 0.0)
    if not 0.0 <= snap <= 10.0:
        raise ValueError(f"{prefix}.clock_snap = {snap!r}: expected a number in [0, 10] (1 = whole BPM, 0 = off)")
    return MidiMapConfig(cc=cc, notes=notes, program=program, clock=_bool(midi, "clock", prefix, True),
                         clock_snap=float(snap))


# --- MIDI clock -> tempo ----------------------------------------------------------------------


class ClockTempo:
    """BPM from MIDI clock (24 ticks per quarter note).

    A least-squares line through the last `window` tick times: per-tick jitter (USB, a JACK
    period) averages out instead of landing in the estimate, as it would with the latest
    interval or a median of intervals.  After a tempo change the estimate settles within one
    window (4 beats); a gap longer than `gap` seconds (clock stopped) starts a new estimate.
    A new tempo is announced at most once a beat, and only when it moved by `resolution`."""

    PPQ = 24

    def __init__(self, window: int = 96, min_ticks: int = 24, gap: float = 0.5, report_every: int = 24,
                 resolution: float = 0.1, snap: float = 0.0):
        """``snap`` > 0 rounds each estimate to a multiple of it (1: a clock at 128 BPM reads
        128, not 127.9) and then announces only snapped changes."""
        self.window, self.min_ticks, self.gap = window, min_ticks, gap
        self.report_every = report_every
        self.resolution = max(resolution, snap)
        self.snap = snap
        self.times: list[float] = []
        self.bpm: float | None = None
        self._since_report = 0

    def reset(self) -> None:
        self.times.clear()
        self._since_report = 0

    def tick(self, now: float) -> float | None:
        """Feed one clock tick; returns a new tempo to announce (rounded), else None."""
        if self.times and now - self.times[-1] > self.gap:
            self.reset()
        self.times.append(now)
        del self.times[:-self.window]
        n = len(self.times)
        if n < self.min_ticks:
            return None
        # slope of time vs tick index = seconds per tick
        mean_i = (n - 1) / 2
        mean_t = sum(self.times) / n
        num = sum((i - mean_i) * (t - mean_t) for i, t in enumerate(self.times))
        den = sum((i - mean_i) ** 2 for i in range(n))
        seconds_per_tick = num / den
        if seconds_per_tick <= 0:
            return None
        bpm = 60.0 / (seconds_per_tick * self.PPQ)
        self._since_report += 1
        first = self.bpm is None
        if first or self._since_report >= self.report_every:
            self._since_report = 0
            step = self.snap or self.resolution
            rounded = round(round(bpm / step) * step, 3)
            if first or abs(rounded - self.bpm) >= self.resolution / 2:
                self.bpm = rounded
                return rounded
        return None


# --- the mapper -------------------------------------------------------------------------------


def _matches(channel_1_16: int, message_channel_0_15: int) -> bool:
    return channel_1_16 == 0 or channel_1_16 == message_channel_0_15 + 1


class MidiMapper:
    """Turns `mido.Message`s into actions.  Not thread-safe: the caller serialises `handle` and
    `learn` (the MIDI service holds one lock around both)."""

    def __init__(self, config: MidiMapConfig = MidiMapConfig()):
        self.config = config
        self.clock = ClockTempo(snap=config.clock_snap)
        self._learning: str | None = None
        self._last_cc: dict[tuple[int, int], int] = {}  # (channel 0-15, cc) -> last value
        self._msb: dict[tuple[int, int], int] = {}  # 14-bit: (channel, msb cc) -> last MSB
        self._last_value: dict[CcMapping, float | int] = {}  # dedupe echoes of an unchanged knob

    # MIDI learn -------------------------------------------------------------------------------
    @property
    def learning(self) -> str | None:
        return self._learning

    def learn(self, knob: str | None) -> None:
        """Arm learn: the next CC that moves is mapped to `knob` (None disarms)."""
        if knob is not None and knob not in KNOB_SPECS:
            raise ValueError(f"cannot learn {knob!r}: MIDI can drive {', '.join(KNOB_SPECS)}")
        self._learning = knob

    def _learn_from(self, channel: int, cc: int) -> Learned:
        knob, self._learning = self._learning, None
        mapping = default_mapping(knob, cc, channel + 1)
        # a control drives one knob, and a learned knob follows only the control just moved
        kept = tuple(m for m in self.config.cc
                     if m.knob != knob and not (_matches(m.channel, channel) and cc in _cc_numbers(m)))
        self.config = replace(self.config, cc=kept + (mapping,))
        return Learned(knob=knob, channel=channel + 1, cc=cc, mapping=mapping)

    # messages ---------------------------------------------------------------------------------
    def handle(self, msg, now: float = 0.0) -> list:
        """`msg`: a `mido.Message` (only its attributes are read, so this module needs no mido)."""
        kind = msg.type
        if kind == "control_change":
            return self._control_change(msg.channel, msg.control, msg.value)
        if kind == "note_on" and msg.velocity > 0:  # velocity 0 is a note off
            return self._note_on(msg.channel, msg.note, msg.velocity)
        if kind == "program_change":
            p = self.config.program
            if p.enabled and _matches(p.channel, msg.channel):
                return [SelectPreset(p.first + msg.program)]
            return []
        if not self.config.clock:
            return []
        if kind == "clock":
            bpm = self.clock.tick(now)
            return [Tempo(bpm)] if bpm is not None else []
        if kind == "start":
            self.clock.reset()
            return [Transport(True, "start")]
        if kind == "continue":
            return [Transport(True, "continue")]
        if kind == "stop":
            return [Transport(False, "stop")]
        return []

    def _control_change(self, channel: int, cc: int, value: int) -> list:
        previous = self._last_cc.get((channel, cc))
        self._last_cc[(channel, cc)] = value
        if self._learning is not None and value != previous and not self._is_lsb_of_pair(channel, cc):
            return [self._learn_from(channel, cc)]
        actions = []
        for m in self.config.cc:
            if not _matches(m.channel, channel):
                continue
            if m.bits == 14 and cc in (m.cc, m.cc + 32):
                key = (channel, m.cc)
                if cc == m.cc:  # MSB: a new coarse value; the LSB that follows refines it
                    if self._msb.get(key) == value:
                        continue  # same coarse step: wait for the LSB instead of bouncing to LSB 0
                    self._msb[key] = value
                    raw = value << 7
                else:
                    raw = (self._msb.get(key, 0) << 7) | value
                actions += self._set(m, raw / 16383)
            elif m.bits == 7 and cc == m.cc:
                actions += self._set(m, value / 127)
        return actions

    def _is_lsb_of_pair(self, channel, cc) -> bool:
        return any(m.bits == 14 and cc == m.cc + 32 and _matches(m.channel, channel) for m in self.config.cc)

    def _set(self, m: CcMapping, x: float) -> list:
        value = m.curve(x)
        if self._last_value.get(m) == value:
            return []
        self._last_value[m] = value
        return [SetKnob(m.knob, value)]

    def _note_on(self, channel: int, note: int, velocity: int) -> list:
        actions = []
        for m in self.config.notes:
            if m.note != note or not _matches(m.channel, channel):
                continue
            if m.action in ("cancel", "stop"):
                actions.append(Cancel() if m.action == "cancel" else Stop())
                continue
            overrides = {}
            if m.velocity_knob:
                overrides[m.velocity_knob] = m.velocity_curve((velocity - 1) / 126)
            actions.append(Generate(preset=m.preset if m.action == "preset" else None, overrides=overrides))
        return actions


def _cc_numbers(m: CcMapping) -> tuple[int, ...]:
    return (m.cc, m.cc + 32) if m.bits == 14 else (m.cc,)

