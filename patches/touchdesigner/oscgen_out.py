"""oscgen for TouchDesigner: sending.  Paste into a Text DAT named ``oscgen_out`` (or point the DAT's
File parameter at this file).  Other DATs use it as ``op('oscgen_out').module`` or ``import oscgen_out``.

It sends through an OSC Out DAT with ``sendOSC(address, values)``, which types Python ints as
OSC int32, floats as float32 and str as string -- so every value is converted to the type the
daemon's address table declares before it leaves (see patches/README.md for the table)."""

# -- names of the operators this network uses (change them here if yours differ) -------------
OSC_OUT = 'oscout1'         # OSC Out DAT: Network Address 127.0.0.1, Network Port 9000
STATE = 'oscgen_state'      # Table DAT: one row per value (name | value), filled by the callbacks
PANEL = '..'                # the COMP whose custom parameters are the knobs (default: this DAT's parent)
AUDIO = 'audiofilein1'      # Audio File In CHOP that previews the finished WAV

PREFIX = '/oscgen'

# knob -> (OSC type, default); the types are the daemon's (/oscgen/top_k i, /oscgen/temperature f ...)
KNOBS = {
    'prompt': (str, ''),
    'duration': (float, 8.0),
    'bars': (float, 0.0),
    'bpm': (float, 120.0),
    'loop': (int, 0),
    'temperature': (float, 1.0),
    'top_k': (int, 250),
    'top_p': (float, 0.0),
    'cfg': (float, 3.0),
    'seed': (int, -1),
    'variations': (int, 1),
    'model': (str, ''),
}

# custom parameter name on the panel COMP -> knob (TouchDesigner names: capital first, letters only)
PAR_TO_KNOB = {
    'Prompt': 'prompt', 'Duration': 'duration', 'Bars': 'bars', 'Bpm': 'bpm', 'Loop': 'loop',
    'Temperature': 'temperature', 'Topk': 'top_k', 'Topp': 'top_p', 'Cfg': 'cfg',
    'Seed': 'seed', 'Variations': 'variations', 'Model': 'model',
}
KNOB_TO_PAR = {knob: par for par, knob in PAR_TO_KNOB.items()}

# pulse parameters on the panel -> function name in this module
PULSES = {'Generate': 'generate_from_panel', 'Continue': 'continue_take', 'Cancel': 'cancel',
          'Stopjob': 'stop', 'Sync': 'status', 'Ping': 'ping', 'Play': 'play_preview', 'Clear': 'clear',
          'Unload': 'unload'}

# read-only displays on the panel, filled by the callbacks
DISPLAYS = {'State': str, 'Job': int, 'Progress': float, 'Secondsleft': float, 'Lastfile': str,
            'Seconds': float, 'Take': int, 'Lasterror': str}
TAKES = 'oscgen_takes'      # Table DAT (optional): one row per finished take (job | take | path | seconds)

# the last value the daemon echoed for each knob: a parameter change that merely shows an echo
# must not be sent back (that would loop between patches and the daemon)
_echoed = {}


def send(address, values=()):
    """Send one OSC message through the OSC Out DAT."""
    values = list(values)
    for v in values:
        # bools would go out as OSC T/F, which the daemon does not accept
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise TypeError('{}: cannot send {!r}'.format(address, v))
    return op(OSC_OUT).sendOSC(address, values)


def coerce(knob, value):
    """The value as the Python type that makes sendOSC use the daemon's OSC type."""
    kind = KNOBS[knob][0]
    if kind is int:
        return int(round(float(value)))
    if kind is float:
        return float(value)
    return str(value).strip()


def set_knob(knob, value):
    """Send /oscgen/<knob> <value>, e.g. set_knob('temperature', 0.8)."""
    if knob not in KNOBS:
        raise KeyError('unknown knob {!r}; knobs: {}'.format(knob, ', '.join(KNOBS)))
    return send('{}/{}'.format(PREFIX, knob), [coerce(knob, value)])


def generate(prompt=None):
    """Queue a take with the current knobs; a prompt given here overrides the stored one."""
    return send(PREFIX + '/generate', [str(prompt)] if prompt else [])


def generate_from_panel():
    """The panel's Generate: send the Prompt it shows first (what you see is what plays)."""
    prompt = getattr(op(PANEL).par, 'Prompt', None)
    if prompt is not None and str(prompt.eval()).strip():
        set_knob('prompt', prompt.eval())
    return generate()


def continue_take(wav=None):
    """Queue a continuation with the current knobs: of the last take, or of `wav` (a file name in
    the daemon's watched or [input] folders, or an absolute path inside them)."""
    return send(PREFIX + '/continue', [str(wav)] if wav else [])


def cancel(job=None):
    """Cancel job `job`, or the running one (nothing is written)."""
    return send(PREFIX + '/cancel', [] if job is None else [int(job)])


def cancel_take(job, take):
    """Cancel take `take` (1 = the first) of job `job`, a job of variations: that take is not
    written, the job's other takes go on."""
    return send(PREFIX + '/cancel_take', [int(job), int(take)])


def stop(job=None):
    """End job `job`, or the running one, early and keep what it made (its WAV still arrives)."""
    return send(PREFIX + '/stop', [] if job is None else [int(job)])


def status():
    """Ask the daemon to echo every knob (fills the panel) and the queue."""
    return send(PREFIX + '/status')


def ping():
    return send(PREFIX + '/ping')


def clear():
    """Cancel every job waiting in the daemon's queue (the running one goes on)."""
    return send(PREFIX + '/clear')


def unload():
    """Free the daemon's model memory; the next take loads it again."""
    return send(PREFIX + '/unload')


def queue():
    """Ask what waits: /oscgen/queue N, then /oscgen/waiting per job (rows waiting_N in the table)."""
    return send(PREFIX + '/queue')


def preset(name_or_number):
    """Load a prompt preset from the daemon's config.toml by name or number."""
    value = name_or_number if isinstance(name_or_number, str) else int(name_or_number)
    return send(PREFIX + '/preset', [value])


def learn(knob):
    """MIDI learn: the next CC that moves on the daemon's MIDI input controls this knob."""
    if knob not in KNOBS:
        raise KeyError('unknown knob {!r}'.format(knob))
    return send(PREFIX + '/learn', [knob])


def send_all():
    """Push every knob on the panel to the daemon (after restarting it, say).  Bars only when
    set (> 0): sent after duration, so it wins; an empty prompt or model is not sent."""
    panel = op(PANEL)
    for par_name, knob in PAR_TO_KNOB.items():
        par = getattr(panel.par, par_name, None)
        if par is None or knob == 'bars':
            continue
        value = coerce(knob, par.eval())
        if value != '':
            set_knob(knob, value)
    bars = getattr(panel.par, 'Bars', None)
    if bars is not None and float(bars.eval()) > 0:
        set_knob('bars', bars.eval())


def play_preview():
    """Play the last finished take again from the start."""
    audio = op(AUDIO)
    audio.par.play = True
    audio.par.cuepulse.pulse()


def note_echo(knob, value):
    """Called by the callbacks before they show a /oscgen/param echo on the panel."""
    _echoed[knob] = coerce(knob, value)


# -- Parameter Execute DAT hooks (see oscgen_parexec.py) -------------------------------------

def on_par_change(par):
    knob = PAR_TO_KNOB.get(par.name)
    if knob is None:
        return None
    value = coerce(knob, par.eval())
    if _echoed.get(knob) == value:
        return None  # the panel is only showing what the daemon said
    if value == '' and knob in ('prompt', 'model'):
        return None
    return set_knob(knob, value)


def on_pulse(par):
    action = PULSES.get(par.name)
    if action is not None:
        return globals()[action]()
    return None


# -- one-time setup -------------------------------------------------------------------------

def create_panel(comp):
    """Add an 'oscgen' page of custom parameters to `comp` (run once from the Textport:
    op('oscgen_out').module.create_panel(op('oscgen')) ).  Existing ones are replaced."""
    page = comp.appendCustomPage('oscgen')
    for par_name, knob in PAR_TO_KNOB.items():
        kind, default = KNOBS[knob]
        append = {str: page.appendStr, float: page.appendFloat, int: page.appendInt}[kind]
        group = append(par_name, label=knob)
        group[0].default = default
        note_echo(knob, default)  # showing a default is not a change to send
        group[0].val = default
    for par_name in PULSES:
        page.appendPulse(par_name)
    for par_name, kind in DISPLAYS.items():
        append = {str: page.appendStr, float: page.appendFloat, int: page.appendInt}[kind]
        group = append(par_name)
        group[0].readOnly = True
    return page
