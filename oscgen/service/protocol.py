"""The OSC address space of ``oscgen serve``: the one table the daemon, the README, the patches
and their tests all read.  Type tags are OSC's: ``s`` string, ``f`` float32, ``i`` int32;
``[...]`` marks optional arguments, ``s...`` one or more atoms joined with spaces, ``a|b``
either.  Ints are accepted where floats are expected and vice versa (Max and Pd send whichever
the user typed).  A knob address sent with no argument answers with the knob's current value."""

from __future__ import annotations

from dataclasses import dataclass

from oscgen.knobs import KNOBS

PREFIX = "/oscgen"
DEFAULT_LISTEN_PORT = 9000
DEFAULT_REPLY_PORT = 9001


@dataclass(frozen=True)
class Address:
    path: str
    args: str  # OSC type tags, optional ones in brackets
    meaning: str


def _knob_address(name: str, path: str | None = None, note: str = "") -> Address:
    knob = KNOBS[name]
    tags = "s..." if name == "prompt" else knob.osc_tag
    return Address(path or f"{PREFIX}/{name}", tags, f"{knob.meaning}; {note or knob.allowed()}")


# Messages a patch sends to the daemon.
INBOUND: tuple[Address, ...] = (
    _knob_address("prompt"),
    _knob_address("duration"),
    _knob_address("bpm"),
    _knob_address("bars"),
    _knob_address("loop"),
    _knob_address("temperature"),
    _knob_address("top_k"),
    _knob_address("top_p"),
    _knob_address("cfg"),
    _knob_address("seed"),
    _knob_address("variations"),
    _knob_address("model", note="over OSC a name, never a path: a built-in one, the one the daemon started with, "
                  "or a name in config's [models] (downloads only with [models] allow_download)"),
    Address("/oscgen/preset", "s|i", "load a prompt preset from config by name or number (0 = first), sets the knobs"),
    Address("/oscgen/generate", "[s...]", "queue a job with the current knobs; a prompt given here is used for this job only. "
            "It makes `variations` takes in one pass, each answered by its own /oscgen/done"),
    Address("/oscgen/continue", "[s]", "queue a continuation with the current knobs: of the last take (when it starts), or of a WAV "
            "named by file name (watched folder, then config [input] folders) or absolute path inside them; the WAV "
            "written is its last [input] prompt_seconds followed by duration seconds of new music"),
    Address("/oscgen/cancel", "[i]", "cancel job id (queued or running: a running job's takes are dropped, the "
            "other jobs in its batch finish), or every running job"),
    Address("/oscgen/cancel_take", "ii", "cancel one take of a job of variations: job id, take number (1 = the first), "
            "waiting or running; that take is not written, the job's others go on (its last take: the job is cancelled)"),
    Address("/oscgen/stop", "[i]", "end job id (or the running job) early and keep what it made so far: the WAV is "
            "written as usual (whole bars in bars mode, still a loop; a continuation keeps its prompt), unlike cancel; "
            "a queued job is just cancelled"),
    Address("/oscgen/status", "", "reply with every knob (/oscgen/param/*), /oscgen/status, one /oscgen/running per running job and /oscgen/ready"),
    Address("/oscgen/ping", "", "reply /oscgen/pong"),
    Address("/oscgen/learn", "s", "MIDI learn: map the next CC that moves to this knob (off = disarm)"),
    Address("/oscgen/queue", "", "reply /oscgen/queue with the number of jobs waiting, then one /oscgen/waiting per job"),
    Address("/oscgen/clear", "", "cancel every job waiting in the queue (each answers /oscgen/cancelled); the running job goes on"),
    Address("/oscgen/unload", "", "free the model's memory now (answers /oscgen/unloaded); the next job loads it again"),
)

# Messages the daemon sends back (to the sender's host on the reply port, and configured targets).
# Job events, knob echoes, ready and shutdown go to every known client.
OUTBOUND: tuple[Address, ...] = (
    Address("/oscgen/queued", "ii", "job id, position in the queue (0 = next)"),
    Address("/oscgen/started", "i", "job id"),
    Address("/oscgen/progress", "if", "job id, fraction 0..1 (ends with exactly 1)"),
    Address("/oscgen/done", "isf", "job id, absolute WAV path, seconds of audio: one per take (a job of variations "
            "sends several, its sidecars say take and seed)"),
    Address("/oscgen/cancelled", "i", "job id"),
    Address("/oscgen/error", "is", "job id (-1 when not about a job), message"),
    Address("/oscgen/param/NAME", "f|i|s", "echo of a knob change, to every known client (NAME as in /oscgen/NAME)"),
    Address("/oscgen/preset", "is", "preset loaded: number, name"),
    Address("/oscgen/ready", "ss", "model loaded and warmed up (the next take starts at full speed); a note (\"\" or why its output is noise)"),
    Address("/oscgen/status", "iis", "running job id (-1 = none), jobs waiting, worker state: starting, ready, busy, unloaded, no model, restarting"),
    Address("/oscgen/running", "i", "job id: one per job running now, right after /oscgen/status (jobs that run together as one batch "
            "each send one; the first is /oscgen/status's)"),
    Address("/oscgen/pong", "", "answer to ping"),
    Address("/oscgen/shutdown", "s", "the daemon is stopping, and why"),
    Address("/oscgen/learned", "sii", "knob, MIDI channel (1-16), CC number"),
    Address("/oscgen/tempo", "f", "tempo from MIDI clock"),
    Address("/oscgen/transport", "s", "MIDI clock transport: start, stop or continue"),
    Address("/oscgen/eta", "if", "job id, seconds left (from the measured step rate), sent beside /oscgen/progress"),
    Address("/oscgen/queue", "i", "jobs waiting (the answer to /oscgen/queue; one /oscgen/waiting follows per job)"),
    Address("/oscgen/waiting", "iisf", "position (0 = next), job id, prompt, seconds of audio"),
    Address("/oscgen/unloaded", "ss", "the model was freed: model, why (asked over OSC, or idle); the next job loads it again"),
)

# Knobs echoed as /oscgen/param/NAME, with the OSC type each echo carries.
# (KNOBS, imported above, iterates as the knob names.)
PARAM_TYPES: dict[str, str] = {name: knob.osc_tag for name, knob in KNOBS.items()}


def inbound_paths() -> set[str]:
    return {a.path for a in INBOUND}


def outbound_paths() -> set[str]:
    """Every address the daemon may send, with /oscgen/param/NAME expanded per knob."""
    paths = {a.path for a in OUTBOUND if a.path != "/oscgen/param/NAME"}
    return paths | {f"{PREFIX}/param/{name}" for name in KNOBS}


def markdown_table() -> str:
    """The README's address table, generated from this module (a test keeps them equal)."""
    lines = []
    for title, table in (("In (patch → daemon)", INBOUND), ("Out (daemon → patch)", OUTBOUND)):
        lines += [f"**{title}**", "", "| address | args | meaning |", "| --- | --- | --- |"]
        for a in table:
            args = f"`{a.args}`" if a.args else ""
            cells = (f"`{a.path}`", args, a.meaning)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
