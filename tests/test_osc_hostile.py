"""A real ``oscgen serve`` under hostile datagrams from 127.0.0.1: every class of malformed
packet gets an error (or, past the rate limit, silence), the daemon keeps answering ping, a
bundle timed for the future runs now, and SIGTERM still stops it cleanly."""

from __future__ import annotations

import math
import struct
import time

from pythonosc.osc_message_builder import OscMessageBuilder

from _osc_helpers import DaemonProcess, replies  # noqa: F401 (replies: fixture)
from test_osc_parse import MALFORMED, bundle, ostr

PING = ostr(b"/oscgen/ping") + ostr(b",")


def _pong_after(daemon, replies, tries: int = 60) -> None:
    """A pong to one of up to ``tries`` pings 0.5 s apart: after a flood the kernel may have
    dropped a datagram from the full socket buffer (UDP), but the daemon must answer again."""
    since = replies.mark()
    for _ in range(tries):
        daemon.client.send_raw(PING)
        try:
            replies.wait_for("/oscgen/pong", since=since, timeout=0.5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"no pong to {tries} pings: the daemon stopped answering")


def _message(address: str, *typed) -> bytes:
    builder = OscMessageBuilder(address)
    for tag, value in typed:
        builder.add_arg(value, tag)
    return builder.build().dgram


def test_every_class_of_malformed_packet_leaves_the_daemon_answering(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as daemon:
        _pong_after(daemon, replies)
        for name, data in MALFORMED.items():
            since = replies.mark()
            daemon.client.send_raw(data)
            if data:  # an empty datagram is still a datagram: refused like the rest
                error = replies.wait_for("/oscgen/error", since=since)
                assert error[0] == -1 and error[1].startswith("malformed OSC packet"), (name, error)
            _pong_after(daemon, replies)
        # the 20-byte killer, a few hundred times, then ping still answers at once
        killer = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", -8)
        for _ in range(300):
            daemon.client.send_raw(killer)
        _pong_after(daemon, replies)
        assert daemon.stop() == 0
    text = "\n".join(daemon.lines)
    assert "stopped" in text and "Traceback" not in text


def test_well_formed_bad_values_over_udp_name_the_address_not_an_internal_error(tmp_path, replies):
    cases = [
        (_message("/oscgen/preset", ("f", math.inf)), "/oscgen/preset expects a string (s) or an integer (i), got inf"),
        (_message("/oscgen/cancel", ("h", 1099511627776)), "/oscgen/cancel: no job 1099511627776 waiting or running"),
        (_message("/oscgen/temperature", ("d", math.nan)), "/oscgen/temperature: temperature must be a number"),
        (_message("/oscgen/generate", ("N", None)), "/oscgen/generate expects no argument or words and numbers"),
        (_message("/oscgen/top_k", ("T", True)), "/oscgen/top_k: top_k must be an integer"),
        (_message("/oscgen/prompt", ("b", b"\xff" * 3000)), "/oscgen/prompt: prompt is 3000 characters long"),
    ]
    with DaemonProcess(tmp_path, replies) as daemon:
        _pong_after(daemon, replies)
        for data, expected in cases:
            since = replies.mark()
            daemon.client.send_raw(data)
            error = replies.wait_for("/oscgen/error", since=since)
            assert error[1].startswith(expected), error
        _pong_after(daemon, replies)
        assert daemon.stop() == 0
    assert "internal error" not in "\n".join(daemon.lines) and "Traceback" not in "\n".join(daemon.lines)


def test_a_bundle_timed_an_hour_ahead_is_answered_now(tmp_path, replies):
    ntp = int(time.time()) + 2208988800 + 3600  # NTP seconds, one hour from now
    with DaemonProcess(tmp_path, replies) as daemon:
        _pong_after(daemon, replies)
        since = replies.mark()
        daemon.client.send_raw(bundle(PING, timetag=struct.pack(">II", ntp, 0)))
        replies.wait_for("/oscgen/pong", since=since, timeout=10)  # the hour is not waited for
        assert daemon.stop() == 0


def test_status_floods_are_rate_limited_per_host_and_ping_never_is(tmp_path, replies):
    from oscgen.service.clients import REPLY_BURST, REPLY_RATE

    status = ostr(b"/oscgen/status") + ostr(b",")
    with DaemonProcess(tmp_path, replies) as daemon:
        daemon.wait_ready()
        time.sleep(REPLY_BURST / REPLY_RATE)  # wait_ready's status refilled: a full bucket
        since = replies.mark()
        started = time.monotonic()
        for _ in range(200):
            daemon.client.send_raw(status)
        _pong_after(daemon, replies)  # replies no larger than their request are not limited
        elapsed = time.monotonic() - started
        answered = len(replies.received("/oscgen/status", since=since))
        # the token bucket: a burst, then REPLY_RATE a second (the kernel may drop some, never add)
        assert 1 <= answered <= REPLY_BURST + REPLY_RATE * elapsed + 1, (answered, elapsed)
        told = [a for a in replies.received("/oscgen/error", since=since) if "larger than their request" in a[1]]
        # told once per flood; a flood counts as new only after a whole refill (REPLY_BURST /
        # REPLY_RATE seconds) without a drop, which only a starved daemon mid-flood can see
        floods = 1 + int(elapsed // (REPLY_BURST / REPLY_RATE))
        assert 1 <= len(told) <= floods and told[0][1].startswith("/oscgen/"), (told, elapsed)
        time.sleep(1.0)  # tokens come back: the next status is answered in full
        since = replies.mark()
        daemon.client.send_raw(status)
        replies.wait_for("/oscgen/status", since=since, timeout=10)
        assert daemon.stop() == 0


def test_a_flood_of_junk_writes_a_few_log_lines_with_a_count(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as daemon:
        _pong_after(daemon, replies)
        mark = daemon.log_mark()
        for i in range(2000):
            daemon.client.send_raw(b"junk" * (1 + i % 5))
        _pong_after(daemon, replies)
        assert daemon.stop() == 0
    lines = daemon.lines[mark:]
    junk = [line for line in lines if "malformed" in line]
    assert 1 <= len(junk) <= 10, "\n".join(junk[:20])
    folded = [line for line in junk if "more like this in" in line]
    assert folded, "\n".join(junk)
