"""Writes patches/oscgen.pd, the vanilla Pure Data (0.52+) front end for ``oscgen serve``.

The patch is generated so that its OSC addresses, types and default ports come from the daemon's
table (oscgen/service/protocol.py) and every connection is made by handle.  Edit this file, then
run ``python patches/tools/build.py`` and commit both; tests/test_patches_pd.py fails when the
committed patch and this generator disagree.

Layout of the patch: the top level is the user interface (prompt, knobs, buttons, progress, last
file, last error, preview) plus an inlet and an outlet so it also works as an abstraction
``[oscgen DAEMON_PORT REPLY_PORT]``; the wiring lives in four commented subpatches: send-to-daemon
(pd_send.py), replies (pd_replies.py), preview and inlet-outlet (here)."""

from __future__ import annotations

from oscgen.service import protocol
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS
from patches.tools.pd_replies import replies
from patches.tools.pd_send import send_to_daemon
from patches.tools.pdwriter import Canvas

PORT = protocol.DEFAULT_LISTEN_PORT
KNOB_NAMES = [k.name for k in NUMBER_KNOBS]
SEND_ALL = "sendall"  # the patch's own: every control re-sends its value
#: on-screen label and colour of a button, where not its action's name
BUTTONS = {
    "continue": ("continue_last", "#c4fcc4"),
    "cancel": ("cancel", "#fcc4c4"),
    "stop_job": ("stop_keep_audio", "#fce4c4"),
    "status": ("sync_from_daemon", None),
    "sendall": ("send_all_to_daemon", None),
    "clear": ("clear_queue", "#fcc4c4"),
    "unload": ("unload_model", None),
    "queue": ("list_queue", None),
}
ROWS = 5  # buttons per column under GENERATE


# -- the preview and the abstraction's inlet ----------------------------------------------

def preview() -> Canvas:
    c = Canvas(820, 640)
    c.comment(10, 5, "PREVIEW. [soundfiler] reads the finished WAV into the array $0-preview. "
                     "The WAV is 32 kHz, so it is played with [vline~] + [tabread4~] at the file's "
                     "own rate ([tabplay~] would play it at Pd's rate: sharp by ~7 semitones at 48 kHz).", 110)
    c.obj(600, 60, "array define $0-preview")
    load = c.obj(10, 70, "r $0-load")
    named = c.obj(10, 95, "list append $0-preview")
    read = c.obj(10, 120, "list prepend read -resize -maxsize 1e+07")
    trim = c.obj(10, 145, "list trim")
    sf = c.obj(10, 170, "soundfiler")
    c.chain(load, named, read, trim, sf)
    info = c.obj(200, 200, "unpack f")
    c.connect(sf, 1, info)
    c.comment(290, 190, "<- right outlet: sample rate, header, channels ... (comes first)", 30)
    loaded = c.obj(10, 200, "t b f f")
    c.connect(sf, 0, loaded)
    report = c.obj(120, 250, "pack f f")
    c.connect(info, 0, report, 1)
    c.connect(loaded, 1, report)
    tell = c.obj(120, 275, "list prepend preview")
    tell_trim = c.obj(120, 300, "list trim")
    c.chain(report, tell, tell_trim)
    c.connect(tell_trim, 0, c.obj(120, 325, "s $0-events"))
    c.connect(tell_trim, 0, c.obj(250, 325, "print oscgen"))
    auto = c.obj(10, 250, "spigot")
    c.connect(loaded, 0, auto)
    c.connect(c.obj(60, 225, "r $0-autoplay"), 0, auto, 1)
    c.connect(auto, 0, c.obj(10, 280, "s $0-play-in"))

    # play: index ramp 0 -> N over N/sr seconds, and a gate that closes at the end
    play = c.obj(10, 380, "r $0-play")
    n = c.obj(10, 405, "f")
    c.connect(loaded, 2, n, 1)
    c.chain(play, n)
    n_t = c.obj(10, 430, "t f f")
    c.connect(n, 0, n_t)
    ms = c.obj(100, 455, "* 1000")
    per_sr = c.obj(100, 480, "/ 32000")
    c.connect(info, 0, per_sr, 1)
    c.connect(n_t, 1, ms)
    c.connect(ms, 0, per_sr)
    both = c.obj(10, 505, "pack f f")
    c.connect(n_t, 0, both)
    c.connect(per_sr, 0, both, 1)
    ramp = c.msg(10, 530, "0, $1 $2")
    gate = c.msg(130, 530, "1, 0 0 $2")
    c.connect(both, 0, ramp)
    c.connect(both, 0, gate)
    stop = c.obj(260, 505, "r $0-stop")
    off = c.msg(260, 530, "0")
    c.connect(stop, 0, off)
    index = c.obj(10, 560, "vline~")
    env = c.obj(130, 560, "vline~")
    c.connect(ramp, 0, index)
    c.connect(gate, 0, env)
    c.connect(off, 0, env)
    table = c.obj(10, 590, "tabread4~ $0-preview")
    gated = c.obj(10, 620, "*~")
    c.connect(index, 0, table)
    c.connect(table, 0, gated)
    c.connect(env, 0, gated, 1)
    volume = c.obj(400, 530, "r $0-volume")
    smooth = c.obj(400, 555, "pack f 30")
    vol_line = c.obj(400, 580, "line~")
    c.chain(volume, smooth, vol_line)
    out = c.obj(10, 650, "*~")
    c.connect(gated, 0, out)
    c.connect(vol_line, 0, out, 1)
    dac = c.obj(10, 680, "dac~")
    c.connect(out, 0, dac, 0)
    c.connect(out, 0, dac, 1)
    c.comment(80, 680, "<- mono preview to both speakers (turn DSP on)", 40)
    c.height = 740
    return c


def inlet_outlet() -> Canvas:
    c = Canvas(1000, 560)
    c.comment(10, 5, "ABSTRACTION INLET: drives the same controls as the mouse. Messages: prompt "
                     "<words>, duration bars bpm temperature top_k top_p cfg seed <number>, model "
                     "<name>, host <address>, " + ", ".join(a.name for a in ACTIONS) + " (continue <file name>: "
                     "continue that WAV), sendall, "
                     "play, stop (the preview; stop_job is /oscgen/stop), autoplay 0/1, volume 0-1, "
                     "preset <number or name>, learn <knob>, cancel_take <job> <take> (one take of a job of "
                     "variations, 1 = the first).", 120)
    inlet = c.obj(10, 70, "r $0-from-inlet")
    words = ["prompt", *KNOB_NAMES, "model", "host", *(a.name for a in ACTIONS), SEND_ALL, "play", "stop",
             "autoplay", "volume", "preset", "learn", "cancel_take"]
    route = c.obj(10, 100, "route " + " ".join(words))
    c.connect(inlet, 0, route)
    for i, w in enumerate(words):
        x, y = 10 + 150 * (i % 6), 170 + 70 * (i // 6)
        # controls go to their box ($0-NAME-in); preset, learn and cancel_take have none: straight to sending
        s = c.obj(x, y + 25, f"s $0-{w}" if w in ("preset", "learn", "cancel_take") else f"s $0-{w}-in")
        if w == "continue":
            # 'continue' alone: the button (the last take); 'continue loop 1.wav': that file
            bare = c.obj(x, y, "route bang")
            c.connect(route, i, bare)
            c.connect(bare, 0, s)
            named = c.obj(x + 70, y + 25, "list")
            c.connect(bare, 1, named)
            c.connect(named, 0, c.obj(x + 70, y + 50, "s $0-continue-file"))
        elif w in ("prompt", "model", "host"):
            # 'prompt dark drone' -> list dark drone; 'model x' -> symbol x
            convert = c.obj(x, y, "list" if w == "prompt" else "symbol")
            c.connect(route, i, convert)
            c.connect(convert, 0, s)
        else:
            c.connect(route, i, s)
    bottom = 170 + 70 * -(-len(words) // 6)
    unknown = c.obj(10, bottom + 10, "print oscgen-unknown-inlet-message")
    c.connect(route, len(words), unknown)
    c.height = bottom + 80
    return c


# -- the top level -----------------------------------------------------------------------------

def build() -> str:
    c = Canvas(940, 720, font=12)
    c.comment(20, 10, "oscgen - text to music over OSC. 1) start the daemon: oscgen serve  "
                      "2) type a prompt and press Enter  3) click GENERATE. The knobs follow the "
                      "daemon (and any other patch talking to it).", 120)
    # prompt
    c.comment(20, 60, "PROMPT (click, type, press Enter):", 50)
    c.listbox(20, 85, 70, receive="$0-prompt-in", send="$0-prompt")

    # knobs
    c.comment(20, 125, "KNOBS (drag or type, Enter) - sent on change:", 50)
    y = 150
    for knob in NUMBER_KNOBS:
        lo, hi = knob.range or (0, 0)  # Pd: 0 0 = no limits
        c.floatatom(20, y, 8, label=knob.name, receive=f"$0-{knob.name}-in", send=f"$0-{knob.name}",
                    lo=lo, hi=hi)
        c.comment(190, y, knob.hint, 40)
        y += 28
    c.symbolatom(20, y, 22, label="model", receive="$0-model-in", send="$0-model")
    c.comment(320, y, "musicgen-small / musicgen-medium / tiny-random / a folder", 60)
    y += 28
    c.symbolatom(20, y, 22, label="daemon_host", receive="$0-host-in", send="$0-host")
    c.comment(320, y, f"reconnects on Enter (port $1, default {PORT})", 60)

    # buttons: GENERATE, then every other action of knobs.ACTIONS in two columns
    bx = 520
    c.comment(bx, 125, "ACTIONS:", 20)
    c.bng(bx, 150, 40, "GENERATE", send="$0-generate", receive="$0-generate-in", color="#c4fcc4")
    others = [a for a in ACTIONS if a.name != "generate"] + [SEND_ALL]
    for i, name in enumerate(a if isinstance(a, str) else a.name for a in others):
        label, color = BUTTONS.get(name, (name, None))
        c.bng(bx + 180 * (i // ROWS), 200 + 35 * (i % ROWS), 25, label, send=f"$0-{name}",
              receive=f"$0-{name}-in", **({"color": color} if color else {}))
    c.bng(bx + 180, 157, 25, "alive", receive="$0-alive-in", color="#fcfcc4")

    # status
    sy = 475
    c.comment(20, sy, "STATUS (from the daemon's replies):", 36)
    c.symbolatom(20, sy + 25, 10, label="state", receive="$0-state-in")
    c.floatatom(200, sy + 25, 5, label="job", receive="$0-job-in")
    c.hsl(330, sy + 27, 300, 18, 0, 1, label="progress", receive="$0-progress-in")
    c.floatatom(660, sy + 25, 5, label="s_left", receive="$0-eta-in")
    c.symbolatom(20, sy + 55, 70, label="last_file", receive="$0-path-in", label_pos=3)
    c.floatatom(760, sy + 55, 6, label="seconds", receive="$0-seconds-in")
    c.floatatom(860, sy + 55, 3, label="take", receive="$0-take-in")
    c.listbox(20, sy + 100, 70, label="daemon", receive="$0-daemon-in", label_pos=3)
    c.listbox(20, sy + 145, 70, label="last_error", receive="$0-error-in", label_pos=3)
    c.comment(20, sy + 190, "With variations > 1 each take of a job arrives as its own done: last_file "
                            "shows each in turn, take counts them, the Pd window lists them all.", 100)

    # preview
    py = 695
    c.comment(20, py, "PREVIEW (the finished WAV - turn DSP on to hear it):", 60)
    c.bng(20, py + 25, 25, "play", send="$0-play", receive="$0-play-in")
    c.bng(100, py + 25, 25, "stop", send="$0-stop", receive="$0-stop-in")
    c.tgl(180, py + 27, 20, "autoplay", send="$0-autoplay", receive="$0-autoplay-in", on=True)
    c.hsl(300, py + 30, 150, 15, 0, 1, label="volume", send="$0-volume", receive="$0-volume-in",
          init_value=0.7)
    c.msg(500, py + 27, "; pd dsp 1")
    c.msg(600, py + 27, "; pd dsp 0")
    c.comment(700, py + 27, "<- DSP on / off", 20)

    # wiring
    wy = 775
    c.comment(20, wy, "WIRING (open to read):", 30)
    x = 20
    for title, canvas in (("send-to-daemon", send_to_daemon()), ("replies", replies()),
                          ("preview", preview()), ("inlet-outlet", inlet_outlet())):
        c.subpatch(x, wy + 25, title, canvas)
        x += 8 * len(f"pd {title}") + 30
    c.comment(20, wy + 55, "As an abstraction: [oscgen DAEMON_PORT REPLY_PORT] - messages into the "
                           "inlet (see inlet-outlet), every daemon reply out of the outlet.", 90)
    inlet = c.obj(760, wy + 25, "inlet")
    c.connect(inlet, 0, c.obj(760, wy + 50, "s $0-from-inlet"))
    events = c.obj(860, wy + 25, "r $0-events")
    c.connect(events, 0, c.obj(860, wy + 50, "outlet"))
    c.height = 910
    return c.render() + "\n"
