"""Writes patches/oscgen.pd, the vanilla Pure Data (0.52+) front end for ``oscgen serve``.

The patch is generated so that its OSC addresses, types and default ports come from the daemon's
table (oscgen/service/protocol.py) and every connection is made by handle.  Edit this file, then
run ``python patches/tools/build.py`` and commit both; tests/test_patches_pd.py fails when the
committed patch and this generator disagree.

Layout of the patch: the top level is the user interface (prompt, knobs, buttons, progress, last
file, last error, preview) plus an inlet and an outlet so it also works as an abstraction
``[oscgen DAEMON_PORT REPLY_PORT]``; the wiring lives in four commented subpatches."""

from __future__ import annotations

from oscgen.service import protocol
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS
from patches.tools.pdwriter import Canvas

PORT, REPLY_PORT = protocol.DEFAULT_LISTEN_PORT, protocol.DEFAULT_REPLY_PORT
KNOB_NAMES = [k.name for k in NUMBER_KNOBS]


# -- helpers shared by the subpatches ----------------------------------------------------------

def join_words() -> Canvas:
    """A list of words (what a Pd list box outputs) -> one symbol with single spaces, because
    /oscgen/prompt takes exactly one OSC string.  Commas and semicolons are Pd syntax and drop out."""
    c = Canvas(560, 420)
    c.comment(10, 5, "list of words in -> one symbol out (words joined by spaces). [list split 1] feeds "
                     "its rest back into itself, so words arrive last-first and are prepended.", 70)
    inlet = c.obj(10, 60, "inlet")
    entry = c.obj(10, 90, "t b a b")
    drip = c.obj(80, 130, "list split 1")
    kind = c.obj(80, 165, "route float symbol")
    num = c.obj(80, 195, "makefilename %g")
    chars = c.obj(80, 225, "list fromsymbol")
    sym_chars = c.obj(230, 195, "list fromsymbol")
    spaced = c.obj(80, 255, "list prepend 32")
    acc = c.obj(80, 285, "list append")
    result = c.obj(10, 320, "list")
    strip = c.obj(10, 350, "list split 1")
    tosym = c.obj(10, 380, "list tosymbol")
    out = c.obj(130, 380, "outlet")
    c.comment(200, 285, "<- accumulated chars, cleared first", 40)
    c.connect(inlet, 0, entry)
    c.connect(entry, 1, drip)
    c.connect(drip, 1, drip)
    c.connect(drip, 0, kind)
    c.chain(kind, num, chars, spaced)
    c.connect(kind, 1, sym_chars)
    c.connect(sym_chars, 0, spaced)
    c.connect(spaced, 0, acc)
    c.connect(acc, 0, acc, 1)
    c.connect(acc, 0, result, 1)
    c.connect(entry, 2, acc, 1)  # bang clears the stored list
    c.connect(entry, 2, result, 1)
    c.connect(entry, 0, result)
    c.connect(result, 0, strip)
    c.connect(strip, 1, tosym)  # drop the leading space; an empty prompt outputs nothing
    c.connect(tosym, 0, out)
    return c


def split_words() -> Canvas:
    """One symbol with spaces -> a list of words, so a list box shows 'dark ambient drone' rather
    than one escaped symbol.  Characters arrive last-first (see join-words), so both the current
    word and the word list are built by prepending."""
    c = Canvas(600, 460)
    c.comment(10, 5, "symbol in -> list of words out (split at spaces).", 60)
    inlet = c.obj(10, 40, "inlet")
    chars = c.obj(10, 70, "list fromsymbol")
    entry = c.obj(10, 100, "t b a b")
    drip = c.obj(90, 140, "list split 1")
    space = c.obj(90, 175, "sel 32")
    word = c.obj(170, 215, "list append")
    flush = c.obj(10, 215, "t b b")
    emit = c.obj(10, 250, "list append")
    nonempty = c.obj(10, 280, "route bang")
    tosym = c.obj(90, 310, "list tosymbol")
    words = c.obj(90, 345, "list append")
    final = c.obj(10, 380, "t b b")
    out_words = c.obj(10, 410, "list append")
    out = c.obj(10, 440, "outlet")
    c.comment(260, 215, "<- current word (char codes)", 30)
    c.comment(200, 345, "<- words so far", 30)
    c.chain(inlet, chars, entry)
    c.connect(entry, 2, word, 1)   # clear both stores first
    c.connect(entry, 2, words, 1)
    c.connect(entry, 2, out_words, 1)
    c.connect(entry, 1, drip)
    c.connect(drip, 1, drip)
    c.connect(drip, 0, space)
    c.connect(space, 1, word)      # a character: prepend it to the current word
    c.connect(word, 0, word, 1)
    c.connect(word, 0, emit, 1)
    c.connect(space, 0, flush)     # a space: move the current word onto the word list
    c.connect(entry, 0, final)     # end of input: flush the first word, then output
    c.connect(final, 1, flush)
    c.connect(flush, 1, emit)
    c.connect(flush, 0, word, 1)   # bang clears the current word
    c.connect(flush, 0, emit, 1)
    c.connect(emit, 0, nonempty)
    c.connect(nonempty, 1, tosym)
    c.connect(tosym, 0, words)
    c.connect(words, 0, words, 1)
    c.connect(words, 0, out_words, 1)
    c.connect(final, 0, out_words)
    c.connect(out_words, 0, out)
    return c


# -- the four subpatches -----------------------------------------------------------------------

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

    # buttons: no arguments
    c.comment(x, 380, "Buttons: /oscgen/generate (after the prompt box's text), /oscgen/cancel "
                      "(the running job), /oscgen/status, /oscgen/ping, /oscgen/clear (every waiting "
                      "job), /oscgen/unload (free the model), /oscgen/queue.", 45)
    y = 440
    for action in ACTIONS:
        r = c.obj(x, y, f"r $0-{action}")
        fmt = c.obj(x + 120, y, f"oscformat oscgen {action}")
        c.connect(fmt, 0, net)
        if action == "generate":
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
    c.comment(x, y + 10, "preset <number or name>, learn <knob>: from the inlet", 40)
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
    for fmt in (number_fmt, name_fmt, learn_fmt):
        c.connect(fmt, 0, net)

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


def replies() -> Canvas:
    c = Canvas(1560, 980)
    c.comment(10, 5, "REPLIES FROM THE DAEMON. [netreceive -u -b] listens on the reply port, "
                     "[oscparse] turns each packet into a list (/oscgen/done 3 /x.wav 2.5 -> "
                     "oscgen done 3 /x.wav 2.5) and [route] sorts them. Every reply also leaves "
                     "through the abstraction's outlet ($0-events). Controls are updated with 'set' "
                     "so they show the daemon's value without sending it back.", 130)
    rx_ctl = c.obj(10, 80, "r $0-netreceive")
    rx = c.obj(10, 105, "netreceive -u -b")
    parse = c.obj(10, 130, "oscparse")
    trim = c.obj(10, 155, "list trim")
    ours = c.obj(10, 180, "route oscgen")
    both = c.obj(10, 205, "t a a")
    events = c.obj(160, 235, "s $0-events")
    quiet = c.obj(280, 235, "route progress eta pong")
    log = c.obj(440, 265, "print oscgen")
    c.comment(560, 235, "<- everything but progress, eta and pong goes to the Pd window", 40)
    c.chain(rx_ctl, rx, parse, trim, ours, both)
    c.connect(both, 1, events)
    c.connect(both, 1, quiet)
    c.connect(quiet, 3, log)
    kinds = ["queued", "started", "progress", "done", "cancelled", "error", "param", "ready", "pong",
             "status", "shutdown", "preset", "eta"]
    route = c.obj(10, 300, "route " + " ".join(kinds))
    c.connect(both, 0, route)
    # one column per reply, left to right in the order of [route]'s outlets
    col = {"queued": 10, "started": 110, "progress": 230, "done": 340, "cancelled": 570,
           "error": 690, "ready": 900, "pong": 1240, "status": 1240, "shutdown": 1240, "preset": 1240}
    top = 360
    for kind in ("queued", "started", "progress", "done", "cancelled", "error", "ready"):
        c.comment(col[kind], top - 25, kind, 12)
    state = c.obj(10, 640, "s $0-state-in")
    progress = c.obj(200, 640, "s $0-progress-in")
    job = c.obj(400, 640, "s $0-job-in")

    def set_state(x, y, word):
        m = c.msg(x, y, f"set {word}")
        c.connect(m, 0, state)
        return m

    def job_event(x, y, word, fraction=None):
        """id in -> show the job id, the state word and (optionally) set the progress bar."""
        t = c.obj(x, y, "t f b b" if fraction is not None else "t f b")
        c.connect(t, 0, job)
        if fraction is not None:
            m = c.msg(x + 40, y + 30, fraction)
            c.connect(t, 1, m)
            c.connect(m, 0, progress)
        c.connect(t, 2 if fraction is not None else 1, set_state(x, y + 60, word))  # first out
        return t

    # queued id position
    q = c.obj(col["queued"], top, "unpack f f")
    c.connect(route, 0, q)
    c.connect(q, 0, job_event(col["queued"], top + 30, "queued"))
    # started id
    c.connect(route, 1, job_event(col["started"], top, "running", "0"))
    # progress id fraction
    p = c.obj(col["progress"], top, "unpack f f")
    c.connect(route, 2, p)
    c.connect(p, 1, progress)
    # done id path seconds: show the path and length, load the preview
    x = col["done"]
    d = c.obj(x, top, "unpack f s f")
    c.connect(route, 3, d)
    secs = c.obj(x + 110, top + 30, "s $0-seconds-in")
    c.connect(d, 2, secs)
    path_t = c.obj(x + 50, top + 60, "t s s")
    c.connect(d, 1, path_t)
    path_set = c.msg(x + 100, top + 90, "set $1")
    c.connect(path_t, 1, path_set)
    c.connect(path_set, 0, c.obj(x + 100, top + 120, "s $0-path-in"))
    c.connect(path_t, 0, c.obj(x + 20, top + 150, "s $0-load"))
    c.comment(x + 100, top + 150, "<- preview", 12)
    c.connect(d, 0, job_event(x, top + 180, "done", "1"))
    # take: counts the job's takes as their done messages come (1, 2, ... per job id)
    take_t = c.obj(x + 160, top + 180, "t b f")
    c.connect(d, 0, take_t)
    new_job = c.obj(x + 200, top + 210, "change -1")
    c.connect(take_t, 1, new_job)
    first_take = c.msg(x + 200, top + 240, "1")
    c.connect(new_job, 0, first_take)
    count = c.obj(x + 160, top + 270, "f 1")
    c.connect(first_take, 0, count, 1)
    c.connect(take_t, 0, count)
    more = c.obj(x + 200, top + 300, "+ 1")
    c.connect(count, 0, more)
    c.connect(more, 0, count, 1)
    c.connect(count, 0, c.obj(x + 160, top + 330, "s $0-take-in"))
    # cancelled id
    c.connect(route, 4, job_event(col["cancelled"], top, "cancelled", "0"))
    # error id message
    x = col["error"]
    e = c.obj(x, top, "unpack f s")
    c.connect(route, 5, e)
    e_t = c.obj(x, top + 30, "t b")
    c.connect(e, 0, e_t)
    c.connect(e_t, 0, set_state(x, top + 60, "error"))
    split = c.subpatch(x + 60, top + 90, "split-words", split_words())
    c.connect(e, 1, split)
    e_set = c.obj(x + 60, top + 120, "list prepend set")
    e_trim = c.obj(x + 60, top + 150, "list trim")
    c.chain(split, e_set, e_trim)
    c.connect(e_trim, 0, c.obj(x + 60, top + 180, "s $0-error-in"))
    # ready model [note]: the model goes to the model box, the note (why the output is noise,
    # for tiny-random) to the daemon line
    x = col["ready"]
    r_split = c.obj(x, top, "list split 1")
    c.connect(route, 7, r_split)
    r_note = c.obj(x + 140, top + 30, "route bang")
    c.connect(r_split, 1, r_note)
    r_note_trim = c.obj(x + 180, top + 60, "list trim")
    r_note_sym = c.obj(x + 180, top + 90, "symbol")
    r_note_words = c.subpatch(x + 180, top + 120, "split-words", split_words())
    r_t = c.obj(x, top + 60, "t a a b")
    c.connect(r_split, 0, r_t)
    c.connect(r_t, 2, set_state(x + 60, top + 90, "ready"))
    r_model = c.obj(x + 30, top + 120, "list trim")
    r_model_sym = c.obj(x + 30, top + 150, "symbol")
    c.connect(r_t, 1, r_model)
    c.connect(r_model, 0, r_model_sym)
    r_line = c.obj(x, top + 180, "list append")
    c.connect(r_note, 1, r_note_trim)
    c.chain(r_note_trim, r_note_sym, r_note_words)
    c.connect(r_note_words, 0, r_line, 1)
    c.connect(r_note, 0, r_line, 1)  # no note: clear the last one
    c.connect(r_t, 0, r_line)
    r_set = c.obj(x, top + 210, "list prepend set ready")
    r_trim = c.obj(x, top + 240, "list trim")
    daemon_line = c.obj(x, top + 280, "s $0-daemon-in")
    c.chain(r_line, r_set, r_trim, daemon_line)
    # pong: flash the 'alive' light
    x = col["pong"]
    c.comment(x, top - 25, "pong / status / shutdown / preset", 40)
    c.connect(route, 8, c.obj(x, top, "s $0-alive-in"))
    # status running-job waiting worker-state: the daemon line
    st = c.msg(x, top + 30, "set worker $3 / $2 waiting")
    c.connect(route, 9, st)
    c.connect(st, 0, daemon_line)
    # shutdown why
    sd_sym = c.obj(x, top + 70, "symbol")
    sd_words = c.subpatch(x, top + 100, "split-words", split_words())
    sd_set = c.obj(x, top + 130, "list prepend set stopped:")
    sd_trim = c.obj(x, top + 160, "list trim")
    c.connect(route, 10, sd_sym)
    c.chain(sd_sym, sd_words, sd_set, sd_trim, daemon_line)
    sd_state = c.obj(x + 200, top + 70, "t b")
    c.connect(route, 10, sd_state)
    c.connect(sd_state, 0, set_state(x + 200, top + 100, "stopped"))
    # preset number name
    pre = c.msg(x + 120, top + 200, "set preset $2 loaded")
    c.connect(route, 11, pre)
    c.connect(pre, 0, daemon_line)
    # eta id seconds: the seconds left beside the progress bar
    eta = c.obj(x + 120, top + 240, "unpack f f")
    c.connect(route, 12, eta)
    c.connect(eta, 1, c.obj(x + 120, top + 265, "s $0-eta-in"))

    # param NAME value: follow the daemon's knob values without re-sending them
    py = 700
    c.comment(10, py, "param echoes -> 'set' the control (no output, so nothing is sent back)", 80)
    names = ["prompt", *KNOB_NAMES, "model"]
    pr = c.obj(10, py + 30, "route " + " ".join(names))
    c.connect(route, 6, pr)
    # prompt: split into words for the list box
    p_sym = c.obj(10, py + 80, "symbol")
    p_split = c.subpatch(10, py + 105, "split-words", split_words())
    p_set = c.obj(10, py + 130, "list prepend set")
    p_trim = c.obj(10, py + 155, "list trim")
    c.connect(pr, 0, p_sym)
    c.chain(p_sym, p_split, p_set, p_trim)
    c.connect(p_trim, 0, c.obj(10, py + 180, "s $0-prompt-in"))
    for i, knob_name in enumerate(KNOB_NAMES, start=1):
        x = 160 + 150 * ((i - 1) % 4)
        y = py + 80 + 90 * ((i - 1) // 4)
        m = c.msg(x, y, "set $1")
        c.connect(pr, i, m)
        c.connect(m, 0, c.obj(x, y + 25, f"s $0-{knob_name}-in"))
        if knob_name == "bars":
            c.connect(pr, i, c.obj(x, y + 50, "s $0-bars-value"))
    m_sym = c.obj(800, py + 80, "symbol")
    m_set = c.msg(800, py + 105, "set $1")
    c.connect(pr, len(names) - 1, m_sym)
    c.chain(m_sym, m_set, c.obj(800, py + 130, "s $0-model-in"))
    c.connect(r_model_sym, 0, m_set)  # the ready model is the model in use
    return c


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
                     "<name>, host <address>, generate, cancel, status, ping, sendall, "
                     "play, stop, autoplay 0/1, volume 0-1, preset <number or name>, learn <knob>.", 120)
    inlet = c.obj(10, 70, "r $0-from-inlet")
    words = ["prompt", *KNOB_NAMES, "model", "host", *ACTIONS, "sendall", "play", "stop", "autoplay",
             "volume", "preset", "learn"]
    route = c.obj(10, 100, "route " + " ".join(words))
    c.connect(inlet, 0, route)
    for i, w in enumerate(words):
        x, y = 10 + 150 * (i % 6), 170 + 70 * (i // 6)
        # controls go to their box ($0-NAME-in); preset and learn have none: straight to sending
        s = c.obj(x, y + 25, f"s $0-{w}" if w in ("preset", "learn") else f"s $0-{w}-in")
        if w in ("prompt", "model", "host"):
            # 'prompt dark drone' -> list dark drone; 'model x' -> symbol x
            convert = c.obj(x, y, "list" if w == "prompt" else "symbol")
            c.connect(route, i, convert)
            c.connect(convert, 0, s)
        else:
            c.connect(route, i, s)
    unknown = c.obj(10, 480, "print oscgen-unknown-inlet-message")
    c.connect(route, len(words), unknown)
    c.height = 560
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

    # buttons
    bx = 520
    c.comment(bx, 125, "ACTIONS:", 20)
    c.bng(bx, 150, 40, "GENERATE", send="$0-generate", receive="$0-generate-in", color="#c4fcc4")
    c.bng(bx, 200, 25, "cancel", send="$0-cancel", receive="$0-cancel-in", color="#fcc4c4")
    c.bng(bx, 235, 25, "sync_from_daemon", send="$0-status", receive="$0-status-in")
    c.bng(bx, 270, 25, "send_all_to_daemon", send="$0-sendall", receive="$0-sendall-in")
    c.bng(bx, 305, 25, "ping", send="$0-ping", receive="$0-ping-in")
    c.bng(bx + 100, 305, 25, "alive", receive="$0-alive-in", color="#fcfcc4")
    c.bng(bx + 180, 200, 25, "clear_queue", send="$0-clear", receive="$0-clear-in", color="#fcc4c4")
    c.bng(bx + 180, 235, 25, "unload_model", send="$0-unload", receive="$0-unload-in")
    c.bng(bx + 180, 270, 25, "list_queue", send="$0-queue", receive="$0-queue-in")

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
