"""The bounded OSC 1.0 decoder (oscgen/service/oscparse.py): what python-osc builds decodes to
the same values, and any byte string returns or raises OscDecodeError, within a hang watchdog
(a loop would trip it; it is not a speed assertion).  Hypothesis runs derandomized: the same
examples on every host."""

from __future__ import annotations

import math
import signal
import struct
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from oscgen.service.oscparse import MAX_DEPTH, OscDecodeError, decode

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=400,
                    suppress_health_check=[HealthCheck.too_slow])
HANG_S = 10  # seconds; a decode of <= 64 KiB takes microseconds, a loop forever trips this


@contextmanager
def watchdog(seconds: int = HANG_S):
    def hung(signum, frame):
        raise AssertionError(f"decode ran for {seconds} s: it loops")

    old = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def returns_or_raises(data: bytes):
    with watchdog():
        try:
            return decode(data)
        except OscDecodeError as exc:
            assert str(exc)  # says what is wrong
            return exc


def pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def ostr(s: bytes) -> bytes:
    return pad(s + b"\0")


def bundle(*elements: bytes, timetag: bytes = b"\0" * 7 + b"\1") -> bytes:
    return b"#bundle\0" + timetag + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def bundle_sized(size: int, body: bytes) -> bytes:
    return b"#bundle\0" + b"\0" * 8 + struct.pack(">i", size) + body


# --- valid packets: the same values python-osc would give --------------------------------------

atoms = st.one_of(
    st.integers(-2**31, 2**31 - 1).map(lambda v: ("i", v)),
    st.integers(-2**63, 2**63 - 1).map(lambda v: ("h", v)),
    st.floats(width=32, allow_nan=False).map(lambda v: ("f", v)),
    st.floats(allow_nan=False).map(lambda v: ("d", v)),
    st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=40).map(lambda v: ("s", v)),
    st.binary(min_size=1, max_size=40).map(lambda v: ("b", v)),  # python-osc builds no empty blob
    st.sampled_from([("T", True), ("F", False), ("N", None)]),
)
addresses = st.from_regex(r"/[a-z]{1,8}(/[a-z_]{1,8}){0,3}", fullmatch=True)


def build(address: str, args) -> bytes:
    builder = OscMessageBuilder(address)
    for tag, value in args:
        builder.add_arg(value, tag)
    return builder.build().dgram


@SETTINGS
@given(addresses, st.lists(atoms, max_size=12))
def test_well_formed_messages_decode_to_their_values(address, args):
    assert decode(build(address, args)) == [(address, [v for _, v in args])]


@SETTINGS
@given(st.lists(st.tuples(addresses, st.lists(atoms, max_size=4)), min_size=1, max_size=5), st.integers(1, MAX_DEPTH))
def test_bundles_flatten_in_order_at_any_allowed_depth(messages, depth):
    builder = OscBundleBuilder(IMMEDIATELY)
    for address, args in messages:
        builder.add_content(OscMessageBuilder(address).build() if not args else _msg(address, args))
    data = builder.build().dgram
    for _ in range(depth - 1):
        data = bundle(data)
    assert decode(data) == [(a, [v for _, v in args]) for a, args in messages]


def _msg(address, args):
    builder = OscMessageBuilder(address)
    for tag, value in args:
        builder.add_arg(value, tag)
    return builder.build()


def test_arrays_timetags_midi_and_old_style_messages():
    data = ostr(b"/a") + ostr(b",[i[s]]tm") + struct.pack(">i", 7) + ostr(b"x") + struct.pack(">II", 5, 6) + bytes([1, 2, 3, 4])
    assert decode(data) == [("/a", [[7, ["x"]], (5, 6), (1, 2, 3, 4)])]
    assert decode(ostr(b"/ping")) == [("/ping", [])]  # OSC 1.0: no type tag string at all
    assert decode(ostr(b"/f") + ostr(b",f") + struct.pack(">f", math.inf)) == [("/f", [math.inf])]


# --- every class of malformed packet: a clear error, never a hang --------------------------------

MALFORMED = {
    "negative element size": bundle_sized(-16, b"\0" * 16),
    "zero element size": bundle_sized(0, ostr(b"/oscgen/ping") + ostr(b",")),
    "oversized element": bundle_sized(1 << 30, ostr(b"/oscgen/ping") + ostr(b",")),
    "misaligned element size": bundle_sized(13, ostr(b"/oscgen/ping") + ostr(b",") + b"\0\0\0\0"),
    "truncated bundle header": b"#bundle\0\0\0\0\0",
    "bundle element size cut off": b"#bundle\0" + b"\0" * 8 + b"\0\0",
    "deep nesting": (lambda d: [d := bundle(d) for _ in range(MAX_DEPTH + 1)][-1])(ostr(b"/oscgen/ping") + ostr(b",")),
    "lying type tags: more tags than data": ostr(b"/oscgen/ping") + ostr(b",iiii") + struct.pack(">i", 1),
    "lying type tags: fewer tags than data": ostr(b"/oscgen/ping") + ostr(b",") + struct.pack(">i", 1),
    "unknown type tag": ostr(b"/oscgen/ping") + ostr(b",Q") + b"\0" * 4,
    "negative blob size": ostr(b"/oscgen/ping") + ostr(b",b") + struct.pack(">i", -4),
    "oversized blob": ostr(b"/oscgen/ping") + ostr(b",b") + struct.pack(">i", 1 << 20) + b"\0" * 4,
    "unterminated address": b"/oscgen/ping",
    "unterminated string argument": ostr(b"/oscgen/prompt") + ostr(b",s") + b"abcd",
    "unclosed array": ostr(b"/a") + ostr(b",[i") + struct.pack(">i", 1),
    "array nested too deep": ostr(b"/a") + ostr(b"," + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)),
    "not UTF-8 address": ostr(b"/\xff\xfe") + ostr(b","),
    "length not a multiple of 4": ostr(b"/oscgen/ping") + ostr(b",") + b"\0",
    "neither message nor bundle": b"GET / HTTP/1.1\r\n\r\n\0\0",
    "empty": b"",
}


@pytest.mark.parametrize("name", MALFORMED)
def test_each_class_of_malformed_packet_is_refused_with_a_reason(name):
    result = returns_or_raises(MALFORMED[name])
    assert isinstance(result, OscDecodeError), f"{name} decoded as {result!r}"


def test_the_reasons_say_what_is_wrong():
    with pytest.raises(OscDecodeError, match=r"claims -16 bytes, 16 remain"):
        decode(MALFORMED["negative element size"])
    with pytest.raises(OscDecodeError, match=rf"nested more than {MAX_DEPTH} deep"):
        decode(MALFORMED["deep nesting"])
    with pytest.raises(OscDecodeError, match=r"type tag 'i' needs 4 bytes, 0 remain"):
        decode(MALFORMED["lying type tags: more tags than data"])
    with pytest.raises(OscDecodeError, match=r"a blob claims -4 bytes"):
        decode(MALFORMED["negative blob size"])
    with pytest.raises(OscDecodeError, match=r"not NUL-terminated"):
        decode(MALFORMED["unterminated string argument"])


# --- any byte string ---------------------------------------------------------------------------

element_sizes = st.one_of(st.integers(-2**31, 2**31 - 1), st.integers(-8, 64))


@st.composite
def hostile(draw):
    """Random bytes, and bytes shaped like OSC with lying sizes, tags and nesting."""
    kind = draw(st.integers(0, 3))
    tail = draw(st.binary(max_size=256))
    if kind == 0:
        return tail
    if kind == 1:  # bundles of bundles with arbitrary element sizes
        data = tail
        for size in draw(st.lists(element_sizes, max_size=12)):
            data = bundle_sized(size, data)
        return data
    if kind == 2:  # a message with arbitrary type tags over arbitrary data
        tags = draw(st.text(alphabet="ifsbhdtTFNImcrS[]Qx", max_size=40)).encode()
        return ostr(b"/oscgen/x") + ostr(b"," + tags) + tail
    # a valid packet, mutated: bytes overwritten, cut short or repeated
    valid = build(draw(addresses), draw(st.lists(atoms, max_size=6)))
    valid = bundle(valid, valid) if draw(st.booleans()) else valid
    data = bytearray(valid)
    for pos, byte in draw(st.lists(st.tuples(st.integers(0, max(len(data) - 1, 0)), st.integers(0, 255)), max_size=6)):
        if data:
            data[pos] = byte
    return bytes(data[: draw(st.integers(0, len(data)))]) if draw(st.booleans()) else bytes(data) * draw(st.integers(1, 3))


@settings(derandomize=True, database=None, deadline=None, max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(hostile())
def test_any_byte_string_returns_messages_or_raises_a_decode_error(data):
    result = returns_or_raises(data)
    if not isinstance(result, OscDecodeError):
        assert all(isinstance(a, str) and a.startswith("/") and isinstance(args, list) for a, args in result)


def test_the_largest_datagram_of_the_worst_shape_is_refused_without_hanging():
    """64 KiB of bundle-in-bundle headers, and of type tags, each a full-size UDP datagram."""
    nested = b"".join(b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 65500 - 20 * (i + 1)) for i in range(3270))
    assert isinstance(returns_or_raises(nested[:65500 - 65500 % 4]), OscDecodeError)
    tags = ostr(b"/a") + ostr(b"," + b"N" * 65000)
    with watchdog():
        assert decode(tags) == [("/a", [None] * 65000)]
