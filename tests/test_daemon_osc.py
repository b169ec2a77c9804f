"""``oscgen serve`` over real UDP: knobs, echoes, coercion, errors, ping, status, bundles,
allowed hosts, liblo's oscsend/oscdump as an independent client, clean SIGTERM.  None of these
needs a generation to finish (test_daemon_jobs.py covers jobs)."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from _osc_helpers import REPO, DaemonProcess, OscCollector, hidden_files, replies  # noqa: F401 (replies: fixture)


@pytest.fixture
def daemon(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as d:
        yield d


def _error_after(replies, since, contains: str) -> str:
    args = replies.wait_for("/oscgen/error", lambda a: contains in a[1], since=since)
    assert args[0] == -1
    return args[1]


def test_ping_pong_and_knob_echoes_with_max_pd_coercion(daemon, replies):
    c = daemon.client
    c.send("/oscgen/ping")
    assert replies.wait_for("/oscgen/pong") == []

    c.send("/oscgen/temperature", 1)  # an int where a float is expected (Max sends what was typed)
    assert replies.wait_for("/oscgen/param/temperature") == [1.0]
    c.send("/oscgen/top_k", 120.0)  # a float where an int is expected (Pd only has floats)
    assert replies.wait_for("/oscgen/param/top_k") == [120]
    c.send("/oscgen/top_k", 99.6)  # a Pd slider: rounded, not refused
    assert replies.wait_for("/oscgen/param/top_k", lambda a: a != [120]) == [100]
    c.send("/oscgen/cfg", 4.5)
    assert replies.wait_for("/oscgen/param/cfg") == [4.5]
    c.send("/oscgen/seed", -1)
    assert replies.wait_for("/oscgen/param/seed") == [-1]
    # A Max message box "90s hip hop 808" arrives as separate atoms: joined back into one prompt.
    c.send("/oscgen/prompt", "90s", "hip", "hop", 808)
    assert replies.wait_for("/oscgen/param/prompt") == ["90s hip hop 808"]
    # The echo types are the table's: f for temperature, i for top_k, s for prompt.
    since = replies.mark()
    c.send("/oscgen/temperature")  # no argument: asks for the value
    assert replies.wait_for("/oscgen/param/temperature", since=since) == [1.0]


def test_bars_at_bpm_set_duration_and_duration_clears_bars(daemon, replies):
    c = daemon.client
    c.send("/oscgen/bpm", 120)
    replies.wait_for("/oscgen/param/bpm")
    since = replies.mark()
    c.send("/oscgen/bars", 4)
    assert replies.wait_for("/oscgen/param/bars", since=since) == [4.0]
    assert replies.wait_for("/oscgen/param/duration", since=since) == [8.0]  # 4 bars of 4/4 at 120
    since = replies.mark()
    c.send("/oscgen/bpm", 96)
    assert replies.wait_for("/oscgen/param/duration", since=since) == [10.0]
    since = replies.mark()
    c.send("/oscgen/duration", 2.5)
    assert replies.wait_for("/oscgen/param/duration", since=since) == [2.5]
    assert replies.wait_for("/oscgen/param/bars", since=since) == [0.0]
    since = replies.mark()
    c.send("/oscgen/bars", 32)  # 32 bars at 96 bpm = 80 s
    message = _error_after(replies, since, "/oscgen/bars")
    assert "80.0 s" in message and "30" in message


@pytest.mark.parametrize(
    "address, args, expect",
    [
        ("/oscgen/temperature", ["hot"], "temperature must be a number in (0, 10], got 'hot'"),
        ("/oscgen/temperature", [0.0], "temperature must be a number in (0, 10], got 0"),
        ("/oscgen/top_k", [5000], "top_k must be an integer in [0, 2048], got 5000"),
        ("/oscgen/top_p", [1.5], "top_p must be a number in [0, 1], got 1.5"),
        ("/oscgen/duration", [31.0], "duration must be a number in (0, 30], got 31"),
        ("/oscgen/duration", [1.0, 2.0], "/oscgen/duration expects one argument"),
        ("/oscgen/seed", [-5], "seed must be an integer in [0, 2147483647] or -1, got -5"),
        ("/oscgen/cfg", ["x"], "cfg must be a number in [1, 20], got 'x'"),
        ("/oscgen/prompt", [""], "/oscgen/prompt: prompt must be a non-empty string, got an empty string"),
        ("/oscgen/model", [3], "model must be a non-empty string, got 3"),
        ("/oscgen/preset", [99], "no preset number 99"),
        ("/oscgen/preset", ["nope"], "no preset named 'nope'"),
        ("/oscgen/cancel", ["x"], "/oscgen/cancel expects no argument"),
        ("/oscgen/cancel", [], "no job is running"),
        ("/oscgen/cancel", [17], "no job 17"),
        ("/oscgen/nonsense", [1], "unknown address '/oscgen/nonsense'"),
        ("/other/thing", [], "unknown address '/other/thing'"),
        ("/oscgen/learn", ["cfg"], "MIDI is off"),
    ],
)
def test_bad_input_gets_an_error_naming_the_address_and_what_is_allowed(daemon, replies, address, args, expect):
    since = replies.mark()
    daemon.client.send(address, *args)
    reply = replies.wait_for("/oscgen/error", since=since)
    assert expect in reply[1]
    assert reply[0] in (-1, 17)
    # ... and the daemon is still there
    daemon.client.send("/oscgen/ping")
    replies.wait_for("/oscgen/pong", since=since)


def test_generate_without_a_prompt_is_an_error_and_the_knobs_stay(tmp_path, replies):
    with DaemonProcess(tmp_path, replies, config='[defaults]\nprompt = ""\n') as daemon:
        since = replies.mark()
        daemon.client.send("/oscgen/generate")
        assert "no prompt" in _error_after(replies, since, "no prompt")
        assert replies.received("/oscgen/queued", since=since) == []


def test_malformed_packets_get_an_error_and_never_stall_the_server(daemon, replies):
    since = replies.mark()
    daemon.client.send_raw(b"this is not OSC")
    assert "malformed OSC packet" in _error_after(replies, since, "malformed")
    since = replies.mark()
    daemon.client.send_raw(b"/oscgen/top_k\x00\x00\x00,i\x00\x00")  # the int argument is missing
    _error_after(replies, since, "malformed")
    since = replies.mark()
    daemon.client.send_raw(b"#bundle\x00" + b"\x00" * 8 + struct.pack(">i", 400) + b"/osc")  # element size lies
    _error_after(replies, since, "malformed")
    daemon.client.send("/oscgen/ping")
    replies.wait_for("/oscgen/pong", since=since)


def test_bundles_run_at_once_in_order_even_when_timed_for_the_future(daemon, replies):
    inner = OscBundleBuilder(0)  # "immediately"
    for temp in (0.5, 0.75):
        m = OscMessageBuilder("/oscgen/temperature")
        m.add_arg(temp)
        inner.add_content(m.build())
    future = OscBundleBuilder(time.time() + 3600)  # an hour ahead: run now, not held back
    future.add_content(inner.build())
    m = OscMessageBuilder("/oscgen/temperature")
    m.add_arg(1.25)
    future.add_content(m.build())
    since = replies.mark()
    daemon.client.send_raw(future.build().dgram)
    replies.wait_for("/oscgen/param/temperature", lambda a: a == [1.25], since=since)
    assert replies.received("/oscgen/param/temperature", since=since) == [[0.5], [0.75], [1.25]]


def test_presets_by_number_and_name_set_the_knobs(daemon, replies):
    since = replies.mark()
    daemon.client.send("/oscgen/preset", 1)  # the shipped config's second preset: drums, 4 bars at 100
    assert replies.wait_for("/oscgen/preset", since=since) == [1, "drums"]
    assert replies.wait_for("/oscgen/param/bpm", since=since) == [100.0]
    assert replies.wait_for("/oscgen/param/duration", since=since) == [pytest.approx(9.6)]
    assert replies.wait_for("/oscgen/param/prompt", since=since)[0].startswith("tight funk drum break")
    since = replies.mark()
    daemon.client.send("/oscgen/preset", "piano")
    assert replies.wait_for("/oscgen/preset", since=since) == [2, "piano"]
    assert replies.wait_for("/oscgen/param/duration", since=since) == [10.0]


def test_status_reports_every_knob_and_the_queue(daemon, replies):
    since = replies.mark()
    daemon.client.send("/oscgen/status")
    status = replies.wait_for("/oscgen/status", since=since)
    assert status[0] == -1 and status[1] == 0 and isinstance(status[2], str)
    params = {a.rsplit("/", 1)[1] for a, _ in replies.received(since=since) if a.startswith("/oscgen/param/")}
    assert params == {"prompt", "duration", "bpm", "bars", "loop", "temperature", "top_k", "top_p", "cfg", "seed", "variations",
                      "model"}
    assert replies.received("/oscgen/param/model", since=since) == [["tiny-random"]]


def test_echoes_reach_every_client_and_configured_targets(tmp_path, replies):
    with OscCollector() as target:
        config = f'[osc]\nreply_targets = ["127.0.0.1:{target.port}"]\n'
        with DaemonProcess(tmp_path, replies, config=config) as daemon:
            daemon.client.send("/oscgen/top_p", 0.9)
            assert replies.wait_for("/oscgen/param/top_p")[0] == pytest.approx(0.9)
            assert target.wait_for("/oscgen/param/top_p")[0] == pytest.approx(0.9)
            # a ping is answered to the sender and the targets only, once each
            daemon.client.send("/oscgen/ping")
            target.wait_for("/oscgen/pong")
            replies.wait_for("/oscgen/pong")


def test_hosts_outside_allowed_hosts_are_dropped_without_a_reply(tmp_path, replies):
    config = '[osc]\nallowed_hosts = ["10.1.2.0/24"]\n'
    with DaemonProcess(tmp_path, replies, config=config) as daemon:
        mark = daemon.log_mark()
        daemon.client.send("/oscgen/ping")
        daemon.wait_log(r"dropped a packet from 127\.0\.0\.1", since=mark)
        assert replies.received() == []


@pytest.mark.skipif(not (shutil.which("oscsend") and shutil.which("oscdump")), reason="liblo-tools (oscsend, oscdump) not installed")
def test_liblo_oscsend_and_oscdump_as_an_independent_client(tmp_path, replies):
    from _osc_helpers import free_udp_port

    dump_port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(dump_port)], stdout=subprocess.PIPE, text=True)
    try:
        with DaemonProcess(tmp_path, replies, "--reply-port", str(dump_port)) as daemon:
            url = f"osc.udp://127.0.0.1:{daemon.port}"
            subprocess.run(["oscsend", url, "/oscgen/temperature", "i", "2"], check=True)
            subprocess.run(["oscsend", url, "/oscgen/prompt", "s", "dusty lofi drums"], check=True)
            subprocess.run(["oscsend", url, "/oscgen/top_p", "s", "lots"], check=True)
            subprocess.run(["oscsend", url, "/oscgen/ping"], check=True)
            lines = []
            for line in dump.stdout:
                lines.append(line.strip())
                if "/oscgen/pong" in line:
                    break
    finally:
        dump.terminate()
        dump.wait()
    text = "\n".join(lines)
    assert '/oscgen/param/temperature f 2.000000' in text
    assert '/oscgen/param/prompt s "dusty lofi drums"' in text
    assert "/oscgen/error is -1 \"/oscgen/top_p: top_p must be a number in [0, 1], got 'lots'\"" in text


def test_sigterm_stops_cleanly_and_says_so(tmp_path, replies):
    daemon = DaemonProcess(tmp_path, replies)
    daemon.client.send("/oscgen/ping")  # become a known client
    replies.wait_for("/oscgen/pong")
    assert daemon.stop(signal.SIGTERM) == 0
    assert replies.wait_for("/oscgen/shutdown") == ["SIGTERM"]
    assert hidden_files(daemon.out) == []
    daemon.wait_log(r"stopped")


def test_sigint_stops_cleanly(tmp_path, replies):
    daemon = DaemonProcess(tmp_path, replies)
    daemon.client.send("/oscgen/ping")
    replies.wait_for("/oscgen/pong")
    assert daemon.stop(signal.SIGINT) == 0
    assert replies.wait_for("/oscgen/shutdown") == ["SIGINT"]


def test_a_taken_port_is_a_clear_error(tmp_path, replies):
    daemon = DaemonProcess(tmp_path, replies)
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        second = subprocess.run(
            [sys.executable, "-m", "oscgen", "serve", "--port", str(daemon.port), "--out", str(tmp_path / "o2")],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{daemon.port}: Address already in use" in second.stderr
    finally:
        assert daemon.stop() == 0


def test_temp_files_of_a_dead_daemon_are_swept_at_start_and_others_kept(tmp_path, replies):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".take.wav.oscgen{gone.pid}-0123abcd.tmp"
    alive = out / f".take.wav.oscgen{os.getpid()}-0123abcd.tmp"  # a daemon that is still running
    foreign = out / ".DS_Store"
    for p in (stale, alive, foreign):
        p.write_bytes(b"x")
    with DaemonProcess(tmp_path, replies) as daemon:
        daemon.wait_log(r"removed \.take\.wav\.oscgen\d+-0123abcd\.tmp, left by a daemon that is gone")
        assert not stale.exists() and alive.exists() and foreign.exists()


def _message(address, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def _bundle(timetag, *contents) -> bytes:
    builder = OscBundleBuilder(timetag)
    for content in contents:
        builder.add_content(content)
    return builder.build().dgram


def test_a_flood_of_good_and_bad_packets_leaves_the_daemon_responsive_and_jobs_intact(daemon, replies):
    """~3000 packets in a burst on 127.0.0.1 (bounded): knob changes, garbage, truncated OSC,
    huge strings, future-timetag and nested bundles, while a job runs."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY
    from pythonosc.osc_message import OscMessage

    daemon.wait_ready()
    since = replies.mark()
    daemon.client.send("/oscgen/duration", 1.0)
    daemon.client.send("/oscgen/generate", "before the flood")
    job = replies.wait_for("/oscgen/queued", since=since)[0]

    future = time.time() + 3600
    good = _message("/oscgen/temperature", 0.5)
    packets = [
        good,
        b"\x00garbage\xff" * 3,
        _message("/oscgen/cfg", 2.0)[:-3],  # truncated
        _message("/oscgen/prompt", "x" * 8000),  # huge, but valid
        _bundle(future, OscMessage(_message("/oscgen/top_k", 100))),  # run now, not in an hour
        _bundle(IMMEDIATELY, OscMessage(_message("/oscgen/seed", 7)),
                OscBundleBuilder(future).build()),  # nested (empty) bundle
        _message("/oscgen/temperature", "not a number"),
        _message("/no/such/address", 1),
    ]
    flood_start = time.monotonic()
    for i in range(375):  # 3000 packets
        for packet in packets:
            daemon.client.send_raw(packet)
    flood_s = time.monotonic() - flood_start

    # UDP: what overflowed the socket buffer is dropped by the kernel, so ping until answered
    mark = replies.mark()
    deadline = time.monotonic() + 20
    while not replies.received("/oscgen/pong", since=mark):
        assert time.monotonic() < deadline, "no pong within 20 s of the flood"
        daemon.client.send("/oscgen/ping")
        time.sleep(0.2)
    mark = replies.mark()
    daemon.client.send("/oscgen/temperature", 0.7)  # the last word
    daemon.client.send("/oscgen/status")
    replies.wait_for("/oscgen/status", since=mark)
    assert replies.received("/oscgen/param/temperature", since=mark)[-1] == [pytest.approx(0.7)]
    assert replies.received("/oscgen/param/top_k", since=mark)[-1] == [100]  # from future-tagged bundles

    # errors are answered, but rate-limited: a broken patch cannot drown the performer's patch
    elapsed = time.monotonic() - flood_start
    errors = replies.received("/oscgen/error", since=since)
    assert 5 <= len(errors) <= 20 + 5 * elapsed + 5, (len(errors), flood_s)
    assert any("too many errors" in e[1] for e in errors)

    done = replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120)
    import soundfile as sf

    assert sf.info(done[1]).frames == 50 * 640 and hidden_files(daemon.out) == []
