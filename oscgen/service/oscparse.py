"""A bounded OSC 1.0 decoder: one datagram in, its (address, args) messages out, or
``OscDecodeError`` (a ValueError) naming the first thing wrong.

Written here rather than used from python-osc because python-osc's bundle parser trusts element
sizes (a negative one loops forever) and has no nesting limit, and a validating pass in front of
it would be this same walk done twice.  Bounded by construction: every size, string, blob and
padding is checked against the bytes that remain before it is read, every loop advances by at
least 4 bytes or one type tag, and bundles and arrays nest at most ``MAX_DEPTH`` deep.  So any
byte string costs time linear in its length.

Bundles are flattened in order and their timetags ignored: the daemon runs everything at once
(a live rig wants the knob now; a bundle timed for later must not hold the loop).
Argument types: i h r -> int, f d -> float, s S c -> str, b -> bytes, T F -> bool, N I -> None,
m -> (port, status, data1, data2), t -> (seconds, fraction), [ ] -> list.
"""

from __future__ import annotations

import struct

MAX_DEPTH = 8  # bundles in bundles, and arrays in arrays
BUNDLE_TAG = b"#bundle\x00"

_FIXED = {"i": (4, ">i"), "f": (4, ">f"), "r": (4, ">I"), "h": (8, ">q"), "d": (8, ">d")}
_EMPTY = {"T": True, "F": False, "N": None, "I": None}


class OscDecodeError(ValueError):
    """The datagram is not valid OSC 1.0; the message says where and why."""


def decode(data: bytes, max_depth: int = MAX_DEPTH) -> list[tuple[str, list]]:
    data = bytes(data)
    if not data:
        raise OscDecodeError("empty datagram")
    if len(data) % 4:
        raise OscDecodeError(f"{len(data)} bytes is not a multiple of 4 (OSC pads everything to 4 bytes)")
    out: list[tuple[str, list]] = []
    _packet(data, 0, len(data), 0, max_depth, out)
    return out


def _packet(data: bytes, start: int, end: int, depth: int, max_depth: int, out: list) -> None:
    if data.startswith(BUNDLE_TAG, start, end):
        _bundle(data, start, end, depth, max_depth, out)
    elif data.startswith(b"/", start, end):
        out.append(_message(data, start, end, max_depth))
    else:
        where = "" if start == 0 else f"bundle element at byte {start}: "
        raise OscDecodeError(f"{where}not an OSC message or bundle (it must start with '/' or '#bundle')")


def _bundle(data: bytes, start: int, end: int, depth: int, max_depth: int, out: list) -> None:
    if depth >= max_depth:
        raise OscDecodeError(f"bundles nested more than {max_depth} deep")
    pos = start + 16  # "#bundle\0" and the 8-byte timetag (ignored: everything runs now)
    if pos > end:
        raise OscDecodeError(f"bundle at byte {start} is shorter than its 16-byte header")
    while pos < end:
        if end - pos < 4:
            raise OscDecodeError(f"bundle element at byte {pos}: no room for its 4-byte size")
        size = int.from_bytes(data[pos:pos + 4], "big", signed=True)
        pos += 4
        if size <= 0 or size % 4 or size > end - pos:
            raise OscDecodeError(
                f"bundle element at byte {pos - 4} claims {size} bytes, {end - pos} remain "
                "(a size must be a positive multiple of 4 within its bundle)"
            )
        _packet(data, pos, pos + size, depth + 1, max_depth, out)
        pos += size


def _message(data: bytes, start: int, end: int, max_depth: int) -> tuple[str, list]:
    address, pos = _string(data, start, end, "the address")
    if pos == end:
        return address, []  # OSC 1.0 lets old senders leave out the type tag string
    if data[pos] != ord(","):
        raise OscDecodeError(f"{address}: the type tag string must start with ','")
    tags, pos = _string(data, pos, end, "the type tag string", address)
    args: list = []
    stack = [args]
    for tag in tags[1:]:
        if tag in _FIXED:
            size, fmt = _FIXED[tag]
            _need(size, pos, end, address, tag)
            value = struct.unpack_from(fmt, data, pos)[0]
            pos += size
        elif tag in "sS":
            value, pos = _string(data, pos, end, "a string argument", address, strict=False)
        elif tag == "b":
            _need(4, pos, end, address, tag)
            size = int.from_bytes(data[pos:pos + 4], "big", signed=True)
            pos += 4
            padded = (size + 3) & ~3
            if size < 0 or padded > end - pos:
                raise OscDecodeError(f"{address}: a blob claims {size} bytes, {end - pos} remain")
            value = data[pos:pos + size]
            pos += padded
        elif tag == "c":
            _need(4, pos, end, address, tag)
            code = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
            value = chr(code) if code < 0x110000 else "\ufffd"
        elif tag == "m":
            _need(4, pos, end, address, tag)
            value = tuple(data[pos:pos + 4])
            pos += 4
        elif tag == "t":
            _need(8, pos, end, address, tag)
            value = struct.unpack_from(">II", data, pos)
            pos += 8
        elif tag in _EMPTY:
            value = _EMPTY[tag]
        elif tag == "[":
            if len(stack) > max_depth:
                raise OscDecodeError(f"{address}: arrays nested more than {max_depth} deep")
            inner: list = []
            stack[-1].append(inner)
            stack.append(inner)
            continue
        elif tag == "]":
            if len(stack) == 1:
                raise OscDecodeError(f"{address}: ']' without '[' in the type tags")
            stack.pop()
            continue
        else:
            raise OscDecodeError(f"{address}: unknown type tag {tag!r}")
        stack[-1].append(value)
    if len(stack) != 1:
        raise OscDecodeError(f"{address}: '[' without ']' in the type tags")
    if pos != end:
        raise OscDecodeError(f"{address}: {end - pos} bytes after the arguments its type tags {tags!r} describe")
    return address, args


def _need(size: int, pos: int, end: int, address: str, tag: str) -> None:
    if end - pos < size:
        raise OscDecodeError(f"{address}: type tag {tag!r} needs {size} bytes, {end - pos} remain")


def _string(data: bytes, pos: int, end: int, what: str, address: str = "", strict: bool = True) -> tuple[str, int]:
    """A NUL-terminated string padded to 4 bytes: (text, the position after its padding)."""
    nul = data.find(b"\x00", pos, end)
    where = f"{address}: " if address else ""
    if nul < 0:
        raise OscDecodeError(f"{where}{what} at byte {pos} is not NUL-terminated")
    after = (nul + 4) & ~3  # the NUL and up to 3 more padding bytes, to a multiple of 4
    if after > end:
        raise OscDecodeError(f"{where}{what} at byte {pos}: its padding runs past the end")
    raw = data[pos:nul]
    try:
        return raw.decode("utf-8", "strict" if strict else "replace"), after
    except UnicodeDecodeError:
        raise OscDecodeError(f"{where}{what} at byte {pos} is not UTF-8") from None
