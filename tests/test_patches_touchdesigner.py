"""TouchDesigner: the real scripts in patches/touchdesigner/, imported as TouchDesigner imports
Text DATs, with small stand-ins for the operators they touch.  The OSC Out stand-in types values
as TouchDesigner's sendOSC documents (int -> i, float -> f, str -> s, bool -> T/F) and sends them
over a real 127.0.0.1 UDP socket, so what the daemon would receive is checked against its table."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import soundfile as sf
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import UDPClient

from oscgen.config import load_config
from oscgen.service import protocol
from tests._osc_helpers import DaemonProcess, OscCollector
from tests._patch_helpers import PATCHES, OscPeer, conforms

TD = PATCHES / "touchdesigner"


class Par:
    """A parameter: .val / .eval(); pulse(); tells the Parameter Execute DAT when its value changes."""

    def __init__(self, name, val=None, on_change=None):
        self.name, self._val, self.default, self.readOnly = name, val, None, False
        self.pulses = 0
        self.on_change = on_change

    @property
    def val(self):
        return self._val

    @val.setter
    def val(self, value):
        prev, self._val = self._val, value
        if self.on_change and value != prev:
            self.on_change(self, prev)

    def eval(self):
        return self._val

    def pulse(self):
        self.pulses += 1


class Pars:
    """op.par: attribute access to Par objects; assigning sets the value, as in TouchDesigner."""

    def __init__(self, pars):
        object.__setattr__(self, "_pars", {p.name: p for p in pars})

    def __getattr__(self, name):
        try:
            return self._pars[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        getattr(self, name).val = value


class Op:
    def __init__(self, *pars):
        self.par = Pars(pars)


class Table:
    """Table DAT: table[row_name, col] is None for a missing row; cells hold strings."""

    def __init__(self):
        self.rows = []

    def _row(self, name):
        return next((r for r in self.rows if r[0] == str(name)), None)

    def __getitem__(self, key):
        row = self._row(key[0])
        return None if row is None else row[key[1]]

    def __setitem__(self, key, value):
        self._row(key[0])[key[1]] = str(value)

    def appendRow(self, values):
        self.rows.append([str(v) for v in values])

    def value(self, name):
        return self[name, 1]


class OscOutDat:
    def __init__(self, port):
        self.client = UDPClient("127.0.0.1", port)

    def sendOSC(self, address, values, asBundle=False, useNonStandardTypes=True):
        builder = OscMessageBuilder(address)
        for v in values:
            if isinstance(v, bool):
                builder.add_arg(v, "T" if v else "F")
            elif isinstance(v, int):
                builder.add_arg(v, "i" if -(2**31) <= v < 2**31 else "h")
            elif isinstance(v, float):
                builder.add_arg(v, "f")
            elif isinstance(v, str):
                builder.add_arg(v, "s")
            else:
                raise TypeError(v)
        message = builder.build()
        self.client.send(message)
        return len(message.dgram)


class Page:
    """What comp.appendCustomPage returns: append* make parameters on the COMP."""

    def __init__(self, comp):
        self.comp, self.made = comp, []

    def _append(self, kind, name, label=None):
        par = Par(name, on_change=self.comp.on_change)
        self.comp.par._pars[name] = par
        self.made.append((kind, name, label))
        return [par]

    def appendStr(self, name, label=None):
        return self._append("Str", name, label)

    def appendFloat(self, name, label=None):
        return self._append("Float", name, label)

    def appendInt(self, name, label=None):
        return self._append("Int", name, label)

    def appendPulse(self, name, label=None):
        return self._append("Pulse", name, label)


class Panel(Op):
    def __init__(self):
        super().__init__()
        self.on_change = None
        self.page = None

    def appendCustomPage(self, name):
        self.page = Page(self)
        return self.page


@pytest.fixture
def td(monkeypatch):
    """The three scripts, freshly imported, wired to stand-in operators and a real OSC peer."""
    monkeypatch.syspath_prepend(str(TD))
    for name in ("oscgen_out", "oscgen_callbacks", "oscgen_parexec"):
        sys.modules.pop(name, None)
    out = importlib.import_module("oscgen_out")
    callbacks = importlib.import_module("oscgen_callbacks")
    parexec = importlib.import_module("oscgen_parexec")
    peer = OscPeer()
    panel = Panel()
    panel.on_change = parexec.onValueChange  # a Parameter Execute DAT watching the panel
    ops = {
        out.OSC_OUT: OscOutDat(peer.port),
        out.STATE: Table(),
        out.PANEL: panel,
        out.AUDIO: Op(Par("file", ""), Par("play", False), Par("cuepulse")),
    }
    for module in (out, callbacks):
        monkeypatch.setattr(module, "op", ops.get, raising=False)
    out.create_panel(panel)
    yield out, callbacks, parexec, ops, peer
    peer.close()


def point_osc_out_at(ops, out, port):
    """What changing the OSC Out DAT's Network Port does."""
    ops[out.OSC_OUT] = OscOutDat(port)


def receive(callbacks, address, *args):
    """What the OSC In DAT does for each message."""
    message = " ".join([address, *map(str, args)])
    callbacks.onReceiveOSC(None, 1, message, b"", 0.0, address, list(args), "127.0.0.1:9000")


def test_helpers_send_the_daemons_addresses_with_its_types(td):
    out, _, _, _, peer = td
    calls = [
        (lambda: out.set_knob("prompt", "  dark ambient drone "), ("/oscgen/prompt", ("dark ambient drone",))),
        (lambda: out.set_knob("temperature", 1), ("/oscgen/temperature", (1.0,))),
        (lambda: out.set_knob("top_k", 120.0), ("/oscgen/top_k", (120,))),
        (lambda: out.set_knob("seed", "-1"), ("/oscgen/seed", (-1,))),
        (lambda: out.set_knob("duration", 8), ("/oscgen/duration", (8.0,))),
        (lambda: out.set_knob("bars", 4), ("/oscgen/bars", (4.0,))),
        (lambda: out.set_knob("bpm", 96), ("/oscgen/bpm", (96.0,))),
        (lambda: out.set_knob("top_p", 0.5), ("/oscgen/top_p", (0.5,))),
        (lambda: out.set_knob("cfg", 3), ("/oscgen/cfg", (3.0,))),
        (lambda: out.set_knob("model", "tiny-random"), ("/oscgen/model", ("tiny-random",))),
        (lambda: out.generate(), ("/oscgen/generate", ())),
        (lambda: out.generate("lofi piano"), ("/oscgen/generate", ("lofi piano",))),
        (lambda: out.cancel(), ("/oscgen/cancel", ())),
        (lambda: out.cancel(3), ("/oscgen/cancel", (3,))),
        (lambda: out.cancel_take(3, 2.0), ("/oscgen/cancel_take", (3, 2))),
        (lambda: out.continue_take(), ("/oscgen/continue", ())),
        (lambda: out.continue_take("loop 1.wav"), ("/oscgen/continue", ("loop 1.wav",))),
        (lambda: out.stop(), ("/oscgen/stop", ())),
        (lambda: out.stop(4), ("/oscgen/stop", (4,))),
        (lambda: out.status(), ("/oscgen/status", ())),
        (lambda: out.ping(), ("/oscgen/ping", ())),
        (lambda: out.clear(), ("/oscgen/clear", ())),
        (lambda: out.unload(), ("/oscgen/unload", ())),
        (lambda: out.queue(), ("/oscgen/queue", ())),
        (lambda: out.preset("intro"), ("/oscgen/preset", ("intro",))),
        (lambda: out.preset(2), ("/oscgen/preset", (2,))),
        (lambda: out.learn("temperature"), ("/oscgen/learn", ("temperature",))),
    ]
    for call, expected in calls:
        call()
        got = peer.next()
        assert got == expected
        assert [type(a) for a in got[1]] == [type(a) for a in expected[1]]
        assert conforms(*got), got
    # every knob the scripts know is one the daemon echoes and accepts
    assert set(out.KNOBS) <= set(protocol.KNOBS)
    assert {f"/oscgen/{k}" for k in out.KNOBS} <= protocol.inbound_paths()
    with pytest.raises(KeyError, match="unknown knob"):
        out.set_knob("volume", 1)
    with pytest.raises(TypeError):
        out.send("/oscgen/seed", [True])  # would go out as OSC 'T'


def test_every_argument_free_address_has_a_helper(td):
    """The generated patches get a button for each of these from protocol.py (knobs.ACTIONS);
    the hand-written scripts must keep up: a helper named after the address sends it bare."""
    from patches.tools.knobs import ACTIONS

    out, _, _, _, peer = td
    for action in ACTIONS:
        getattr(out, {"continue": "continue_take"}.get(action.word, action.word))()
        assert peer.next() == (action.address, ()), action


def test_panel_buttons_and_knobs_send_through_the_parameter_execute_dat(td):
    out, _, parexec, ops, peer = td
    panel = ops[out.PANEL]
    kinds = {name: kind for kind, name, _ in panel.page.made}
    assert {kinds[p] for p in ("Topk", "Seed", "Variations", "Take")} == {"Int"}
    assert {kinds[p] for p in ("Temperature", "Duration", "Bars", "Bpm", "Topp", "Cfg")} == {"Float"}
    assert {kinds[p] for p in ("Prompt", "Model", "State", "Lastfile", "Lasterror")} == {"Str"}
    assert {kinds[p] for p in ("Generate", "Continue", "Cancel", "Stopjob", "Sync", "Ping", "Play", "Clear",
                               "Unload")} == {"Pulse"}

    panel.par.Temperature = 0.75  # the user drags the knob
    assert peer.next() == ("/oscgen/temperature", (0.75,))
    panel.par.Prompt = "rainy lofi"
    assert peer.next() == ("/oscgen/prompt", ("rainy lofi",))
    parexec.onPulse(panel.par.Generate)  # re-sends the prompt it shows, then generates
    assert peer.next() == ("/oscgen/prompt", ("rainy lofi",))
    assert peer.next() == ("/oscgen/generate", ())
    parexec.onPulse(panel.par.Cancel)
    assert peer.next() == ("/oscgen/cancel", ())
    parexec.onPulse(panel.par.Continue)
    assert peer.next() == ("/oscgen/continue", ())
    parexec.onPulse(panel.par.Stopjob)
    assert peer.next() == ("/oscgen/stop", ())
    parexec.onPulse(panel.par.Sync)
    assert peer.next() == ("/oscgen/status", ())


def test_param_echoes_update_the_panel_without_sending_them_back(td):
    out, callbacks, _, ops, peer = td
    panel, table = ops[out.PANEL], ops[out.STATE]
    receive(callbacks, "/oscgen/param/temperature", 0.5)
    receive(callbacks, "/oscgen/param/top_k", 99)
    receive(callbacks, "/oscgen/param/prompt", "dark ambient drone")
    receive(callbacks, "/oscgen/param/duration", 3)  # an int where a float is declared
    assert panel.par.Temperature.eval() == 0.5
    assert panel.par.Topk.eval() == 99 and type(panel.par.Topk.eval()) is int
    assert panel.par.Prompt.eval() == "dark ambient drone"
    assert panel.par.Duration.eval() == 3.0 and type(panel.par.Duration.eval()) is float
    assert table.value("temperature") == "0.5" and table.value("prompt") == "dark ambient drone"
    out.ping()
    assert peer.next() == ("/oscgen/ping", ())  # nothing was echoed back before it
    # moving the knob away from the echoed value sends again
    panel.par.Temperature = 0.875  # exact in float32
    assert peer.next() == ("/oscgen/temperature", (0.875,))
    # send_all pushes what the panel shows, bars only when set
    out.send_all()
    out.ping()
    sent = dict(peer.until("/oscgen/ping")[:-1])
    assert sent["/oscgen/temperature"] == (0.875,) and sent["/oscgen/top_k"] == (99,)
    assert sent["/oscgen/prompt"] == ("dark ambient drone",) and "/oscgen/bars" not in sent
    assert "/oscgen/model" not in sent  # empty: nothing to send
    assert all(conforms(a, args) for a, args in sent.items())


def test_job_replies_fill_the_state_table_and_done_loads_the_audio_file_in_chop(td):
    out, callbacks, _, ops, _ = td
    table, panel, audio = ops[out.STATE], ops[out.PANEL], ops[out.AUDIO]
    receive(callbacks, "/oscgen/queued", 4, 1)
    assert table.value("state") == "queued (1 ahead)" and table.value("job") == "4"
    receive(callbacks, "/oscgen/started", 4)
    assert table.value("state") == "running" and table.value("progress") == "0.0"
    receive(callbacks, "/oscgen/progress", 4, 0.25)
    assert table.value("progress") == "0.25" and panel.par.Progress.eval() == 0.25
    receive(callbacks, "/oscgen/done", 4, "/music/oscgen/take 4.wav", 2.5)
    assert audio.par.file.eval() == "/music/oscgen/take 4.wav"
    assert audio.par.play.eval() is True and audio.par.cuepulse.pulses == 1  # autoplay from the top
    assert table.value("state") == "done" and table.value("last_file") == "/music/oscgen/take 4.wav"
    assert panel.par.Lastfile.eval() == "/music/oscgen/take 4.wav" and panel.par.Seconds.eval() == 2.5
    receive(callbacks, "/oscgen/error", -1, "/oscgen/top_k expects an int")
    assert table.value("state") == "error" and panel.par.Lasterror.eval() == "/oscgen/top_k expects an int"
    assert table.value("job") == "4"  # -1 means 'not about a job': the last job stays shown
    receive(callbacks, "/oscgen/cancelled", 5)
    assert table.value("state") == "cancelled" and table.value("job") == "5"
    receive(callbacks, "/oscgen/ready", "tiny-random", "random weights: the output is noise")
    assert table.value("state") == "ready" and table.value("model") == "tiny-random"
    assert table.value("daemon") == "ready: tiny-random - random weights: the output is noise"
    receive(callbacks, "/oscgen/status", -1, 2, "busy")
    assert table.value("daemon") == "worker busy, 2 waiting"
    receive(callbacks, "/oscgen/status", 6, 0, "busy")  # two jobs running as one batch
    receive(callbacks, "/oscgen/running", 6)
    receive(callbacks, "/oscgen/running", 7)
    assert table.value("running") == "6 7" and table.value("job") == "6"
    receive(callbacks, "/oscgen/status", -1, 0, "ready")
    assert table.value("running") == ""
    receive(callbacks, "/oscgen/preset", 0, "ambient")
    assert table.value("daemon") == "preset ambient (0) loaded"
    receive(callbacks, "/oscgen/shutdown", "SIGTERM")
    assert table.value("state") == "stopped" and table.value("daemon") == "stopped: SIGTERM"
    receive(callbacks, "/oscgen/pong")
    assert table.value("pong")
    receive(callbacks, "/oscgen/learned", "cfg", 1, 74)
    assert table.value("learned") == "cfg <- MIDI channel 1 CC 74"
    # bad or unknown replies are shown, never raised inside TouchDesigner's cook
    receive(callbacks, "/oscgen/done", 4)
    assert table.value("bad_reply") == "/oscgen/done 4"
    receive(callbacks, "/elsewhere", 1)
    assert table.value("unknown_reply") == "/elsewhere 1"


def test_each_take_of_a_job_of_variations_is_shown_and_listed(td):
    out, callbacks, _, ops, _ = td
    ops[out.TAKES] = takes = Table()
    table, panel, audio = ops[out.STATE], ops[out.PANEL], ops[out.AUDIO]
    panel.par.Variations = 2  # the user turns the knob
    receive(callbacks, "/oscgen/done", 7, "/music/a_take1.wav", 1.0)
    receive(callbacks, "/oscgen/done", 7, "/music/a_take2.wav", 1.0)
    assert panel.par.Take.eval() == 2 and table.value("take") == "2" and audio.par.file.eval() == "/music/a_take2.wav"
    receive(callbacks, "/oscgen/done", 8, "/music/b.wav", 0.5)
    assert panel.par.Take.eval() == 1
    assert takes.rows == [["7", "1", "/music/a_take1.wav", "1.0"], ["7", "2", "/music/a_take2.wav", "1.0"],
                          ["8", "1", "/music/b.wav", "0.5"]]


def test_callbacks_handle_every_reply_the_daemon_sends(td):
    _, callbacks, _, _, _ = td
    handled = set(callbacks.HANDLERS) | {"/oscgen/param/NAME"}
    assert handled == {a.path for a in protocol.OUTBOUND}


def test_panel_defaults_are_the_shipped_configs(td):
    out = td[0]
    shipped = load_config().defaults
    for knob, (kind, default) in out.KNOBS.items():
        if kind is not str:  # prompt and model start empty: nothing to send until typed
            assert default == shipped[knob] and type(default) is type(shipped[knob]), knob


def test_the_scripts_drive_a_real_daemon_to_a_file_in_the_audio_file_in_chop(td, tmp_path):
    """End to end: panel -> OSC Out -> oscgen serve (tiny model) -> replies -> onReceiveOSC, as the
    OSC In DAT calls it for each message in order -> the Audio File In CHOP gets the finished WAV."""
    out, callbacks, parexec, ops, _ = td
    panel, table, audio = ops[out.PANEL], ops[out.STATE], ops[out.AUDIO]
    with OscCollector() as osc_in, DaemonProcess(tmp_path, osc_in) as daemon:
        daemon.wait_ready()
        point_osc_out_at(ops, out, daemon.port)
        since = osc_in.mark()
        parexec.onPulse(panel.par.Sync)  # registers this computer; the knobs come back
        osc_in.wait_for("/oscgen/ready", since=since)
        panel.par.Prompt = "glassy bells"
        panel.par.Duration = 0.5
        panel.par.Seed = 11
        parexec.onPulse(panel.par.Generate)
        done = osc_in.wait_for("/oscgen/done", since=since, timeout=180)
        for address, args in osc_in.received(since=since):
            receive(callbacks, address, *args)
    path = Path(done[1])
    assert path.is_file() and path.parent == daemon.out
    assert sf.info(str(path)).frames == 25 * 640  # 0.5 s at 32 kHz
    assert audio.par.file.eval() == str(path) and audio.par.cuepulse.pulses == 1
    assert table.value("state") == "done" and panel.par.Lastfile.eval() == str(path)
    assert panel.par.Progress.eval() == 1.0
    assert panel.par.Prompt.eval() == "glassy bells" and panel.par.Duration.eval() == 0.5
    assert table.value("model") == "tiny-random"
    assert table.value("last_error") is None, table.rows
