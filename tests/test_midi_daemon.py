"""`oscgen serve` with MIDI on, end to end: the daemon as a subprocess opens its virtual port on a
private `jackd -d dummy` server; a real JACK MIDI sender moves CCs, plays notes, teaches a knob
and sends clock; a real OSC client sees the param echoes, the job replies and the WAV on disk."""

import json
import os
import time
import tomllib
import urllib.request

import mido
import pytest
import soundfile

from _osc_helpers import DaemonProcess, OscCollector, wav_files
from _jack_helpers import JackServer, Sender, jack_missing

MISSING = jack_missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no JACK MIDI here: {MISSING}")

CONFIG = """\
# a performer's config: comments must survive MIDI learn
[midi]
enabled = true
api = "jack"          # the test's private JACK server
virtual = "oscgen"

[[midi.cc]]           # knob 1
cc = 21
knob = "temperature"
min = 0.5
max = 1.5

[[midi.note]]         # pad 1: generate, velocity -> cfg for that job
note = 36
velocity = "cfg"
velocity_min = 2.0
velocity_max = 4.0

[[midi.note]]         # pad 2: two takes in one pass
note = 37
variations = 2
"""


@pytest.fixture
def jack(monkeypatch):
    server = JackServer()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)  # for this process's sender ports too
    yield server
    server.stop()


@pytest.fixture
def replies():
    with OscCollector() as collector:
        yield collector


@pytest.fixture
def daemon(tmp_path, replies, jack):
    with DaemonProcess(tmp_path, replies, config=CONFIG, env=jack_env(jack.name)) as d:
        d.wait_ready()
        d.wait_log(r"MIDI: virtual input port 'oscgen' open")
        yield d


def jack_env(server: str) -> dict:
    # JACK_NO_START_SERVER: libjack in the daemon must never spawn a jackd the test cannot stop
    return {"JACK_DEFAULT_SERVER": server, "JACK_NO_START_SERVER": "1"}


def cc(control, value, channel=0):
    return mido.Message("control_change", control=control, value=value, channel=channel)


def test_cc_is_echoed_and_a_pad_generates_a_wav(daemon, replies, tmp_path):
    sender = Sender("controller", connect_to="oscgen:oscgen")
    try:
        sender.send_until(cc(21, 127), lambda: [1.5] in replies.received("/oscgen/param/temperature"))
        since = replies.mark()
        sender.send(cc(21, 0))
        assert replies.wait_for("/oscgen/param/temperature", since=since) == [0.5]
        # OSCQuery's VALUE follows MIDI as it follows OSC (one state, whatever turned the knob)
        oscquery = int(daemon.wait_log(r"OSCQuery on http://127\.0\.0\.1:(\d+)/").group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{oscquery}/oscgen/temperature?VALUE", timeout=10) as reply:
            assert json.loads(reply.read()) == {"VALUE": [0.5]}

        daemon.client.send("/oscgen/prompt", "midi test")
        daemon.client.send("/oscgen/duration", 0.4)
        replies.wait_for("/oscgen/param/duration", lambda a: a == [pytest.approx(0.4)])
        since = replies.mark()
        sender.send(mido.Message("note_on", note=36, velocity=127, channel=9))
        job, position = replies.wait_for("/oscgen/queued", since=since)
        assert replies.wait_for("/oscgen/started", since=since) == [job]
        done = replies.wait_for("/oscgen/done", since=since, timeout=180)
        assert done[0] == job
        wav = done[1]
        audio, rate = soundfile.read(wav, dtype="float32")
        assert rate == 32000 and len(audio) == round(0.4 * 50) * 640
        assert [p.name for p in wav_files(daemon.out)] == [wav.rsplit("/", 1)[-1]]
        sidecar = json.loads(open(wav[:-4] + ".json").read())
        assert sidecar["temperature"] == 0.5  # the knob MIDI set
        assert sidecar["cfg_scale"] == 4.0  # velocity 127 -> velocity_max, for this job only
        since = replies.mark()
        daemon.client.send("/oscgen/status")
        assert replies.wait_for("/oscgen/param/cfg", since=since) == [3.0]  # the live knob is untouched
        # pad 2 asks for variations: one job, two takes, two WAVs; the knob stays 1
        since = replies.mark()
        sender.send(mido.Message("note_on", note=37, velocity=100, channel=9))
        job, _ = replies.wait_for("/oscgen/queued", since=since)
        first = replies.wait_for("/oscgen/done", lambda a: a[0] == job, since=since, timeout=180)
        second = replies.wait_for("/oscgen/done", lambda a: a[0] == job and a != first, since=since, timeout=180)
        takes = [json.loads(open(d[1][:-4] + ".json").read()) for d in (first, second)]
        assert sorted(t["take"] for t in takes) == [1, 2] and {t["takes"] for t in takes} == {2}
        since = replies.mark()
        daemon.client.send("/oscgen/variations")
        assert replies.wait_for("/oscgen/param/variations", since=since) == [1]
    finally:
        sender.close()


def test_learn_maps_the_next_cc_and_saves_it_keeping_comments(daemon, replies, tmp_path):
    config_path = tmp_path / "oscgen-test.toml"
    sender = Sender("controller", connect_to="oscgen:oscgen")
    try:
        # make sure the connection carries data before learning (an unmapped CC goes nowhere)
        sender.send_until(cc(21, 127), lambda: [1.5] in replies.received("/oscgen/param/temperature"))
        since = replies.mark()
        daemon.client.send("/oscgen/learn", "cfg")
        daemon.wait_log(r"midi learn: move a control")
        sender.send(cc(50, 64, channel=2))
        assert replies.wait_for("/oscgen/learned", since=since) == ["cfg", 3, 50]
        daemon.wait_log(r"midi learn: saved into")
        since = replies.mark()
        sender.send(cc(50, 127, channel=2))
        assert replies.wait_for("/oscgen/param/cfg", since=since) == [10.0]

        text = config_path.read_text()
        assert "# a performer's config: comments must survive MIDI learn" in text
        assert 'api = "jack"          # the test\'s private JACK server' in text
        entries = tomllib.loads(text)["midi"]["cc"]
        assert {"cc": 50, "knob": "cfg", "channel": 3, "min": 1.0, "max": 10.0, "curve": "linear"} in entries

        since = replies.mark()
        daemon.client.send("/oscgen/learn", "prompt")
        assert "MIDI can drive temperature" in replies.wait_for("/oscgen/error", since=since)[1]
    finally:
        sender.close()


def test_midi_clock_sets_the_tempo(daemon, replies):
    sender = Sender("drum machine", connect_to="oscgen:oscgen")
    try:
        sender.send_until(cc(21, 127), lambda: [1.5] in replies.received("/oscgen/param/temperature"))
        since = replies.mark()
        sender.send(mido.Message("start"))
        period = 60.0 / 132.0 / 24
        t0 = time.monotonic()
        for i in range(24 * 3):  # three beats at 132 bpm, on an absolute schedule
            time.sleep(max(0.0, t0 + i * period - time.monotonic()))
            sender.send(mido.Message("clock"))
        (bpm,) = replies.wait_for("/oscgen/tempo", since=since)
        # sleep() on a busy CI machine is the jitter source here; precision is unit-tested
        assert 132 * 0.85 < bpm < 132 * 1.15
        assert replies.wait_for("/oscgen/param/bpm", since=since) == [pytest.approx(bpm)]
        daemon.wait_log(r"midi clock: start")
        assert replies.wait_for("/oscgen/transport", since=since) == ["start"]  # to every client
        sender.send(mido.Message("stop"))
        replies.wait_for("/oscgen/transport", lambda a: a == ["stop"], since=since)
        sender.send(mido.Message("continue"))
        replies.wait_for("/oscgen/transport", lambda a: a == ["continue"], since=since)
    finally:
        sender.close()


CONFIG_CONTROLLER = """\
[midi]
enabled = true
api = "jack"
virtual = ""              # no virtual port: only the hardware controller
port = "nanokontrol"      # case does not matter

[[midi.cc]]
cc = 16
knob = "cfg"
min = 1.0
max = 9.0

[midi.program]            # program change N -> preset N

[presets]
ambient = { prompt = "slow ambient pads", bars = 8, bpm = 70 }
drums = { prompt = "tight funk drums", bars = 4, bpm = 100 }
"""


def test_controller_port_by_name_program_change_and_replug(tmp_path, replies, jack):
    """A controller found by a substring of its port name; program change loads a preset; the
    controller unplugged and plugged back in is picked up again by the running daemon."""
    with DaemonProcess(tmp_path, replies, config=CONFIG_CONTROLLER, env=jack_env(jack.name)) as daemon:
        daemon.wait_ready()
        sender = Sender("controller", virtual="nanoKONTROL2 MIDI 1")
        try:
            daemon.wait_log(r"MIDI: listening to '.*nanoKONTROL2 MIDI 1'")
            sender.send_until(cc(16, 127), lambda: [9.0] in replies.received("/oscgen/param/cfg"))

            since = replies.mark()
            sender.send(mido.Message("program_change", program=1))
            assert replies.wait_for("/oscgen/preset", since=since) == [1, "drums"]
            assert replies.wait_for("/oscgen/param/prompt", since=since) == ["tight funk drums"]
            assert replies.wait_for("/oscgen/param/bpm", since=since) == [100.0]

            mark = daemon.log_mark()
            sender.close()
            sender = None
            daemon.wait_log(r"MIDI: input port '.*nanoKONTROL2 MIDI 1' went away", since=mark)
            sender = Sender("controller", virtual="nanoKONTROL2 MIDI 1")
            daemon.wait_log(r"MIDI: listening to '.*nanoKONTROL2 MIDI 1'", since=mark)
            sender.send_until(cc(16, 0), lambda: [1.0] in replies.received("/oscgen/param/cfg"))
        finally:
            if sender is not None:
                sender.close()
        assert daemon.stop() == 0


def test_no_jack_server_is_one_warning_osc_works_and_midi_starts_with_jack(tmp_path, replies, monkeypatch):
    """MIDI enabled but its backend is not running: one warning, the daemon serves OSC; once the
    JACK server starts, the daemon opens its port without a restart."""
    server = f"oscgen-test-late-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server)
    with DaemonProcess(tmp_path, replies, config=CONFIG, env=jack_env(server)) as daemon:
        daemon.wait_ready()
        daemon.wait_log(rf"MIDI: no MIDI input \(no JACK server named '{server}' is running\); OSC keeps working")
        since = replies.mark()
        daemon.client.send("/oscgen/ping")
        replies.wait_for("/oscgen/pong", since=since)
        daemon.client.send("/oscgen/temperature", 0.8)
        assert replies.wait_for("/oscgen/param/temperature", since=since) == [pytest.approx(0.8)]

        with JackServer(server):
            daemon.wait_log(r"MIDI: virtual input port 'oscgen' open", timeout=15)
            sender = Sender("controller", connect_to="oscgen:oscgen")
            try:
                sender.send_until(cc(21, 127), lambda: [1.5] in replies.received("/oscgen/param/temperature"))
            finally:
                sender.close()
            assert daemon.stop() == 0
        warnings = [line for line in daemon.lines if "no MIDI input" in line]
        assert len(warnings) == 1, warnings
