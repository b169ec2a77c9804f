"""The 'send-to-daemon' subpatch of patches/oscgen.pd (build_pd.py): every control's send name
becomes one OSC message of the daemon's table (oscgen/service/protocol.py)."""

from __future__ import annotations

from oscgen.service import protocol
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS
from patches.tools.pd_words import join_words
from patches.tools.pdwriter import Canvas

PORT, REPLY_PORT = protocol.DEFAULT_LISTEN_PORT, protocol.DEFAULT_REPLY_PORT


def send_to_daemon() -> Canvas:
    c = Canvas(1280, 1040)
    c.comment(10, 5, "SEND TO THE DAEMON. Each control's send name ($0-NAME) lands here and becomes "
                     "one OSC message: [oscformat] builds the packet, [netsend -u -b] sends it over "
                     "UDP. -f i sends an int, -f f a float, -f s one string, as the daemon's "
                     "address table declares.", 120)
    net = c.obj(10, 650, "netsend -u -b")
    c.comment(120, 650, "<- all OSC leaves through here", 30)

    # connection: loadbang -> listen on the reply port, then connect to host:port and ask for state
    c.comment(10, 60, f"On load: show the defaults, listen for replies on $2 (default {REPLY_PORT}), "
                      f"connect to the 'daemon host' box's host on $1 (default {PORT}) and ask for "
                      f"/oscgen/status so the knobs show the daemon's values.", 48)
    lb = c.obj(10, 150, "loadbang")
    order = c.obj(10, 175, "t b b b b")
    c.connect(lb, 0, order)
    reply_arg = c.obj(250, 210, "f $2")
    reply_default = c.obj(250, 235, "sel 0")
    reply_const = c.msg(250, 260, str(REPLY_PORT))
    listen = c.msg(250, 290, "listen $1")
    to_rx = c.obj(250, 315, "s $0-netreceive")
    c.connect(order, 2, reply_arg)
    c.connect(reply_arg, 0, reply_default)
    c.connect(reply_default, 0, reply_const)
    c.connect(reply_default, 1, listen)
    c.connect(reply_const, 0, listen)
    c.connect(listen, 0, to_rx)
    port_arg = c.obj(150, 210, "f $1")
    port_default = c.obj(150, 235, "sel 0")
    port_const = c.msg(150, 260, str(PORT))
    c.connect(order, 1, port_arg)
    c.connect(port_arg, 0, port_default)
    c.comment(150, 340, "<- no argument: the default ports", 30)
    host_default = c.msg(10, 235, "symbol 127.0.0.1")
    c.connect(order, 0, host_default)
    c.connect(host_default, 0, c.obj(10, 265, "s $0-host-in"))

    host_in = c.obj(10, 400, "r $0-host")
    target = c.obj(10, 430, "pack s f")
    c.connect(port_default, 0, port_const)
    c.connect(port_default, 1, target, 1)
    c.connect(port_const, 0, target, 1)
    c.connect(host_in, 0, target)
    steps = c.obj(10, 460, "t b a b")
    disconnect = c.msg(180, 490, "disconnect")
    connect = c.msg(90, 520, "connect $1 $2")
    show_trim = c.obj(200, 550, "list trim")
    show = c.obj(200, 575, "print oscgen-sending-to")
    sync = c.msg(10, 550, "bang")
    ask = c.obj(10, 580, "s $0-status-in")
    c.connect(target, 0, steps)
    c.connect(steps, 2, disconnect)
    c.connect(disconnect, 0, net)
    c.connect(steps, 1, connect)
    c.connect(steps, 1, show_trim)
    c.connect(show_trim, 0, show)
    c.connect(connect, 0, net)
    c.connect(steps, 0, sync)
    c.connect(sync, 0, ask)

    # first of all on load: show the daemon's defaults until its echoes replace them
    c.comment(10, 905, "defaults shown at load (the shipped config.toml's)", 60)
    defaults = c.obj(10, 930, "t " + " ".join("b" for _ in NUMBER_KNOBS))
    c.connect(order, 3, defaults)
    for i, knob in enumerate(NUMBER_KNOBS):
        m = c.msg(10 + 150 * i, 960, f"set {knob.default:g}")
        c.connect(defaults, i, m)
        c.connect(m, 0, c.obj(10 + 150 * i, 985, f"s $0-{knob.name}-in"))

    # the knobs
    x = 400
    c.comment(x, 60, "Knobs: a number typed or dragged in a box leaves here at once.", 40)
    y = 110
    for knob in NUMBER_KNOBS:
        r = c.obj(x, y, f"r $0-{knob.name}")
        fmt = c.obj(x, y + 25, f"oscformat -f {knob.osc_type} oscgen {knob.name}")
        c.connect(r, 0, fmt)
        c.connect(fmt, 0, net)
        if knob.name == "bars":
            mirror = c.obj(x + 110, y, "s $0-bars-value")
            c.connect(r, 0, mirror)
        y += 60

    # prompt and model: one OSC string each
    x = 720
    c.comment(x, 60, "Prompt: the list box outputs words, they are joined into one string.", 40)
    prompt = c.obj(x, 110, "r $0-prompt")
    join = c.subpatch(x, 140, "join-words", join_words())
    prompt_fmt = c.obj(x, 170, "oscformat -f s oscgen prompt")
    c.chain(prompt, join, prompt_fmt)
    c.connect(prompt_fmt, 0, net)
    c.comment(x, 210, "Model: an empty box sends nothing.", 40)
    model = c.obj(x, 240, "r $0-model")
    model_chars = c.obj(x, 265, "list fromsymbol")
    model_empty = c.obj(x, 290, "route bang")
    model_sym = c.obj(x + 30, 315, "list tosymbol")
    model_fmt = c.obj(x + 30, 340, "oscformat -f s oscgen model")
    c.chain(model, model_chars, model_empty)
    c.connect(model_empty, 1, model_sym)
    c.connect(model_sym, 0, model_fmt)
    c.connect(model_fmt, 0, net)

    # buttons: every action of knobs.ACTIONS, sent with no arguments
    c.comment(x, 380, "Buttons: one bare OSC message each - " + ", ".join(a.address for a in ACTIONS) + " ("
                      "/oscgen/generate re-sends the prompt box's text first; /oscgen/continue continues the "
                      "last take, /oscgen/stop ends the running job keeping what it made).", 45)
    y = 440
    for action in ACTIONS:
        r = c.obj(x, y, f"r $0-{action.name}")
        fmt = c.obj(x + 120, y, "oscformat " + action.address.strip("/").replace("/", " "))
        c.connect(fmt, 0, net)
        if action.name == "generate":
            # what you see is what you get: re-send the prompt box first (an empty one sends nothing)
            first = c.obj(x + 120, y + 25, "t b b")
            c.connect(r, 0, first)
            c.connect(first, 1, c.obj(x + 180, y + 50, "s $0-prompt-in"))
            c.connect(first, 0, fmt)
            y += 60
        else:
            c.connect(r, 0, fmt)
        y += 30

    # preset (by number or name) and MIDI learn: inlet messages only
    c.comment(x, y + 10, "preset <number or name>, learn <knob>, cancel_take <job> <take>: from the inlet", 40)
    preset = c.obj(x, y + 40, "r $0-preset")
    by_number = c.obj(x, y + 65, "route float")
    c.connect(preset, 0, by_number)
    number_fmt = c.obj(x, y + 95, "oscformat -f i oscgen preset")
    name_sym = c.obj(x + 100, y + 125, "symbol")
    name_fmt = c.obj(x + 100, y + 150, "oscformat -f s oscgen preset")
    c.connect(by_number, 0, number_fmt)
    c.connect(by_number, 1, name_sym)
    c.connect(name_sym, 0, name_fmt)
    learn = c.obj(x, y + 185, "r $0-learn")
    learn_sym = c.obj(x, y + 210, "symbol")
    learn_fmt = c.obj(x, y + 235, "oscformat -f s oscgen learn")
    c.chain(learn, learn_sym, learn_fmt)
    named = c.obj(x + 200, y + 40, "r $0-continue-file")  # continue <file name>: one OSC string
    named_join = c.subpatch(x + 200, y + 65, "join-words", join_words())
    named_fmt = c.obj(x + 200, y + 95, "oscformat -f s oscgen continue")
    c.chain(named, named_join, named_fmt)
    c.connect(named_fmt, 0, net)
    cancel_take = c.obj(x + 200, y + 185, "r $0-cancel_take")
    take_fmt = c.obj(x + 200, y + 235, "oscformat -f ii oscgen cancel_take")  # job, take: two ints
    c.connect(cancel_take, 0, take_fmt)
    for fmt in (number_fmt, name_fmt, learn_fmt, take_fmt):
        c.connect(fmt, 0, net)
    c.height = max(c.height, y + 280)  # room for every button's wiring

    # send all: push every control's value (after a daemon restart, or to another daemon)
    x = 1060
    c.comment(x, 60, "'send all': bang every control so it re-sends its value - bars only when "
                     "> 0 (else duration rules), and last.", 28)
    sendall = c.obj(x, 170, "r $0-sendall")
    order = ["bars", "duration", "seed", "cfg", "top_p", "top_k", "temperature", "bpm", "model", "prompt"]
    fan = c.obj(x, 195, "t " + " ".join("b" for _ in order))
    c.connect(sendall, 0, fan)
    # [t] fires right to left: prompt first, bars last
    for i, knob_name in enumerate(order):
        if knob_name == "bars":
            value = c.obj(x, 500, "f")
            c.connect(fan, i, value)
            c.connect(c.obj(x + 40, 470, "r $0-bars-value"), 0, value, 1)
            positive = c.obj(x, 530, "moses 1e-06")
            c.connect(value, 0, positive)
            c.connect(positive, 1, c.obj(x + 40, 560, "s $0-bars-in"))
        else:
            c.connect(fan, i, c.obj(x + 40, 230 + 25 * (len(order) - 1 - i), f"s $0-{knob_name}-in"))
    return c
