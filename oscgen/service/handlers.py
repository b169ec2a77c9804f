"""What the daemon does with each inbound OSC address: one function per row of
``protocol.INBOUND``, registered with ``@handles(path)``.

A handler is ``handler(daemon, address, args, sender)``; it runs in the OSC thread under the
daemon's lock, with ``args`` as python-osc decoded them.  To add an address: a row in
``protocol.INBOUND`` (the README, the patches and OSCQuery read it) and a ``@handles`` function
here; ``HANDLERS`` is checked against the table at import, so neither can be forgotten.
Knob addresses (``/oscgen/<knob>``) share one handler.
"""

from __future__ import annotations

from typing import Callable

from oscgen.knobs import KNOBS, format_atom
from oscgen.service import argspec
from oscgen.service.argspec import describe
from oscgen.service.protocol import INBOUND, PREFIX, inbound_paths

Handler = Callable[..., None]  # (daemon, address, args, sender)
HANDLERS: dict[str, Handler] = {}


def handles(*paths: str):
    def register(fn: Handler) -> Handler:
        for path in paths:
            if path not in inbound_paths():
                raise ValueError(f"{path} has a handler but no row in protocol.INBOUND")
            HANDLERS[path] = fn
        return fn

    return register


SPECS = {a.path: a.args for a in INBOUND}
KNOB_PATHS = {f"{PREFIX}/{name}": name for name in KNOBS}


def dispatch(daemon, address: str, args: list, sender) -> None:
    """Check ``args`` against the address's row of protocol.INBOUND (knobs check their own
    values, naming the knob), then run its handler (the daemon's extra handlers first, e.g.
    MIDI learn)."""
    spec = SPECS.get(address)
    if spec is not None and (address not in KNOB_PATHS or address == f"{PREFIX}/prompt"):
        problem = argspec.problem(spec if args or address not in KNOB_PATHS else "", args)
        if problem:
            daemon.error(-1, f"{address} {problem}", sender)
            return
    extra = daemon.extra_handler(address)
    if extra is not None:
        extra(args, sender)
        return
    handler = HANDLERS.get(address)
    if handler is None:
        known = ", ".join(sorted(inbound_paths()))
        daemon.error(-1, f"unknown address {address!r}; the daemon understands {known}", sender)
        return
    handler(daemon, address, args, sender)


def source(sender) -> str:
    return f"osc {sender[0]}"


@handles(*(f"{PREFIX}/{name}" for name in KNOBS))
def knob(daemon, address, args, sender) -> None:
    name = address[len(PREFIX) + 1 :]
    if not args:  # a bare knob address asks for its value
        daemon.reply(sender, f"{PREFIX}/param/{name}", daemon.state.get(name))
        return
    spec = KNOBS[name]
    if name == "prompt":
        value = " ".join(format_atom(a) for a in args)
    elif len(args) != 1:
        daemon.error(-1, f"{address} expects one argument, {spec.allowed()} ({spec.osc_tag}), got {describe(args)}", sender)
        return
    else:
        value = from_osc(args[0])
    daemon.set_knob(name, value, source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/model")
def model(daemon, address, args, sender) -> None:
    """A knob, but over OSC only a name the daemon knows (service/models.py): never a path."""
    if len(args) == 1 and isinstance(from_osc(args[0]), str):
        try:
            daemon.jobs.models.check_osc(from_osc(args[0]))
        except ValueError as exc:
            daemon.error(-1, f"{address}: {exc}", sender)
            return
    knob(daemon, address, args, sender)


@handles(f"{PREFIX}/generate")
def generate(daemon, address, args, sender) -> None:
    prompt = " ".join(format_atom(a) for a in args) if args else None
    daemon.submit(prompt=prompt, source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/continue")
def continue_(daemon, address, args, sender) -> None:
    daemon.submit_continuation(args[0] if args else None, source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/preset")
def preset(daemon, address, args, sender) -> None:
    if len(args) != 1:
        daemon.error(-1, f"{address} expects one argument, a preset name (s) or number (i)", sender)
    else:
        daemon.load_preset(from_osc(args[0]), source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/cancel", f"{PREFIX}/stop")
def cancel_or_stop(daemon, address, args, sender) -> None:
    """/oscgen/cancel drops a job's audio, /oscgen/stop keeps what it made; both take a job id."""
    job_id = one_int(args) if args else None
    if args and (len(args) != 1 or job_id is None):
        daemon.error(-1, f"{address} expects no argument (the running job) or a job id (i), got {describe(args)}", sender)
    else:
        action = daemon.cancel if address == f"{PREFIX}/cancel" else daemon.stop
        action(job_id, source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/cancel_take")
def cancel_take(daemon, address, args, sender) -> None:
    """/oscgen/cancel_take job take: drop one take of a job of variations."""
    job_id, take = (one_int([a]) for a in args)  # the table's check let exactly two numbers through
    if job_id is None or take is None:
        daemon.error(-1, f"{address} expects a job id and a take number, two integers (ii), got {describe(args)}", sender)
    else:
        daemon.cancel_take(job_id, take, source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/status")
def status(daemon, address, args, sender) -> None:
    for name, value in daemon.state.snapshot().items():
        daemon.reply(sender, f"{PREFIX}/param/{name}", value)
    jobs = daemon.jobs
    daemon.reply(sender, f"{PREFIX}/status", *jobs.status())
    for job in jobs.batch:  # a batch runs several jobs; /oscgen/status names only the first
        daemon.reply(sender, f"{PREFIX}/running", job.id)
    if jobs.warm_model is not None:
        daemon.reply(sender, f"{PREFIX}/ready", jobs.warm_model, jobs.warm_note)
    elif jobs.load_error:  # a patch opened later still learns why nothing is warm
        daemon.reply(sender, f"{PREFIX}/error", -1, jobs.load_error)


@handles(f"{PREFIX}/ping")
def ping(daemon, address, args, sender) -> None:
    daemon.reply(sender, f"{PREFIX}/pong")


@handles(f"{PREFIX}/queue")
def queue(daemon, address, args, sender) -> None:
    waiting = daemon.jobs.waiting()
    daemon.reply(sender, f"{PREFIX}/queue", len(waiting))
    for row in waiting:
        daemon.reply(sender, f"{PREFIX}/waiting", *row)


@handles(f"{PREFIX}/clear")
def clear(daemon, address, args, sender) -> None:
    daemon.clear(source=source(sender))


@handles(f"{PREFIX}/unload")
def unload(daemon, address, args, sender) -> None:
    daemon.unload(source=source(sender), reply_to=sender)


@handles(f"{PREFIX}/learn")
def learn(daemon, address, args, sender) -> None:
    # replaced by MIDI's own handler (Daemon.register) when [midi] is on
    daemon.error(-1, f"{address}: MIDI is off; set [midi] enabled = true in config.toml to use MIDI learn", sender)


# --- argument helpers ----------------------------------------------------------------------------


def from_osc(value):
    """An OSC float32 as the decimal that was typed (0.9, not 0.8999999761581421), so that
    echoes and sidecars read as the musician set them; bytes (a blob) as text."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def one_int(args):
    if len(args) == 1 and isinstance(args[0], (int, float)) and not isinstance(args[0], bool) and float(args[0]).is_integer():
        return int(args[0])
    return None


_missing = inbound_paths() - HANDLERS.keys()
if _missing:
    raise ImportError(f"protocol.INBOUND rows without a handler: {', '.join(sorted(_missing))}")
