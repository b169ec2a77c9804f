"""The OSC address space of ``oscgen serve``: the one table the daemon, the README, the patches
and their tests all read.  Type tags are OSC's: ``s`` string, ``f`` float32, ``i`` int32;
``[...]`` marks optional arguments.  Ints are accepted where floats are expected and vice versa
(Max and Pd send whichever the user typed)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "/oscgen"
DEFAULT_LISTEN_PORT = 9000
DEFAULT_REPLY_PORT = 9001


@dataclass(frozen=True)
class Address:
    path: str
    args: str  # OSC type tags, optional ones in brackets
    meaning: str


# Messages a patch sends to the daemon.
INBOUND: tuple[Address, ...] = (
    Address("/oscgen/prompt", "s", "set the prompt text"),
    Address("/oscgen/duration", "f", "length in seconds, (0, 30]; clears bars"),
    Address("/oscgen/bpm", "f", "tempo used by bars (20..300)"),
    Address("/oscgen/bars", "f", "length in bars at the current bpm (4/4); duration = bars*4*60/bpm"),
    Address("/oscgen/temperature", "f", "sampling temperature, > 0 (typ. 0.5..1.5)"),
    Address("/oscgen/top_k", "i", "keep the k most likely codes, 0 = off"),
    Address("/oscgen/top_p", "f", "nucleus sampling, 0 = off, else (0, 1]"),
    Address("/oscgen/cfg", "f", "classifier-free guidance scale, >= 1 (1 = off)"),
    Address("/oscgen/seed", "i", "fixed seed, or -1 for a new random seed per job"),
    Address("/oscgen/model", "s", "musicgen-small, musicgen-medium, tiny-random, a hub repo id or a local folder"),
    Address("/oscgen/preset", "s|i", "load a prompt preset from config by name or number"),
    Address("/oscgen/generate", "[s]", "queue a job with the current knobs; optional prompt overrides"),
    Address("/oscgen/cancel", "[i]", "cancel job id, or the running job"),
    Address("/oscgen/status", "", "reply with the knobs (param echoes) and the queue"),
    Address("/oscgen/ping", "", "reply /oscgen/pong"),
    Address("/oscgen/learn", "s", "MIDI learn: map the next CC that moves to this knob"),
)

# Messages the daemon sends back (to the sender's host on the reply port, and configured targets).
OUTBOUND: tuple[Address, ...] = (
    Address("/oscgen/queued", "ii", "job id, position in queue (0 = next)"),
    Address("/oscgen/started", "i", "job id"),
    Address("/oscgen/progress", "if", "job id, fraction 0..1"),
    Address("/oscgen/done", "isf", "job id, absolute WAV path, seconds of audio"),
    Address("/oscgen/cancelled", "i", "job id"),
    Address("/oscgen/error", "is", "job id (-1 when not about a job), message"),
    Address("/oscgen/param/NAME", "f|i|s", "echo of a knob change, to every known client"),
    Address("/oscgen/ready", "s", "worker warm with this model"),
    Address("/oscgen/pong", "", "answer to ping"),
    Address("/oscgen/learned", "sii", "knob, MIDI channel (1-16), CC number"),
    Address("/oscgen/tempo", "f", "tempo from MIDI clock"),
)

# Knobs echoed as /oscgen/param/NAME.
KNOBS = ("prompt", "duration", "bpm", "bars", "temperature", "top_k", "top_p", "cfg", "seed", "model")


def inbound_paths() -> set[str]:
    return {a.path for a in INBOUND}
