"""Every inbound address of protocol.INBOUND, sent any typed arguments (int64, double, inf/nan,
T/F/N, blobs, arrays, empty and huge strings), answers with replies that can be sent: on a
bad argument an /oscgen/error naming the address and what it expected, never "internal error".
The real Daemon and handlers in-process (no worker, so jobs stay queued); hypothesis
derandomized, so every host runs the same examples."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oscgen.config import load_config, with_overrides
from oscgen.service import argspec, handlers, oscparse, protocol, transport
from oscgen.service.clients import ErrorRateLimit
from oscgen.service.server import Daemon

SENDER = ("127.0.0.1", 50000)
MAX_DATAGRAM = 65507  # what one UDP datagram over IPv4 carries

values = st.one_of(
    st.integers(-2**63, 2**63 - 1),
    st.sampled_from([2**31, -2**31 - 1, 1099511627776, 0, -1, 1]),
    st.floats(),  # inf, nan, subnormals, 1e308
    st.sampled_from([math.inf, -math.inf, math.nan, -0.0, 3.4e38, 1e300]),
    st.booleans(),
    st.none(),
    st.binary(max_size=64),
    st.text(max_size=64),
    st.sampled_from(["", " ", "x" * 60000, "musicgen-small", "tiny-random", "/etc", "../..", "owner/name", "ambient", "off", "cfg"]),
    st.lists(st.integers(-5, 5), max_size=3),  # an OSC array
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),  # MIDI 'm'
)


@pytest.fixture(scope="module")
def daemon():
    config = with_overrides(load_config(), port=0)
    config = dataclasses.replace(config, osc=dataclasses.replace(config.osc, reply_targets=()))
    d = Daemon(config)
    d.out.error_limit = ErrorRateLimit(burst=10**9, per_second=1.0)  # every error answered, to be checked
    sent = []

    def send(dests, address, args):
        dgram = transport.encode(address, args)  # raises if a reply cannot be built
        assert len(dgram) <= MAX_DATAGRAM, f"{address}: a {len(dgram)}-byte reply does not fit a datagram"
        sent.append(oscparse.decode(dgram)[0])

    d.out.send = send
    d.sent = sent
    yield d
    d.request_stop("test")
    d._shutdown()


def _run(daemon, address, args):
    daemon.sent.clear()
    handlers.dispatch(daemon, address, list(args), SENDER)
    return list(daemon.sent)


@settings(derandomize=True, database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(address=st.sampled_from(sorted(protocol.inbound_paths())), args=st.lists(values, max_size=4))
def test_every_inbound_address_answers_any_typed_arguments_sendably(daemon, address, args):
    for reply, reply_args in _run(daemon, address, args):
        if reply == "/oscgen/error":
            job_id, message = reply_args
            assert "internal error" not in message
            assert message.startswith(address), f"{address} {args!r}: the error does not name the address: {message!r}"


ISSUE_CASES = [
    ("/oscgen/preset", [math.inf], "/oscgen/preset expects a string (s) or an integer (i), got inf"),
    ("/oscgen/preset", [math.nan], "/oscgen/preset expects a string (s) or an integer (i), got nan"),
    ("/oscgen/cancel", [1099511627776], "/oscgen/cancel: no job 1099511627776 waiting or running"),
    ("/oscgen/cancel", [None], "/oscgen/cancel expects no argument or an integer (i), got None"),
    ("/oscgen/cancel", [2.5], "/oscgen/cancel expects no argument (the running job) or a job id (i), got 2.5"),
    ("/oscgen/ping", [True], "/oscgen/ping expects no arguments, got True"),
    ("/oscgen/status", [b"\x00"], "/oscgen/status expects no arguments, got b'\\x00'"),
    ("/oscgen/generate", [None], "/oscgen/generate expects no argument or words and numbers (s...), got None"),
    ("/oscgen/prompt", ["x" * 60000], "/oscgen/prompt: prompt is 60000 characters long; the most is 2000"),
    ("/oscgen/prompt", ["a", math.nan], "/oscgen/prompt expects words and numbers (s...), got 2 arguments ('a' nan)"),
    ("/oscgen/cfg", [math.inf], "/oscgen/cfg: cfg must be a number in [1, 20], got inf"),
    ("/oscgen/seed", [2**40], "/oscgen/seed: seed must be an integer in [0, 2147483647] or -1, got 1099511627776"),
    ("/oscgen/top_k", [[1, 2]], "/oscgen/top_k: top_k must be an integer in [0, 2048], got [1, 2]"),
    ("/oscgen/duration", [None], "/oscgen/duration: duration must be a number in (0, 30], got None"),
    ("/oscgen/learn", [3], "/oscgen/learn expects a string (s), got 3"),
]


@pytest.mark.parametrize("address, args, message", ISSUE_CASES, ids=[f"{a} {args!r}"[:60] for a, args, _ in ISSUE_CASES])
def test_well_formed_bad_values_get_an_error_saying_what_was_expected(daemon, address, args, message):
    errors = [a for r, a in _run(daemon, address, args) if r == "/oscgen/error"]
    assert len(errors) == 1 and errors[0][1].startswith(message), errors
    assert -2**31 <= errors[0][0] < 2**31


def test_a_huge_wrong_value_is_quoted_short():
    assert argspec.describe(["x" * 60000]) == repr("x" * 59)[:60] + "... (60000 characters)"


def test_good_values_still_work(daemon):
    assert _run(daemon, "/oscgen/cfg", [3]) == [("/oscgen/param/cfg", [3.0])]
    assert _run(daemon, "/oscgen/prompt", ["lofi", 808]) == [("/oscgen/param/prompt", ["lofi 808"])]
    assert ("/oscgen/pong", []) in _run(daemon, "/oscgen/ping", [])
    assert _run(daemon, "/oscgen/preset", [b"drums"])[-1] == ("/oscgen/preset", [1, "drums"])
