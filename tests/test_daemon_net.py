"""The daemon as a citizen of the studio network, end to end against ``oscgen serve`` as a
subprocess on 127.0.0.1: OSCQuery over a real HTTP client and a real WebSocket, no mDNS on
loopback, the queue listed and cleared, the model unloaded (asked, or idle) and reloaded by the
next job, seconds left beside progress, and --verbose leaving the protocol as it is."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from _osc_helpers import DaemonProcess, replies  # noqa: F401 (replies: fixture)


def _oscquery_port(daemon) -> int:
    return int(daemon.wait_log(r"OSCQuery on http://127\.0\.0\.1:(\d+)/").group(1))


def _get(port: int, target: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=10) as reply:
        return json.loads(reply.read())


def _wait_value(port, path, expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (value := _get(port, f"{path}?VALUE")) != {"VALUE": [expected]}:
        assert time.monotonic() < deadline, f"{path} stayed {value}, expected {expected}"
        time.sleep(0.05)


def _generate(daemon, replies, prompt: str, **knobs) -> int:
    for name, value in knobs.items():
        daemon.client.send(f"/oscgen/{name}", value)
    since = replies.mark()
    daemon.client.send("/oscgen/generate", prompt)
    return replies.wait_for("/oscgen/queued", lambda a: True, since=since)[0]


def test_oscquery_serves_the_tree_and_follows_every_knob_change(tmp_path, replies):
    from pythonosc.osc_message import OscMessage
    from websockets.sync.client import connect

    with DaemonProcess(tmp_path, replies) as daemon:
        port = _oscquery_port(daemon)
        assert port == daemon.port  # TCP at the OSC port's number by default
        daemon.wait_log(r"mDNS: not advertised \(listening on 127\.0\.0\.1, this computer only\)")
        info = _get(port, "/?HOST_INFO")
        assert info["OSC_PORT"] == daemon.port and info["OSC_TRANSPORT"] == "UDP" and info["NAME"].startswith("oscgen on ")
        tree = _get(port, "/")
        knobs = tree["CONTENTS"]["oscgen"]["CONTENTS"]
        assert knobs["prompt"]["VALUE"] == ["warm lo-fi hip hop beat, dusty drums, mellow rhodes"]  # shipped default
        assert knobs["model"]["VALUE"] == ["tiny-random"] and knobs["cfg"]["RANGE"] == [{"MIN": 1.0, "MAX": 20.0}]

        with connect(f"ws://127.0.0.1:{port}") as ws:
            ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/oscgen/temperature"}))
            # LISTEN travels over TCP, knob changes over UDP: nudge the knob until the stream runs
            deadline, i = time.monotonic() + 10, 0
            while True:
                assert time.monotonic() < deadline, "LISTEN never streamed a change"
                i += 1
                daemon.client.send("/oscgen/temperature", 0.5 + 0.01 * i)
                try:
                    ws.recv(timeout=0.5)
                    break
                except TimeoutError:
                    pass
            daemon.client.send("/oscgen/temperature", 0.7)
            while (streamed := OscMessage(ws.recv(timeout=10))).params[0] != pytest.approx(0.7):
                pass
            assert streamed.address == "/oscgen/temperature"
        _wait_value(port, "/oscgen/temperature", 0.7)
        daemon.client.send("/oscgen/preset", "drums")  # a preset moves several knobs at once
        _wait_value(port, "/oscgen/cfg", 4.0)
        _wait_value(port, "/oscgen/prompt", "tight funk drum break, crisp snare, 100 bpm")
        assert not any("HTTP response sent" in line for line in daemon.lines)  # no line per request


def test_oscquery_can_be_turned_off_or_put_on_another_port(tmp_path, replies):
    import socket

    with DaemonProcess(tmp_path, replies, config="[oscquery]\nenabled = false\n") as daemon:
        daemon.client.send("/oscgen/ping")
        replies.wait_for("/oscgen/pong")
        assert not any("OSCQuery on" in line for line in daemon.lines)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tcp = probe.getsockname()[1]
    with DaemonProcess(tmp_path, replies, config=f"[oscquery]\nport = {tcp}\n") as daemon:
        assert _oscquery_port(daemon) == tcp
        assert _get(tcp, "/?HOST_INFO")["OSC_PORT"] == daemon.port != tcp


def test_queue_lists_what_waits_and_clear_empties_it(tmp_path, replies):
    # continuous batching off: the jobs sent while the long one runs wait instead of joining it
    with DaemonProcess(tmp_path, replies, config="[queue]\njoin = false\n") as daemon:
        daemon.wait_ready()
        running = _generate(daemon, replies, "long one", duration=30.0)
        replies.wait_for("/oscgen/started", lambda a: a == [running], timeout=60)
        waiting = [_generate(daemon, replies, f"next {i}", duration=1.5 + i) for i in range(3)]
        since = replies.mark()
        daemon.client.send("/oscgen/queue")
        assert replies.wait_for("/oscgen/queue", since=since) == [3]
        rows = []
        deadline = time.monotonic() + 10
        while len(rows := replies.received("/oscgen/waiting", since=since)) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert [r[:3] for r in rows] == [[i, job, f"next {i}"] for i, job in enumerate(waiting)]
        assert [r[3] for r in rows] == [pytest.approx(1.5 + i) for i in range(3)]

        since = replies.mark()
        daemon.client.send("/oscgen/clear")
        for job in waiting:
            replies.wait_for("/oscgen/cancelled", lambda a, job=job: a == [job], since=since)
        daemon.client.send("/oscgen/queue")
        assert replies.wait_for("/oscgen/queue", since=since) == [0]
        done = replies.wait_for("/oscgen/done", lambda a: a[0] == running, timeout=180)  # the running job goes on
        assert done[2] == pytest.approx(30.0, abs=0.05)


def test_unload_frees_the_model_and_the_next_job_reloads_it(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as daemon:
        daemon.wait_ready()
        since = replies.mark()
        daemon.client.send("/oscgen/unload")
        model, why = replies.wait_for("/oscgen/unloaded", since=since)
        assert model == "tiny-random" and "asked by osc 127.0.0.1" in why
        daemon.wait_log(r"unloaded tiny-random \(asked by osc 127\.0\.0\.1\), \d+ MB freed")
        daemon.client.send("/oscgen/status")
        assert replies.wait_for("/oscgen/status", since=since)[2] == "unloaded"
        daemon.client.send("/oscgen/unload")  # nothing left to free
        assert "no model is loaded" in replies.wait_for("/oscgen/error", since=since)[1]

        job = _generate(daemon, replies, "after the break", duration=0.5)
        replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120)
        events = [a for a, args in replies.received(since=since) if a in ("/oscgen/ready", "/oscgen/started")]
        assert events[-2:] == ["/oscgen/ready", "/oscgen/started"]  # reloaded, said so, then played


def test_an_idle_daemon_unloads_by_itself(tmp_path, replies):
    with DaemonProcess(tmp_path, replies, config="[worker]\nidle_unload_minutes = 0.02\n") as daemon:
        daemon.wait_ready()
        model, why = replies.wait_for("/oscgen/unloaded", timeout=30)
        assert model == "tiny-random" and why.startswith("idle for 0.02 min")


@pytest.mark.parametrize("verbose", [False, True])
def test_eta_rides_beside_progress_and_verbose_changes_nothing_clients_get(tmp_path, replies, verbose):
    extra = ("--verbose",) if verbose else ()
    with DaemonProcess(tmp_path, replies, *extra) as daemon:
        daemon.wait_ready()
        since = replies.mark()
        job = _generate(daemon, replies, "counting down", duration=6.0)
        replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=180)
        fractions = [a[1] for a in replies.received("/oscgen/progress", since=since) if a[0] == job]
        etas = [a[1] for a in replies.received("/oscgen/eta", since=since) if a[0] == job]
        assert all(b - a >= 0.01 - 1e-6 for a, b in zip(fractions[:-2], fractions[1:-1]))  # thinned either way
        assert len(fractions) <= 102 and fractions[-1] == 1.0
        assert etas and all(s >= 0 for s in etas) and etas[-1] == 0.0
        assert len(etas) <= len(fractions)


def test_a_taken_tcp_port_costs_oscquery_never_osc(tmp_path, replies):
    import socket

    from _osc_helpers import free_udp_port

    port = free_udp_port()
    with socket.create_server(("127.0.0.1", port)):  # something else holds TCP at that number
        with DaemonProcess(tmp_path, replies, "--port", str(port)) as daemon:
            assert daemon.port == port
            daemon.wait_log(rf"OSCQuery cannot listen on TCP 127\.0\.0\.1:{port}: .*running without OSCQuery")
            daemon.client.send("/oscgen/ping")
            replies.wait_for("/oscgen/pong")
