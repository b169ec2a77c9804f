"""MIDI mapping: config mappings -> what a MIDI message means for the daemon.

Kept beside ``config.py`` and ``knobs.py`` at the bottom of the package (like ``knobs.py``):
config validates the ``[midi]`` mappings with `oscgen.midi_config.parse_midi_mappings` before anything starts, and
``oscgen/service/midi.py`` runs `MidiMapper` on what the ports deliver.

Pure and thread-free: `MidiMapper.handle(message, now)` takes a `mido.Message` and the time it
arrived and returns plain action objects (`SetKnob`, `Generate`, `Cancel`, `SelectPreset`,
`Tempo`, `Transport`, `Learned`) that the daemon applies to the same knob state OSC uses.
Nothing here opens a port, a socket or a file.

Config shape (the `[midi]` table of config.toml; channels are 1-16 as on a controller, 0 or
missing = any channel):

    [[midi.cc]]      cc, knob, channel, min, max, curve ("linear" | "exponential"), bits (7 | 14), step
    [[midi.note]]    note, channel, action ("generate" | "preset" | "cancel" | "stop"), preset,
                     velocity (knob name), velocity_min, velocity_max, velocity_curve,
                     variations (takes the pad's job makes, 1-8)
    [midi.program]   enabled, channel, first (preset number that program 0 selects)
    [midi]           clock (follow MIDI clock tempo)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from oscgen.knobs import MAX_VARIATIONS
from oscgen.midi_clock import ClockTempo  # noqa: F401 (part of this module's interface)

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
    "variations": KnobSpec(1, MAX_VARIATIONS, integer=True),
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
    variations: int | None = None  # takes this pad's job makes; None = the variations knob


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
            overrides = {} if m.variations is None else {"variations": m.variations}
            if m.velocity_knob:
                overrides[m.velocity_knob] = m.velocity_curve((velocity - 1) / 126)
            actions.append(Generate(preset=m.preset if m.action == "preset" else None, overrides=overrides))
        return actions


def _cc_numbers(m: CcMapping) -> tuple[int, ...]:
    return (m.cc, m.cc + 32) if m.bits == 14 else (m.cc,)


def __getattr__(name):
    # the [midi] config parser lives in oscgen.midi_config (which imports this module's types)
    if name in ("parse_midi_mappings", "parse_cc", "parse_note"):
        from oscgen import midi_config

        return getattr(midi_config, name)
    raise AttributeError(f"module 'oscgen.midi_map' has no attribute {name!r}")
