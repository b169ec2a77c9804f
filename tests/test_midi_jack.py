"""MIDI input through a real backend: python-rtmidi's JACK API against a private `jackd -d dummy`
server.  A sender port moves a CC and plays a note; ports vanish and come back; no backend gives
one warning.  (This machine has no ALSA sequencer, /dev/snd/seq, so ALSA is not exercised here.)"""

import logging
import queue
import subprocess
import sys

import mido
import pytest

from _jack_helpers import JackServer, Sender, jack_missing, wait_for
from oscgen.service.midi_input import MidiInput
from oscgen.midi_map import Generate, MidiMapper, SetKnob, parse_midi_mappings

MISSING = jack_missing()
needs_jack = pytest.mark.skipif(MISSING is not None, reason=f"no JACK MIDI here: {MISSING}")

MAPPINGS = {"cc": [{"cc": 21, "knob": "temperature", "min": 0.5, "max": 1.5}],
            "note": [{"note": 36, "action": "generate"}, {"note": 37, "preset": 2}]}


@pytest.fixture
def jack(monkeypatch):
    server = JackServer()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    yield server
    server.stop()


class Recorder:
    """The daemon's side in miniature: messages through the mapper, actions into a queue."""

    def __init__(self):
        self.mapper = MidiMapper(parse_midi_mappings(MAPPINGS))
        self.actions: queue.SimpleQueue = queue.SimpleQueue()
        self.seen: list = []

    def __call__(self, message, now):
        for action in self.mapper.handle(message, now):
            self.actions.put(action)
            self.seen.append(action)

    def next(self, timeout=10.0):
        return self.actions.get(timeout=timeout)


def cc(control, value):
    return mido.Message("control_change", control=control, value=value)


@needs_jack
def test_virtual_port_receives_cc_and_note(jack):
    rec = Recorder()
    midi = MidiInput(rec, api="jack", poll=0.2).start()
    try:
        wait_for(lambda: midi.backend == "jack" and "oscgen:oscgen" in jack.connections(), what="the virtual port")
        sender = Sender("daw", connect_to="oscgen:oscgen")
        sender.send_until(cc(21, 127), lambda: SetKnob("temperature", 1.5) in rec.seen)
        sender.send(mido.Message("note_on", note=37, velocity=90))
        sender.send(mido.Message("note_on", note=36, velocity=0))  # a note off: no job
        sender.send(mido.Message("note_on", note=36, velocity=64))
        actions = [rec.next() for _ in range(3)]
        assert actions[0] == SetKnob("temperature", 1.5)
        assert actions[1:] == [Generate(preset=2), Generate()]
        sender.close()
    finally:
        midi.close()


@needs_jack
def test_port_by_name_is_reopened_after_it_vanishes(jack, caplog):
    caplog.set_level(logging.INFO, logger="oscgen.midi")
    rec = Recorder()
    midi = MidiInput(rec, port="nanokontrol", virtual="", api="jack", poll=0.2).start()
    try:
        wait_for(lambda: "no input port matching 'nanokontrol'" in caplog.text, what="the missing-port warning")
        controller = Sender("nanoKONTROL2", virtual="nanoKONTROL2 MIDI 1")
        wait_for(lambda: midi.opened == "nanoKONTROL2:nanoKONTROL2 MIDI 1", what="the port to open")
        controller.send_until(cc(21, 0), lambda: SetKnob("temperature", 0.5) in rec.seen)

        controller.close()  # unplugged
        wait_for(lambda: midi.opened is None, what="the vanished port to be noticed")
        controller = Sender("nanoKONTROL2", virtual="nanoKONTROL2 MIDI 1")  # plugged back in
        wait_for(lambda: midi.opened is not None, what="the port to reopen")
        controller.send_until(cc(21, 127), lambda: SetKnob("temperature", 1.5) in rec.seen)
        controller.close()
        assert caplog.text.count("no input port matching") == 1  # one warning, not one per poll
        assert "went away; waiting for it to come back" in caplog.text
    finally:
        midi.close()


@needs_jack
def test_jack_server_restart_is_survived(jack, caplog):
    rec = Recorder()
    midi = MidiInput(rec, api="jack", poll=0.2).start()
    try:
        wait_for(lambda: "oscgen:oscgen" in jack.connections(), what="the virtual port")
        jack.stop()
        wait_for(lambda: midi.backend is None, what="the lost server to be noticed")
        assert "went away" in caplog.text
        again = JackServer(name=jack.name)
        try:
            wait_for(lambda: "oscgen:oscgen" in again.connections(), what="the virtual port to come back")
            sender = Sender("daw", connect_to="oscgen:oscgen")
            sender.send_until(cc(21, 127), lambda: SetKnob("temperature", 1.5) in rec.seen)
            sender.close()
        finally:
            again.stop()
    finally:
        midi.close()


def test_no_backend_is_one_warning_and_no_exception(monkeypatch, caplog):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "oscgen-test-no-such-server")
    midi = MidiInput(lambda m, t: None, port="anything", api="jack")
    for _ in range(3):  # three watcher polls
        midi.check()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["MIDI: no MIDI input (no JACK server named 'oscgen-test-no-such-server' is running); "
                        "OSC keeps working, MIDI starts when the backend appears"]


def test_midi_api_env_overrides_and_is_checked(monkeypatch):
    from oscgen.service.midi_input import MidiUnavailable, resolve_api

    monkeypatch.setenv("JACK_DEFAULT_SERVER", "oscgen-test-no-such-server")
    monkeypatch.setenv("OSCGEN_MIDI_API", "jack")
    with pytest.raises(MidiUnavailable, match="no JACK server"):
        resolve_api("alsa")
    monkeypatch.setenv("OSCGEN_MIDI_API", "beos")
    with pytest.raises(ValueError, match="OSCGEN_MIDI_API = 'beos': expected one of auto, alsa, jack"):
        resolve_api("auto")


@needs_jack
def test_midi_ports_command_lists_ports(jack):
    controller = Sender("MPK mini 3", virtual="MPK mini 3 MIDI 1")
    try:
        out = subprocess.run([sys.executable, "-m", "oscgen", "midi-ports", "--api", "jack"],
                             env=jack.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert f"MIDI backend: JACK (server {jack.name!r})" in out.stdout
        assert "  MPK mini 3:MPK mini 3 MIDI 1" in out.stdout.splitlines()
    finally:
        controller.close()


def test_midi_ports_command_without_a_backend():
    import os

    env = {**os.environ, "JACK_DEFAULT_SERVER": "oscgen-test-no-such-server"}
    out = subprocess.run([sys.executable, "-m", "oscgen", "midi-ports", "--api", "jack"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "oscgen: no MIDI backend: no JACK server named 'oscgen-test-no-such-server' is running" in out.stderr


@needs_jack
def test_midi_ports_with_no_ports_suggests_a_config_the_config_accepts(jack, tmp_path):
    import re

    from oscgen.config import load_config

    out = subprocess.run([sys.executable, "-m", "oscgen", "midi-ports", "--api", "jack"],
                         env=jack.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    suggested = re.search(r'\[midi\] (enabled = true).*\[midi\] (virtual = "[^"]+")', out.stdout)
    assert suggested, out.stdout
    path = tmp_path / "suggested.toml"
    path.write_text(f"[midi]\n{suggested.group(1)}\n{suggested.group(2)}\n")
    config = load_config(path)
    assert config.midi.enabled and config.midi.virtual == "oscgen"
