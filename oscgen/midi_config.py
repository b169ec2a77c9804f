"""The ``[midi]`` mappings of config.toml -> ``oscgen.midi_map`` objects; every error names the
key, the value and what is allowed.  Split from ``midi_map.py`` (the mapper and its types)."""

from __future__ import annotations

import math

from oscgen.knobs import KNOBS, MAX_VARIATIONS
from oscgen.midi_map import (CURVES, KNOB_SPECS, NOTE_ACTIONS, CcMapping, Curve, MidiMapConfig, NoteMapping,
                             ProgramMapping)



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
NOTE_KEYS = ("note", "action", "channel", "preset", "velocity", "velocity_min", "velocity_max", "velocity_curve",
             "variations")
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
    variations = _int(table, "variations", prefix, 1, MAX_VARIATIONS)
    if variations is not None and action not in ("generate", "preset"):
        raise ValueError(f"{prefix}.variations is only used with action = 'generate' or 'preset' (action is {action!r})")
    if variations is not None and velocity_knob == "variations":
        raise ValueError(f"{prefix}: variations = {variations} and velocity = 'variations' both set the takes; keep one")
    return NoteMapping(note=note, action=action, channel=_int(table, "channel", prefix, 0, 16, default=0),
                       preset=preset, velocity_knob=velocity_knob, velocity_curve=velocity_curve, variations=variations)


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
