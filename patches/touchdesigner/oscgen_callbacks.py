"""oscgen for TouchDesigner: receiving.  Paste into the Text DAT that is the Callbacks DAT of an
OSC In DAT listening on port 9001 (the daemon's reply port).

Every reply from ``oscgen serve`` lands in onReceiveOSC: job state, progress and the last file
and error go into the ``oscgen_state`` Table DAT (and onto the panel COMP's read-only parameters
if you made them with oscgen_out.create_panel); knob echoes (/oscgen/param/NAME) update the
panel without being sent back; /oscgen/done loads the WAV into the Audio File In CHOP."""

import time

import oscgen_out as out

AUTOPLAY = True  # play each finished take as soon as it arrives


def remember(name, value):
    """Row `name` of the state table = value (added when missing)."""
    table = op(out.STATE)
    if table is None:
        return
    if table[name, 1] is None:
        table.appendRow([name, value])
    else:
        table[name, 1] = value


def show(par_name, value):
    """Set a parameter on the panel COMP, if it has one by that name."""
    panel = op(out.PANEL)
    par = getattr(panel.par, par_name, None) if panel is not None else None
    if par is not None:
        par.val = value


def status(state, job=None, progress=None):
    remember('state', state)
    show('State', state)
    if job is not None:
        remember('job', int(job))
        show('Job', int(job))
    if progress is not None:
        remember('progress', float(progress))
        show('Progress', float(progress))


def on_queued(job, position):
    status('queued ({} ahead)'.format(int(position)) if position else 'queued', job)


def on_started(job):
    status('running', job, 0.0)


def on_progress(job, fraction):
    status('running', job, fraction)


_takes = {}  # job id -> takes finished (variations > 1: one /oscgen/done per take)


def on_done(job, path, seconds):
    status('done', job, 1.0)
    take = _takes[int(job)] = _takes.get(int(job), 0) + 1
    remember('last_file', path)
    remember('seconds', float(seconds))
    remember('take', take)
    show('Lastfile', path)
    show('Seconds', float(seconds))
    show('Take', take)
    takes = op(out.TAKES)
    if takes is not None:  # every take of every job, to pick from
        takes.appendRow([int(job), take, path, float(seconds)])
    audio = op(out.AUDIO)
    if audio is not None:
        audio.par.file = path  # the Audio File In CHOP reloads when its file changes
        if AUTOPLAY:
            out.play_preview()


def on_cancelled(job):
    status('cancelled', job, 0.0)


def on_error(job, message):
    status('error', job if job >= 0 else None)
    remember('last_error', message)
    show('Lasterror', message)


def on_ready(model, note=''):
    """The worker is warm; the note says when its output is only noise (tiny-random)."""
    status('ready')
    remember('model', model)
    remember('daemon', 'ready: {}{}'.format(model, ' - ' + note if note else ''))


def on_status(running_job, waiting, worker):
    remember('daemon', 'worker {}, {} waiting'.format(worker, int(waiting)))
    del _running[:]  # the /oscgen/running that follow list the jobs running now
    remember('running', '')
    if running_job >= 0:
        remember('job', int(running_job))


_running = []


def on_running(job):
    """One per job running now, after /oscgen/status: row 'running' lists them ("4 5")."""
    _running.append(int(job))
    remember('running', ' '.join(str(j) for j in _running))


def on_preset(number, name):
    remember('daemon', 'preset {} ({}) loaded'.format(name, int(number)))


def on_shutdown(why):
    status('stopped')
    remember('daemon', 'stopped: {}'.format(why))


def on_pong():
    remember('pong', time.strftime('%H:%M:%S'))  # the daemon answered at this time


def on_learned(knob, channel, cc):
    remember('learned', '{} <- MIDI channel {} CC {}'.format(knob, int(channel), int(cc)))


def on_tempo(bpm):
    remember('tempo', float(bpm))


def on_transport(kind):
    remember('transport', kind)  # MIDI clock start / stop / continue


def on_eta(job, seconds):
    remember('seconds_left', float(seconds))
    show('Secondsleft', float(seconds))


def on_queue(waiting):
    remember('daemon', '{} waiting'.format(int(waiting)))


def on_waiting(position, job, prompt, seconds):
    remember('waiting_{}'.format(int(position)), 'job {}: {} ({:g} s)'.format(int(job), prompt, float(seconds)))


def on_unloaded(model, why):
    remember('daemon', 'unloaded {}: {}'.format(model, why))


def on_param(knob, value):
    """A knob changed on the daemon (from us, another patch or MIDI): show it, don't resend it."""
    if knob not in out.KNOBS:
        remember('unknown_param', knob)
        return
    out.note_echo(knob, value)
    remember(knob, value)
    show(out.KNOB_TO_PAR[knob], out.coerce(knob, value))


HANDLERS = {
    '/oscgen/queued': on_queued,
    '/oscgen/started': on_started,
    '/oscgen/progress': on_progress,
    '/oscgen/done': on_done,
    '/oscgen/cancelled': on_cancelled,
    '/oscgen/error': on_error,
    '/oscgen/ready': on_ready,
    '/oscgen/status': on_status,
    '/oscgen/preset': on_preset,
    '/oscgen/shutdown': on_shutdown,
    '/oscgen/pong': on_pong,
    '/oscgen/learned': on_learned,
    '/oscgen/tempo': on_tempo,
    '/oscgen/transport': on_transport,
    '/oscgen/eta': on_eta,
    '/oscgen/queue': on_queue,
    '/oscgen/waiting': on_waiting,
    '/oscgen/running': on_running,
    '/oscgen/unloaded': on_unloaded,
}


def onReceiveOSC(dat, rowIndex, message, bytes, timeStamp, address, args, peer):
    if address.startswith('/oscgen/param/') and len(args) == 1:
        on_param(address[len('/oscgen/param/'):], args[0])
        return
    handler = HANDLERS.get(address)
    if handler is None:
        remember('unknown_reply', message)
        return
    try:
        handler(*args)
    except TypeError:
        # wrong number of arguments: keep it visible instead of raising in TouchDesigner's cook
        remember('bad_reply', message)
