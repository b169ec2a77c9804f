"""The MIDI mapping layer fed real mido messages: ranges, curves, channels, 14-bit pairs, notes,
program changes, learn, clock -> BPM, and learned mappings saved into a commented config.toml."""

import random
import tomllib

import mido
import pytest

from oscgen.midi_map import (Cancel, Generate, Learned, MidiMapper, SelectPreset, SetKnob, Stop, Tempo,
                                     Transport, parse_midi_mappings)
from oscgen.config import save_learned


def mapper(**midi):
    return MidiMapper(parse_midi_mappings(midi))


def cc(control, value, channel=0):
    return mido.Message("control_change", control=control, value=value, channel=channel)


def values(m, messages):
    return [a.value for msg in messages for a in m.handle(msg) if isinstance(a, SetKnob)]


# --- ranges and curves ------------------------------------------------------------------------


def test_linear_range_spans_min_to_max():
    m = mapper(cc=[{"cc": 21, "knob": "temperature", "min": 0.5, "max": 1.5}])
    assert m.handle(cc(21, 0)) == [SetKnob("temperature", 0.5)]
    assert m.handle(cc(21, 127)) == [SetKnob("temperature", 1.5)]
    (mid,) = m.handle(cc(21, 64))
    assert mid.value == pytest.approx(0.5 + 64 / 127)


def test_a_button_switches_loop_on_and_off():
    m = mapper(cc=[{"cc": 64, "knob": "loop"}])
    assert values(m, [cc(64, 127), cc(64, 127), cc(64, 0)]) == [1, 0]  # a repeat is not echoed twice


def test_exponential_curve_is_geometric():
    m = mapper(cc=[{"cc": 22, "knob": "cfg", "min": 1.0, "max": 9.0, "curve": "exponential"}])
    lo, hi = values(m, [cc(22, 0), cc(22, 127)])
    assert (lo, hi) == (1.0, 9.0)
    (q,) = values(m, [cc(22, 127 // 2 + 1)])  # x = 64/127: a bit past the middle
    assert q == pytest.approx(9.0 ** (64 / 127), rel=1e-5)
    # equal knob travel multiplies the value by the same ratio
    a, b, c = values(m, [cc(22, 10), cc(22, 40), cc(22, 70)])
    assert b / a == pytest.approx(c / b, rel=1e-5)


def test_reversed_range_turns_the_knob_around():
    m = mapper(cc=[{"cc": 1, "knob": "top_p", "min": 1.0, "max": 0.0}])
    assert values(m, [cc(1, 0), cc(1, 127)]) == [1.0, 0.0]


def test_integer_knobs_are_rounded_and_bars_are_whole():
    m = mapper(cc=[{"cc": 1, "knob": "top_k", "min": 0, "max": 500},
                   {"cc": 2, "knob": "bars", "min": 1, "max": 16},
                   {"cc": 3, "knob": "seed"}])
    top_k = values(m, [cc(1, v) for v in range(128)])
    assert all(isinstance(v, int) for v in top_k) and top_k[0] == 0 and top_k[-1] == 500
    bars = values(m, [cc(2, v) for v in range(128)])
    assert bars == [float(b) for b in range(1, 17)]  # one echo per whole bar, none in between
    assert values(m, [cc(3, 127)]) == [127]


def test_unchanged_value_is_not_echoed_twice():
    m = mapper(cc=[{"cc": 7, "knob": "duration", "min": 2, "max": 20}])
    assert len(values(m, [cc(7, 30), cc(7, 30), cc(7, 31)])) == 2


# --- channels ---------------------------------------------------------------------------------


def test_channel_filter_and_any_channel():
    m = mapper(cc=[{"cc": 10, "knob": "temperature", "channel": 2},
                   {"cc": 11, "knob": "cfg"}])
    assert m.handle(cc(10, 127, channel=0)) == []  # channel 1 on the controller
    assert m.handle(cc(10, 127, channel=1)) == [SetKnob("temperature", 2.0)]  # channel 2
    assert [a.name for ch in range(16) for a in m.handle(cc(11, ch, channel=ch))] == ["cfg"] * 16


def test_same_cc_on_two_channels_drives_two_knobs():
    m = mapper(cc=[{"cc": 10, "knob": "temperature", "channel": 1},
                   {"cc": 10, "knob": "cfg", "channel": 2}])
    assert m.handle(cc(10, 0, channel=1)) == [SetKnob("cfg", 1.0)]


# --- 14-bit CC pairs --------------------------------------------------------------------------


def test_14_bit_pair_msb_then_lsb():
    m = mapper(cc=[{"cc": 1, "knob": "top_p", "min": 0.0, "max": 1.0, "bits": 14}])
    assert m.handle(cc(1, 64)) == [SetKnob("top_p", pytest.approx((64 << 7) / 16383, abs=1e-6))]
    (fine,) = m.handle(cc(33, 100))
    assert fine.value == pytest.approx(((64 << 7) | 100) / 16383, abs=1e-6)
    assert values(m, [cc(1, 127), cc(33, 127)])[-1] == 1.0
    assert values(m, [cc(1, 0), cc(33, 0)]) == [0.0]  # LSB 0 after MSB 0: no change, no echo


def test_14_bit_resolves_finer_than_7_bit():
    m = mapper(cc=[{"cc": 5, "knob": "temperature", "min": 0.5, "max": 0.6, "bits": 14}])
    seen = set()
    for lsb in range(128):
        seen.update(a.value for msg in (cc(5, 80), cc(37, lsb)) for a in m.handle(msg))
    assert len(seen) == 128  # 128 distinct values inside one 7-bit step


def test_14_bit_knob_turned_slowly_does_not_bounce():
    m = mapper(cc=[{"cc": 5, "knob": "temperature", "min": 0.5, "max": 0.6, "bits": 14}])
    echoed = values(m, [msg for lsb in range(0, 128, 8) for msg in (cc(5, 80), cc(37, lsb))])
    assert echoed == sorted(echoed) and len(echoed) == 16  # rising, one echo per movement


def test_14_bit_lsb_does_not_reach_a_7_bit_mapping():
    with pytest.raises(ValueError, match=r"midi.cc\[1\]: CC 33"):
        parse_midi_mappings({"cc": [{"cc": 1, "knob": "top_p", "bits": 14}, {"cc": 33, "knob": "cfg"}]})


# --- notes ------------------------------------------------------------------------------------


def note_on(note, velocity=100, channel=9):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def test_notes_generate_current_knobs_or_a_preset():
    m = mapper(note=[{"note": 36, "action": "generate"}, {"note": 37, "preset": 3},
                     {"note": 38, "action": "cancel"}, {"note": 40, "action": "stop"}])
    assert m.handle(note_on(36)) == [Generate()]
    assert m.handle(note_on(37)) == [Generate(preset=3)]
    assert m.handle(note_on(38)) == [Cancel()]
    assert m.handle(note_on(40)) == [Stop()]
    assert m.handle(note_on(39)) == []


def test_note_velocity_sets_a_knob_for_that_job_only():
    m = mapper(note=[{"note": 36, "velocity": "temperature", "velocity_min": 0.6, "velocity_max": 1.4}])
    assert m.handle(note_on(36, 1)) == [Generate(overrides={"temperature": 0.6})]
    assert m.handle(note_on(36, 127)) == [Generate(overrides={"temperature": 1.4})]
    (soft,), (hard,) = m.handle(note_on(36, 40)), m.handle(note_on(36, 110))
    assert 0.6 < soft.overrides["temperature"] < hard.overrides["temperature"] < 1.4


def test_a_pad_can_ask_for_variations():
    m = mapper(note=[{"note": 36, "variations": 4}, {"note": 37, "preset": 1, "variations": 2,
                                                    "velocity": "temperature"}])
    assert m.handle(note_on(36)) == [Generate(overrides={"variations": 4})]
    (preset,) = m.handle(note_on(37, 127))
    assert preset.preset == 1 and preset.overrides == {"variations": 2, "temperature": 2.0}
    # and a CC may drive the variations knob, over its whole range
    m = mapper(cc=[{"cc": 20, "knob": "variations"}])
    assert m.handle(cc(20, 0)) == [SetKnob("variations", 1)] and m.handle(cc(20, 127)) == [SetKnob("variations", 8)]


def test_note_on_with_velocity_zero_is_a_note_off():
    m = mapper(note=[{"note": 36}])
    assert m.handle(note_on(36, 0)) == []
    assert m.handle(mido.Message("note_off", note=36, velocity=64)) == []


def test_note_channel_filter():
    m = mapper(note=[{"note": 36, "channel": 10}])
    assert m.handle(note_on(36, channel=0)) == []
    assert m.handle(note_on(36, channel=9)) == [Generate()]


# --- program change -> preset -----------------------------------------------------------------


def test_program_change_selects_a_preset():
    m = mapper()
    assert m.handle(mido.Message("program_change", program=0)) == [SelectPreset(0)]
    assert m.handle(mido.Message("program_change", program=4)) == [SelectPreset(4)]
    m = mapper(program={"first": 8, "channel": 3})  # a second bank of pads
    assert m.handle(mido.Message("program_change", program=4, channel=2)) == [SelectPreset(12)]
    assert m.handle(mido.Message("program_change", program=4, channel=0)) == []
    assert mapper(program={"enabled": False}).handle(mido.Message("program_change", program=1)) == []


# --- MIDI learn -------------------------------------------------------------------------------


def test_learn_maps_the_next_cc_that_moves():
    m = mapper(cc=[{"cc": 21, "knob": "temperature"}, {"cc": 40, "knob": "cfg"}])
    m.handle(cc(40, 5, channel=3))
    m.learn("temperature")
    assert m.learning == "temperature"
    assert m.handle(note_on(36)) == []  # notes do not teach
    assert m.handle(cc(40, 5, channel=3)) == []  # same value again: the control did not move
    (learned,) = m.handle(cc(40, 6, channel=3))
    assert isinstance(learned, Learned)
    assert (learned.knob, learned.channel, learned.cc) == ("temperature", 4, 40)
    assert m.learning is None
    # the learned control now drives the knob on its channel only; the old control does nothing,
    # and the mapping that cc 40 used to have (cfg, any channel) is gone
    assert m.handle(cc(40, 127, channel=3)) == [SetKnob("temperature", 2.0)]
    assert m.handle(cc(40, 0, channel=0)) == []
    assert m.handle(cc(21, 0)) == []


def test_learn_rejects_a_knob_midi_cannot_drive():
    with pytest.raises(ValueError, match="prompt"):
        mapper().learn("prompt")


def test_learn_can_be_disarmed():
    m = mapper()
    m.learn("cfg")
    m.learn(None)
    assert m.handle(cc(1, 1)) == []


# --- clock ------------------------------------------------------------------------------------


def clock_times(bpm, beats, jitter, rng, start=0.0):
    period = 60.0 / bpm / 24
    return [start + i * period + rng.gauss(0.0, jitter) for i in range(int(beats * 24))]


def tempos(m, times):
    return [a.bpm for t in sorted(times) for a in m.handle(mido.Message("clock"), t) if isinstance(a, Tempo)]


@pytest.mark.parametrize("bpm", [72.0, 97.3, 128.0, 174.0])
def test_clock_bpm_from_a_jittered_clock(bpm):
    rng = random.Random(1234)
    # 2 ms of jitter per tick (USB frames, a JACK period) and now and then a tick 6 ms late
    times = [t + (0.006 if rng.random() < 0.03 else 0.0) for t in clock_times(bpm, 16, 0.002, rng)]
    reported = tempos(mapper(), times)
    assert reported, "no tempo reported"
    assert abs(reported[-1] - bpm) < 0.5
    assert all(abs(r - bpm) < 2.0 for r in reported)  # even the first beat is close
    assert len(reported) <= 16  # at most once a beat


def test_clock_follows_a_tempo_change_and_restarts_after_a_stop():
    rng = random.Random(7)
    m = mapper()
    first = clock_times(120, 8, 0.001, rng)
    second = clock_times(90, 8, 0.001, rng, start=first[-1] + 60 / 120 / 24)
    assert abs(tempos(m, first)[-1] - 120) < 0.5
    assert abs(tempos(m, second)[-1] - 90) < 0.5
    assert m.handle(mido.Message("stop")) == [Transport(False, "stop")]
    assert m.handle(mido.Message("start")) == [Transport(True, "start")]
    assert m.handle(mido.Message("continue")) == [Transport(True, "continue")]
    third = clock_times(140, 4, 0.001, rng, start=second[-1] + 5.0)  # resumes after a pause
    assert abs(tempos(m, third)[-1] - 140) < 0.5


def test_clock_can_be_ignored():
    m = mapper(clock=False)
    assert tempos(m, clock_times(120, 4, 0.0, random.Random(0))) == []
    assert m.handle(mido.Message("start")) == []


# --- config errors name the key ---------------------------------------------------------------


@pytest.mark.parametrize("midi, message", [
    ({"cc": [{"cc": 1, "knob": "volume"}]}, r"midi.cc\[0\].knob = 'volume': expected one of temperature"),
    ({"cc": [{"cc": 128, "knob": "cfg"}]}, r"midi.cc\[0\].cc = 128: expected an integer 0..127"),
    ({"cc": [{"cc": 40, "knob": "cfg", "bits": 14}]}, r"midi.cc\[0\].cc = 40: expected an integer 0..31"),
    ({"cc": [{"knob": "cfg"}]}, r"midi.cc\[0\].cc is missing"),
    ({"cc": [{"cc": 1, "knob": "cfg", "curve": "log"}]}, r"curve = 'log': expected one of linear, exponential"),
    ({"cc": [{"cc": 1, "knob": "top_k", "min": 0, "max": 250, "curve": "exponential"}]}, r"needs min and max above 0"),
    ({"cc": [{"cc": 1, "knob": "cfg", "min": 0.5}]}, r"midi.cc\[0\].min = 0.5: cfg must be a number in \[1, 20\]"),
    ({"cc": [{"cc": 1, "knob": "cfg", "channel": 17}]}, r"channel = 17: expected an integer 0..16"),
    ({"cc": [{"cc": 1, "knob": "cfg", "colour": "red"}]}, r"unknown key 'colour'"),
    ({"cc": [{"cc": 1, "knob": "cfg"}, {"cc": 1, "knob": "temperature"}]}, r"CC 1 on channel any is already mapped"),
    ({"note": [{"note": 36, "action": "preset"}]}, r"midi.note\[0\].preset is missing"),
    ({"note": [{"note": 36, "velocity": "loudness"}]}, r"velocity = 'loudness'"),
    ({"note": [{"note": 36, "velocity_min": 0.2}]}, r"need velocity = KNOB"),
    ({"note": [{"note": 36, "variations": 9}]}, r"midi.note\[0\].variations = 9: expected an integer 1..8"),
    ({"note": [{"note": 36, "action": "cancel", "variations": 2}]}, r"variations is only used with action"),
    ({"program": {"first": -1}}, r"midi.program.first = -1"),
    ({"clock": "yes"}, r"midi.clock = 'yes': expected true or false"),
    ({"cc": {"cc": 1}}, r"midi.cc: expected an array of tables"),
])
def test_bad_config_names_the_key(midi, message):
    with pytest.raises(ValueError, match=message):
        parse_midi_mappings(midi)


# --- learned mappings saved into a commented config.toml --------------------------------------

CONFIG = """\
# oscgen config: every key documented
[osc]
port = 9000  # listen here

[midi]
enabled = true  # MIDI on
port = "nanoKONTROL"

# fader 1: heat
[[midi.cc]]
cc = 0
knob = "temperature"
min = 0.5  # not too cold

[[midi.cc]]
cc = 1
knob = "cfg"

[[midi.cc]]
cc = 2
knob = "bars"

[midi.program]
first = 0  # presets count from 0

[presets]
1 = "warm analog pads"  # the opener
"""


def test_save_learned_keeps_comments_and_other_keys(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    m = MidiMapper(parse_midi_mappings(tomllib.loads(CONFIG)["midi"]))
    m.learn("temperature")
    (learned,) = m.handle(cc(1, 90, channel=4))  # the cfg knob's control, now on channel 5
    save_learned(path, learned.mapping)

    text = path.read_text()
    for line in ("# oscgen config: every key documented", "port = 9000  # listen here",
                 "enabled = true  # MIDI on", "first = 0  # presets count from 0",
                 '1 = "warm analog pads"  # the opener', "# learned over MIDI"):
        assert line in text
    data = tomllib.loads(text)
    assert data["osc"] == {"port": 9000} and data["presets"] == {"1": "warm analog pads"}
    # the old temperature fader is gone (a knob follows the control it learned); cfg keeps cc 1
    # on other channels only if it was channel-specific, and here it was "any": also superseded
    assert [(e["cc"], e["knob"]) for e in data["midi"]["cc"]] == [(2, "bars"), (1, "temperature")]
    reloaded = parse_midi_mappings(data["midi"])
    assert reloaded.cc == m.config.cc  # what was saved is what the running mapper uses


def test_save_learned_into_a_config_without_midi(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("# just osc\n[osc]\nport = 9000\n")
    m = mapper()
    m.learn("seed")
    (learned,) = m.handle(cc(20, 3))
    save_learned(path, learned.mapping)
    data = tomllib.loads(path.read_text())
    assert path.read_text().startswith("# just osc\n")
    assert data["midi"]["cc"] == [{"cc": 20, "knob": "seed", "channel": 1, "min": 0.0, "max": 127.0,
                                   "curve": "linear"}]
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


# --- the shipped config.toml ------------------------------------------------------------------


def test_shipped_8_knob_8_pad_example_is_a_valid_config(tmp_path):
    """The commented controller example in config.toml, uncommented, loads as it says."""
    from oscgen.config import default_text, load_config

    text = default_text()
    example = text.index("# Example: a controller with 8 knobs")
    block = text[text.index("# [[midi.cc]]", example):text.index("\n[presets]\n")]
    lines = [line.removeprefix("#").removeprefix(" ") for line in block.splitlines()]
    path = tmp_path / "controller.toml"
    path.write_text("[midi]\nenabled = true\nport = \"MPK mini\"\n\n" + "\n".join(lines) + "\n")
    config = load_config(path)
    mappings = config.midi.mappings
    assert [m.cc for m in mappings.cc] == list(range(70, 78))
    assert len({m.knob for m in mappings.cc}) == 8
    assert [n.note for n in mappings.notes] == list(range(36, 44))
    assert {n.channel for n in mappings.notes} == {10}
    assert [n.preset for n in mappings.notes if n.action == "preset"] == list(range(len(config.presets)))
    assert mappings.notes[-1].action == "cancel" and mappings.program.channel == 10


def test_a_pad_for_a_preset_that_is_not_there_is_a_config_error(tmp_path):
    from oscgen.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    path.write_text('[midi]\n[[midi.note]]\nnote = 36\npreset = 1\n\n[presets]\nonly = { prompt = "one" }\n')
    with pytest.raises(ConfigError, match=r"c.toml:4: midi.note\[0\].preset = 1: only preset 0 exists \(numbered from 0"):
        load_config(path)


def test_clock_snap_announces_whole_bpm_and_only_when_the_snapped_tempo_moves():
    from oscgen.midi_map import MidiMapConfig, MidiMapper

    rng = random.Random(99)
    times = [t + (0.006 if rng.random() < 0.03 else 0.0) for t in clock_times(128.0, 16, 0.002, rng)]
    plain = tempos(MidiMapper(MidiMapConfig()), times)
    snapped = tempos(MidiMapper(MidiMapConfig(clock_snap=1.0)), times)
    assert any(t != round(t) for t in plain)  # what a jittered clock reads to 0.1 BPM: 127.9, 128.2...
    assert snapped == [128.0]  # once, whole, and then silence while it stays 128
    halves = tempos(MidiMapper(MidiMapConfig(clock_snap=0.5)), clock_times(97.3, 8, 0.0005, random.Random(3)))
    assert halves and halves[-1] == 97.5
