"""Writes patches/oscgen.maxpat, the Max/MSP (and Max for Live) front end for ``oscgen serve``.

Generated for the same reason as the Pd patch: addresses, types and ports come from the daemon's
table, and every patch cord is made by handle with inlet/outlet counts that a test checks.  The
presentation view is the device view: it fits Live's 169-pixel device height."""

from __future__ import annotations

import json

from oscgen.service import protocol
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS

PORT, REPLY_PORT = protocol.DEFAULT_LISTEN_PORT, protocol.DEFAULT_REPLY_PORT
# '---' makes the name local to one device in Max for Live (two oscgen devices, two buffers);
# in plain Max it is just part of the name.
BUFFER = "---oscgen_preview"

# Inlets, outlets and outlet types of the objects used, as Max reports them.
FIXED = {
    "udpsend": (1, 0, []),
    "udpreceive": (1, 1, [""]),
    "prepend": (1, 1, [""]),
    "tosymbol": (1, 1, [""]),
    "loadbang": (1, 1, ["bang"]),
    "print": (1, 0, []),
    "buffer~": (1, 2, ["float", "bang"]),
    "play~": (1, 2, ["signal", "bang"]),
    "*~": (2, 1, ["signal"]),
    "dac~": (2, 0, []),
    "gate": (2, 1, [""]),
    "zl": (2, 2, ["", ""]),
    "change": (1, 3, ["", "int", "int"]),
}
TRIGGER_TYPES = {"b": "bang", "l": "", "a": "", "s": "", "f": "float", "i": "int"}
UNPACK_TYPES = {"0": "int", "0.": "float", "s": ""}
UI = {  # maxclass: (inlets, outlets, outlettype)
    "textedit": (1, 4, ["", "int", "", ""]),
    "flonum": (1, 2, ["", "bang"]),
    "number": (1, 2, ["", "bang"]),
    "button": (1, 1, ["bang"]),
    "toggle": (1, 1, ["int"]),
    "slider": (1, 1, [""]),
    "message": (2, 1, [""]),
    "comment": (1, 0, []),
    "umenu": (1, 3, ["int", "", ""]),  # outlets: index, the item's text, the item's text as a list
}


def newobj_io(text: str) -> tuple[int, int, list[str]]:
    cls, *args = text.split()
    if cls in ("t", "trigger"):
        return 1, len(args), [TRIGGER_TYPES[a] for a in args]
    if cls == "route":
        return 2, len(args) + 1, [""] * (len(args) + 1)
    if cls == "unpack":
        return 1, len(args), [UNPACK_TYPES[a] for a in args]
    return FIXED[cls]


class MaxPatch:
    def __init__(self):
        self.boxes: list[dict] = []
        self.lines: list[dict] = []

    def _box(self, maxclass, x, y, w, h, io, text=None, present=None, **attrs) -> str:
        box_id = f"obj-{len(self.boxes) + 1}"
        inlets, outlets, types = io
        box = {"id": box_id, "maxclass": maxclass, "numinlets": inlets, "numoutlets": outlets}
        if outlets:
            box["outlettype"] = types
        box["patching_rect"] = [float(x), float(y), float(w), float(h)]
        if present is not None:
            box["presentation"] = 1
            box["presentation_rect"] = [float(v) for v in present]
        if text is not None:
            box["text"] = text
        box.update(attrs)
        self.boxes.append({"box": box})
        return box_id

    def obj(self, text, x, y, w=None) -> str:
        return self._box("newobj", x, y, w or max(40, 7 * len(text) + 10), 22, newobj_io(text), text)

    def msg(self, text, x, y, w=None, present=None) -> str:
        return self._box("message", x, y, w or max(40, 7 * len(text) + 10), 22, UI["message"], text, present)

    def comment(self, text, x, y, w=200, h=20, present=None) -> str:
        lines = max(1, 7 * len(text) // max(w, 1) + 1)
        return self._box("comment", x, y, w, max(h, 20 * lines), UI["comment"], text, present)

    def ui(self, maxclass, x, y, w, h, present=None, **attrs) -> str:
        return self._box(maxclass, x, y, w, h, UI[maxclass], None, present, **attrs)

    def connect(self, src, outlet, dst, inlet=0):
        self.lines.append({"patchline": {"source": [src, outlet], "destination": [dst, inlet]}})

    def chain(self, *ids):
        for a, b in zip(ids, ids[1:]):
            self.connect(a, 0, b, 0)

    def render(self) -> str:
        patcher = {
            "patcher": {
                "fileversion": 1,
                "appversion": {"major": 8, "minor": 6, "revision": 0, "architecture": "x64", "modernui": 1},
                "classnamespace": "box",
                "rect": [80.0, 80.0, 1280.0, 820.0],
                "openinpresentation": 1,
                "default_fontsize": 11.0,
                "default_fontface": 0,
                "default_fontname": "Arial",
                "gridsize": [15.0, 15.0],
                "devicewidth": 760.0,
                "description": "oscgen: text-to-music over OSC (oscgen serve)",
                "boxes": self.boxes,
                "lines": self.lines,
            }
        }
        return json.dumps(patcher, indent="\t") + "\n"


def build() -> str:
    p = MaxPatch()
    p.comment("oscgen - text to music over OSC.  1) in a terminal: oscgen serve   2) type a prompt, "
              "press Return   3) click generate.  Knobs follow the daemon: when it (or another patch, "
              "or a MIDI controller) changes a value, the box shows it without sending it back.",
              20, 10, 900, 40)

    # -- sending -----------------------------------------------------------------------------
    send = p.obj(f"udpsend 127.0.0.1 {PORT}", 20, 780)
    p.comment(f"<- every message to the daemon leaves here as OSC (UDP, port {PORT}). Change the "
              "host with the 'daemon host' box to reach a daemon on another machine.", 200, 780, 420, 40)

    p.comment("PROMPT: Return sends /oscgen/prompt as ONE string ([tosymbol] joins the words).",
              20, 60, 430)
    def text_field(name, x, y, w, label_rect, field_rect, prepend):
        """A one-line textedit: Return outputs 'text word word ...'; [tosymbol] makes the words
        ONE symbol, so the daemon gets one OSC string."""
        p.comment(name, x, y - 20, 90, present=label_rect)
        field = p.ui("textedit", x, y, w, 22, present=field_rect, keymode=1, lines=1, wordwrap=0,
                     parameter_enable=0, varname=name.replace(" ", "_"))
        text, empty = p.obj("route text", x, y + 30), p.obj("route bang", x + 80, y + 30)
        p.chain(field, text, empty)
        tosym = p.obj("tosymbol", x, y + 55)
        p.connect(empty, 1, tosym)  # an empty field sends nothing
        p.chain(tosym, p.obj(f"prepend {prepend}", x, y + 80), send)
        return field

    prompt = text_field("prompt", 20, 105, 430, (4, 4, 44, 18), (48, 4, 430, 20), "/oscgen/prompt")

    p.comment("KNOBS: flonum boxes send floats, number boxes ints, as the daemon's table says. "
              "Drag or type, then Return.", 20, 225, 700)
    boxes = {}
    step = 57  # device view: every knob left of the continue / stop job buttons (x 580)
    for i, knob in enumerate(NUMBER_KNOBS):
        x = 20 + 95 * i
        p.comment(knob.name, x, 250, 90, present=(4 + step * i, 28, step - 1, 18))
        kind = "flonum" if knob.osc_type == "f" else "number"
        limits = {}
        if knob.range:  # dragging stays within what the daemon accepts
            limits = {"minimum": knob.range[0], "maximum": knob.range[1]}
            if kind == "number":
                limits = {k: int(v) for k, v in limits.items()}
        boxes[knob.name] = p.ui(kind, x, 275, 80, 22, present=(4 + step * i, 46, step - 3, 20),
                                parameter_enable=0, varname=knob.name, **limits)
        out = p.msg(f"{knob.address} $1", x, 305, 90)
        p.connect(boxes[knob.name], 0, out)
        p.connect(out, 0, send)
        p.comment(knob.hint, x, 335, 90, 60)

    model = text_field("model", 20, 430, 200, (4, 74, 40, 18), (44, 72, 150, 20), "/oscgen/model")
    p.comment("musicgen-small, musicgen-medium, tiny-random or a folder; Return sends it", 230, 430, 220, 40)

    host = text_field("daemon host", 480, 430, 140, (200, 74, 70, 18), (270, 72, 100, 20), "host")

    p.comment("BUTTONS", 20, 560, 80)
    buttons = [
        ("generate", "/oscgen/generate", (488, 2, 24, 24), (514, 6, 60, 18)),
        ("cancel", "/oscgen/cancel", (580, 2, 24, 24), (606, 6, 50, 18)),
        ("sync", "/oscgen/status", (378, 72, 20, 20), (398, 74, 34, 18)),
        ("ping", "/oscgen/ping", (436, 72, 20, 20), (456, 74, 30, 18)),
        ("clear", "/oscgen/clear", (664, 2, 24, 24), (690, 6, 40, 18)),  # every waiting job
        ("continue", "/oscgen/continue", (580, 30, 24, 24), (606, 34, 56, 18)),  # the last take
        ("stop job", "/oscgen/stop", (664, 30, 24, 24), (690, 34, 64, 18)),  # end it, keep what it made
    ]
    for i, (label, address, button_rect, label_rect) in enumerate(buttons):
        x = 20 + 66 * i  # (the loadbang's boxes start at x 480)
        p.comment(label, x + 26, 585, 40, 34, present=label_rect)
        b = p.ui("button", x, 585, 24, 24, present=button_rect, parameter_enable=0)
        m = p.msg(address, x, 645 + 22 * (i % 2), 100)
        p.connect(m, 0, send)
        if label == "generate":
            # what you see is what you get: the prompt field's text goes first (bang outputs it)
            first = p.obj("t b b", x, 615)
            p.connect(b, 0, first)
            p.connect(first, 1, prompt)
            p.connect(first, 0, m)
        else:
            p.connect(b, 0, m)

    # presets and MIDI learn: edit the text (unlocked), click (locked)
    p.comment("Examples to click or edit: load a config.toml preset by name or number; MIDI-learn "
              "a knob (then move a controller on the daemon's MIDI input); drop one take of a job of "
              "variations (job id, take number: its other takes go on); continue a named WAV from the "
              "watched or [input] folders; list the queue; free the "
              "model's memory (the next take loads it again).", 20, 680, 600, 40)
    examples = ("/oscgen/preset ambient", "/oscgen/preset 0", "/oscgen/learn temperature", "/oscgen/cancel_take 1 2",
                "/oscgen/continue take.wav", "/oscgen/queue", "/oscgen/unload")
    # every argument-free address of the table is reachable: one without a button is an example
    examples += tuple(a.address for a in ACTIONS if a.address not in {b[1] for b in buttons} | set(examples))
    for i, text in enumerate(examples):
        m = p.msg(text, 20 + 150 * i, 725, 140)
        p.connect(m, 0, send)

    # on load: show the engine's defaults, then ask the daemon for its real values
    load = p.obj("loadbang", 480, 560)
    order = p.obj("t b b", 480, 585)
    p.connect(load, 0, order)
    status = p.msg("/oscgen/status", 480, 650)
    p.connect(order, 0, status)
    p.connect(status, 0, send)
    for i, knob in enumerate(NUMBER_KNOBS):
        value = f"{knob.default:.1f}" if knob.osc_type == "f" else f"{int(knob.default)}"
        m = p.msg(f"set {value}", 560 + 60 * (i % 4), 585 + 25 * (i // 4), 55)
        p.connect(order, 1, m)
        p.connect(m, 0, boxes[knob.name])
    host_default = p.msg("set 127.0.0.1", 800, 585)
    p.connect(order, 1, host_default)
    p.connect(host_default, 0, host)
    p.comment("<- on load: defaults, then /oscgen/status so the boxes show the daemon's values",
              800, 610, 260, 40)

    # -- receiving ---------------------------------------------------------------------------
    rx_x = 980
    p.comment(f"REPLIES (port {REPLY_PORT}): [route] sorts them by address; 'set' shows a value "
              "without sending it.", rx_x, 60, 280, 40)
    rx = p.obj(f"udpreceive {REPLY_PORT}", rx_x, 105)
    events = ["queued", "started", "progress", "done", "cancelled", "error", "ready", "pong", "status",
              "shutdown", "preset", "eta", "unloaded", "transport", "queue", "waiting", "running"]
    route = p.obj("route " + " ".join(f"{protocol.PREFIX}/{e}" for e in events), rx_x, 135, 280)
    p.connect(rx, 0, route)

    p.comment("state", rx_x, 165, 50, present=(260, 96, 36, 18))
    state = p.msg("", rx_x, 185, 250, present=(296, 96, 200, 20))
    for i, word in enumerate(["queued", "started", None, "done", "cancelled", "error", "ready"]):
        if word:
            pre = p.obj(f"prepend set {word}", rx_x + 300, 165 + 25 * i, 140)
            p.connect(route, i, pre)
            p.connect(pre, 0, state)

    p.comment("progress", rx_x, 215, 60)
    progress_frac = p.obj("unpack 0 0.", rx_x, 240)
    p.connect(route, 2, progress_frac)
    progress_set = p.obj("prepend set", rx_x, 265)
    progress = p.ui("slider", rx_x, 290, 250, 16, present=(4, 98, 250, 16), floatoutput=1, size=1.0,
                    ignoreclick=1, parameter_enable=0)
    p.connect(progress_frac, 1, progress_set)
    p.connect(progress_set, 0, progress)

    p.comment("done: id path seconds -> show the path, load the preview", rx_x, 320, 300)
    done = p.obj("unpack 0 s 0.", rx_x, 345)
    p.connect(route, 3, done)
    path_t = p.obj("t s s", rx_x, 370)
    p.connect(done, 1, path_t)
    path_set = p.obj("prepend set", rx_x + 60, 395)
    p.comment("file", rx_x, 420, 40, present=(4, 120, 30, 18))
    path = p.msg("", rx_x, 440, 300, present=(36, 120, 460, 20))
    p.connect(path_t, 1, path_set)
    p.connect(path_set, 0, path)
    full = p.msg("set 1.", rx_x + 200, 370, 50)
    p.connect(done, 0, full)  # id arrives last: the bar ends full
    p.connect(full, 0, progress)
    # takes: every take of the latest job (variations > 1: one done each) in a menu; picking one
    # shows it and loads it into the preview.  A new job id clears the menu first.
    p.comment("takes", rx_x + 820, 320, 50, present=(560, 74, 36, 18))
    takes_in = p.obj("t l l", rx_x + 820, 345)
    p.connect(route, 3, takes_in)
    takes_id = p.obj("zl slice 1", rx_x + 900, 370)
    p.connect(takes_in, 1, takes_id)
    new_job = p.obj("change -1", rx_x + 900, 395)
    p.connect(takes_id, 0, new_job)
    takes_clear = p.msg("clear", rx_x + 900, 420, 40)
    p.connect(new_job, 0, takes_clear)
    takes_path = p.obj("unpack 0 s 0.", rx_x + 820, 395)
    p.connect(takes_in, 0, takes_path)
    takes_append = p.obj("prepend append", rx_x + 820, 420)
    p.connect(takes_path, 1, takes_append)
    takes = p.ui("umenu", rx_x + 820, 450, 200, 22, present=(596, 72, 160, 20), parameter_enable=0,
                 varname="takes")
    p.connect(takes_clear, 0, takes)
    p.connect(takes_append, 0, takes)
    p.connect(takes, 1, path_t)  # a picked take: its path, as if it had just arrived

    p.comment("error", rx_x, 470, 40, present=(4, 144, 30, 18))
    error_set = p.obj("prepend set", rx_x, 495)
    error = p.msg("", rx_x, 520, 300, present=(36, 144, 460, 20))
    p.connect(route, 5, error_set)
    p.connect(error_set, 0, error)

    # the daemon line: ready (model, and a note when the output is noise), worker status,
    # presets, shutdown
    p.comment("daemon", rx_x + 320, 470, 50, present=(500, 144, 40, 18))
    daemon = p.msg("", rx_x + 320, 495, 250, present=(540, 144, 216, 20))
    ready_line = p.obj("prepend set ready", rx_x + 320, 440, 120)
    p.connect(route, 6, ready_line)
    p.connect(ready_line, 0, daemon)
    ready_first = p.obj("zl slice 1", rx_x + 150, 520)
    ready_model = p.obj("prepend set", rx_x + 150, 545)
    p.connect(route, 6, ready_first)
    p.connect(ready_first, 0, ready_model)
    p.connect(ready_model, 0, model)
    worker = p.msg("set worker $3 / $2 waiting", rx_x + 450, 380, 170)
    stopped = p.obj("prepend set stopped:", rx_x + 450, 410, 130)
    loaded = p.msg("set preset $2 loaded", rx_x + 450, 440, 140)
    unloaded = p.msg("set unloaded $1", rx_x + 450, 470, 140)
    transport = p.obj("prepend set transport", rx_x + 600, 380, 130)
    waiting = p.msg("set $1 waiting", rx_x + 600, 410, 100)
    for outlet, box in ((8, worker), (9, stopped), (10, loaded), (12, unloaded), (13, transport), (14, waiting)):
        p.connect(route, outlet, box)
        p.connect(box, 0, daemon)
    # seconds left (from the measured step rate) in the state line, beside the progress bar
    eta = p.msg("set running: $2 s left", rx_x + 300, 345, 150)
    p.connect(route, 11, eta)
    p.connect(eta, 0, state)
    p.comment("the queue, one line per waiting job and per running one, in the Max console", rx_x + 600, 440, 200)
    queue_print = p.obj("print oscgen-queue", rx_x + 600, 470, 120)
    p.connect(route, 15, queue_print)
    running = p.obj("prepend running", rx_x + 730, 470, 100)  # after status: each job of the running batch
    p.connect(route, 16, running)
    p.connect(running, 0, queue_print)
    p.comment("alive", rx_x, 545, 50, present=(512, 74, 40, 18))
    alive = p.ui("button", rx_x + 50, 545, 20, 20, present=(490, 72, 20, 20), parameter_enable=0)
    p.connect(route, 7, alive)

    p.comment("param echoes: /oscgen/param/NAME value -> 'set' the box", rx_x, 580, 300)
    names = ["prompt", "model", *boxes]
    param = p.obj("route " + " ".join(f"{protocol.PREFIX}/param/{n}" for n in names), rx_x, 605, 300)
    p.connect(route, len(events), param)
    for i, n in enumerate(names):
        pre = p.obj("prepend set", rx_x + (i % 5) * 85, 640 + 30 * (i // 5), 80)
        p.connect(param, i, pre)
        p.connect(pre, 0, {"prompt": prompt, "model": model}.get(n) or boxes[n])
    unknown = p.obj("print oscgen", rx_x, 710)
    p.connect(param, len(names), unknown)

    # -- preview -----------------------------------------------------------------------------
    px, py = 980, 760
    p.comment(f"PREVIEW: [buffer~ {BUFFER}] loads the finished WAV ('replace' resizes it); "
              "[play~] plays it at the file's own rate.", px, py, 300, 40)
    replace = p.obj("prepend replace", px, py + 45)
    p.connect(path_t, 0, replace)
    buf = p.obj(f"buffer~ {BUFFER}", px, py + 70)
    p.connect(replace, 0, buf)
    autoplay_gate = p.obj("gate", px, py + 100)
    p.connect(buf, 1, autoplay_gate, 1)  # bang when the file is read
    start = p.msg("start", px + 60, py + 130)
    stop = p.msg("stop", px + 120, py + 130)
    p.connect(autoplay_gate, 0, start)
    labels = [("play", 500), ("stop", 540), ("auto", 578), ("vol", 620), ("audio", 676)]
    for label, x in labels:
        p.comment(label, px + 320 + x - 500, py + 20, 40, present=(x, 98, 40, 18))
    play_b = p.ui("button", px + 320, py + 45, 20, 20, present=(502, 116, 20, 20), parameter_enable=0)
    stop_b = p.ui("button", px + 360, py + 45, 20, 20, present=(542, 116, 20, 20), parameter_enable=0)
    auto = p.ui("toggle", px + 400, py + 45, 20, 20, present=(580, 116, 20, 20), parameter_enable=0)
    volume = p.ui("flonum", px + 440, py + 45, 50, 22, present=(620, 116, 50, 20), minimum=0.0,
                  maximum=1.0, parameter_enable=0)
    audio = p.ui("toggle", px + 500, py + 45, 20, 20, present=(680, 116, 20, 20), parameter_enable=0)
    p.connect(auto, 0, autoplay_gate, 0)
    p.connect(play_b, 0, start)
    p.connect(stop_b, 0, stop)
    player = p.obj(f"play~ {BUFFER}", px, py + 160)
    p.connect(start, 0, player)
    p.connect(stop, 0, player)
    gain = p.obj("*~ 0.7", px, py + 190)
    p.connect(player, 0, gain)
    p.connect(volume, 0, gain, 1)
    dac = p.obj("dac~", px, py + 220)
    p.connect(gain, 0, dac, 0)
    p.connect(gain, 0, dac, 1)
    p.connect(audio, 0, dac, 0)  # 1/0 turns audio on/off
    p.comment("In a Max for Live audio effect, connect [*~] to the device's [plugout~] (both "
              "inlets) instead of [dac~]; the audio toggle is then not needed.", px + 60, py + 220, 300, 40)
    init = p.obj("t b b", 800, 660)
    p.connect(order, 1, init)
    for value, target in (("1", auto), ("0.7", volume)):
        m = p.msg(value, 800 + 60 * (target == volume), 690)
        p.connect(init, 0, m)
        p.connect(m, 0, target)
    return p.render()
