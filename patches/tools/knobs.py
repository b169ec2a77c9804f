"""The knobs every patch shows, in screen order.  OSC types come from the daemon's table
(oscgen/service/protocol.py) and the defaults from the shipped config.toml (what a fresh daemon
starts with; the patches show them until the daemon's /oscgen/param/* echoes arrive).  Only the
short on-screen hints live here."""

from __future__ import annotations

from dataclasses import dataclass

from oscgen.config import load_config
from oscgen.knobs import KNOBS
from oscgen.service import protocol


@dataclass(frozen=True)
class Knob:
    name: str  # /oscgen/<name> in, /oscgen/param/<name> back
    default: float
    hint: str

    @property
    def osc_type(self) -> str:
        """'f' or 'i', as the daemon's table declares it."""
        return _INBOUND_TYPES[self.name]

    @property
    def address(self) -> str:
        return f"{protocol.PREFIX}/{self.name}"

    @property
    def range(self) -> tuple[float, float] | None:
        """(low, high) a box may be dragged across, from the daemon's knob table; None where the
        knob has no closed range or allows a value outside it (seed -1)."""
        knob = KNOBS[self.name]
        if knob.low is None or knob.high is None or knob.extra:
            return None
        return knob.low, knob.high


_INBOUND_TYPES = {a.path.rsplit("/", 1)[1]: a.args for a in protocol.INBOUND}
_DEFAULTS = load_config().defaults

# Numeric knobs. duration and bars are two ways to say how long: setting duration clears bars;
# bars uses bpm (4/4).
NUMBER_KNOBS: tuple[Knob, ...] = tuple(
    Knob(name, _DEFAULTS[name], hint)
    for name, hint in (
        ("duration", "seconds, 0-30"),
        ("bars", "length in bars at bpm (0 = use duration)"),
        ("bpm", "tempo for bars"),
        ("loop", "1 = seamless loop, 0 = one-shot"),
        ("temperature", "randomness, 0.5-1.5"),
        ("top_k", "keep k likeliest codes, 0 = off"),
        ("top_p", "nucleus, 0 = off, else 0-1"),
        ("cfg", "prompt guidance, 1 = off"),
        ("seed", "-1 = new random seed per take"),
        ("variations", "takes per generate, 1-8, one pass"),
    )
)

# Text knobs: sent as one OSC string each.
TEXT_KNOBS = ("prompt", "model")



@dataclass(frozen=True)
class Action:
    """A button: an inbound address of the daemon's table that is not a knob and needs no
    argument, sent bare (/oscgen/stop: the running job; /oscgen/continue: the last take)."""

    address: str

    @property
    def word(self) -> str:
        """/oscgen/<word>: the name the patches give it (Pd: $0-<name>, inlet message <name>)."""
        return self.address.rsplit("/", 1)[1]

    @property
    def name(self) -> str:
        # the patches' preview already has a 'stop' (the playback): the daemon's is stop_job
        return _RENAMED.get(self.word, self.word)


_RENAMED = {"stop": "stop_job"}

# Buttons, in the table's order: every inbound address that is not a knob and whose arguments
# are all optional, so a new one in protocol.py gets a button in every generated patch.
ACTIONS: tuple[Action, ...] = tuple(
    Action(a.path) for a in protocol.INBOUND
    if a.path.rsplit("/", 1)[1] not in KNOBS and (not a.args or a.args.startswith("["))
)

ACTION_NAMES = tuple(a.name for a in ACTIONS)

for _k in NUMBER_KNOBS:
    assert _k.osc_type in ("f", "i"), _k
for _name in TEXT_KNOBS:
    assert _INBOUND_TYPES[_name] in ("s", "s..."), _name  # s...: atoms joined by the daemon
for _name in (*[k.name for k in NUMBER_KNOBS], *TEXT_KNOBS):
    assert _name in protocol.KNOBS, _name
