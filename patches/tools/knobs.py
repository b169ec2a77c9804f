"""The knobs every patch shows, in screen order.  OSC types come from the daemon's table
(oscgen/service/protocol.py); only the screen defaults and hints live here.  The defaults match the
engine's, and are shown until the daemon's /oscgen/param/* echoes replace them."""

from __future__ import annotations

from dataclasses import dataclass

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


_INBOUND_TYPES = {a.path.rsplit("/", 1)[1]: a.args for a in protocol.INBOUND}

# Numeric knobs. duration and bars are two ways to say how long: setting duration clears bars;
# bars uses bpm (4/4).
NUMBER_KNOBS: tuple[Knob, ...] = (
    Knob("duration", 8.0, "seconds, 0-30"),
    Knob("bars", 0.0, "length in bars at bpm (0 = use duration)"),
    Knob("bpm", 120.0, "tempo for bars"),
    Knob("temperature", 1.0, "randomness, 0.5-1.5"),
    Knob("top_k", 250, "keep k likeliest codes, 0 = off"),
    Knob("top_p", 0.0, "nucleus, 0 = off, else 0-1"),
    Knob("cfg", 3.0, "prompt guidance, 1 = off"),
    Knob("seed", -1, "-1 = new random seed per take"),
)

# Text knobs: sent as one OSC string each.
TEXT_KNOBS = ("prompt", "model")

# Bangs the patches send with no arguments.
ACTIONS = ("generate", "cancel", "status", "ping")

for _k in NUMBER_KNOBS:
    assert _k.osc_type in ("f", "i"), _k
for _name in TEXT_KNOBS:
    assert _INBOUND_TYPES[_name] in ("s", "s..."), _name  # s...: atoms joined by the daemon
for _name in (*[k.name for k in NUMBER_KNOBS], *TEXT_KNOBS):
    assert _name in protocol.KNOBS, _name
