"""Checking an OSC message's arguments against its row of ``protocol.INBOUND``.

The row's type tags (``"s|i"``, ``"[i]"``, ``"[s...]"``, ``""``...) say what an address takes;
``problem(spec, args)`` says in words what is wrong with ``args`` (or None), so that every
address answers any typed argument (int64, double, inf/nan, T/F/N, blobs, arrays...) with an
error naming what it expected rather than failing somewhere inside a handler.

Tags: ``i`` an integer (any finite number: Max and Pd send whichever the user typed; ranges are
the handler's to check), ``f`` a number, ``s`` a string (a blob counts, as UTF-8 text),
``s...`` one or more atoms (strings or numbers, joined as a prompt), ``[x]`` optional,
``a|b`` either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(\[)?([A-Za-z](?:\|[A-Za-z])*)(\.\.\.)?(\])?")
_WORDS = {"i": "an integer (i)", "f": "a number (f)", "s": "a string (s)", "b": "a blob (b)",
          "T": "true (T)", "F": "false (F)", "N": "nil (N)", "h": "an integer (h)", "d": "a number (d)"}
PREVIEW_CHARS = 60


@dataclass(frozen=True)
class Token:
    tags: tuple[str, ...]
    optional: bool
    repeated: bool


def parse(spec: str) -> tuple[Token, ...]:
    tokens, pos, optional = [], 0, False
    spec = spec.replace(" ", "")
    while pos < len(spec):
        if spec[pos] in "[]":
            optional = spec[pos] == "["
            pos += 1
            continue
        m = _TOKEN.match(spec, pos)
        if m is None:
            raise ValueError(f"bad argument spec {spec!r} at {pos}")
        opened = bool(m.group(1)) or optional
        tags = tuple(m.group(2).split("|"))
        repeated = bool(m.group(3))
        if len(tags) == 1 and len(tags[0]) > 1:  # "ii": one token per tag
            tokens += [Token((t,), opened, False) for t in tags[0][:-1]]
            tags = (tags[0][-1],)
        tokens.append(Token(tags, opened, repeated))
        optional = opened and not m.group(4)
        pos = m.end()
    return tuple(tokens)


def matches(tag: str, value, atom: bool = False) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if tag in "ihfd":
        return number
    if tag == "s":
        return isinstance(value, (str, bytes)) or (atom and number)
    if tag == "b":
        return isinstance(value, bytes)
    return {"T": value is True, "F": value is False, "N": value is None}.get(tag, False)


def problem(spec: str, args: list) -> str | None:
    """None when ``args`` fit ``spec``, else "expects ..., got ..." (without the address)."""
    rest = list(args)
    for token in parse(spec):
        if token.repeated:
            taken = 0
            while rest and any(matches(t, rest[0], atom=True) for t in token.tags):
                rest.pop(0)
                taken += 1
            if not taken and not token.optional:
                return f"expects {expected(spec)}, got {describe(args)}"
        elif rest and any(matches(t, rest[0]) for t in token.tags):
            rest.pop(0)
        elif not token.optional:
            return f"expects {expected(spec)}, got {describe(args)}"
    if rest:
        return f"expects {expected(spec)}, got {describe(args)}"
    return None


def expected(spec: str) -> str:
    tokens = parse(spec)
    if not tokens:
        return "no arguments"
    if all(t.optional for t in tokens):  # "[i]": "no argument or an integer (i)"
        return "no argument or " + expected(spec.replace("[", "").replace("]", ""))
    parts = []
    for token in tokens:
        if token.repeated:
            text = "words and numbers (s...)"
        else:
            text = " or ".join(_WORDS.get(t, repr(t)) for t in token.tags)
        parts.append(f"optionally {text}" if token.optional else text)
    return ", then ".join(parts)


def describe(args) -> str:
    """Arguments as the error shows them, each cut to PREVIEW_CHARS (a 60 kB string stays short)."""
    if not args:
        return "no arguments"
    shown = [_preview(a) for a in args[:8]] + (["..."] if len(args) > 8 else [])
    return f"{len(args)} arguments ({' '.join(shown)})" if len(args) != 1 else shown[0]


def _preview(value) -> str:
    text = repr(value)
    if len(text) > PREVIEW_CHARS:
        size = f"{len(value)} characters" if isinstance(value, str) else f"{len(value)} bytes" if isinstance(value, bytes) else "long"
        text = f"{text[:PREVIEW_CHARS]}... ({size})"
    return text
