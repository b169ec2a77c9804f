"""The 'replies' subpatch of patches/oscgen.pd (build_pd.py): the daemon's replies parsed,
routed and shown on the controls with 'set' (so nothing is sent back)."""

from __future__ import annotations

from patches.tools.knobs import NUMBER_KNOBS
from patches.tools.pd_words import split_words
from patches.tools.pdwriter import Canvas

KNOB_NAMES = [k.name for k in NUMBER_KNOBS]


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
