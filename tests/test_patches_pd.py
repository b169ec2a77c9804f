"""Pure Data: the real patches/oscgen.pd, headless (pd -nogui -noaudio), over real 127.0.0.1 UDP.

These tests put a python-osc peer where the daemon would be, to check byte for byte what the
patch sends (addresses and OSC types from the daemon's table) and how it reacts to each reply;
test_patches_pd_daemon.py drives a real ``oscgen serve`` with it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from pythonosc import udp_client

from patches.tools import build_pd
from patches.tools.knobs import ACTIONS, NUMBER_KNOBS
from tests._osc_helpers import free_udp_port
from tests._patch_helpers import PATCHES, OscPeer, PdPatch, conforms


@pytest.fixture
def peer_and_patch(tmp_path):
    peer = OscPeer()
    reply_port = free_udp_port()
    patch = PdPatch(tmp_path, peer.port, reply_port)
    replies = udp_client.SimpleUDPClient("127.0.0.1", reply_port)
    try:
        # on load the patch asks for the daemon's state, so its knobs start in sync
        assert peer.next() == ("/oscgen/status", ())
        yield peer, patch, replies
        assert not [line for line in patch.log if "error" in line.split(":")[0] or "no method" in line], (
            "Pd complained:\n" + "\n".join(patch.log)
        )
    finally:
        patch.close()
        peer.close()


def test_committed_patch_is_what_the_generator_writes():
    assert (PATCHES / "oscgen.pd").read_text() == build_pd.build(), (
        "patches/oscgen.pd is stale: run python patches/tools/build.py"
    )


def test_every_control_sends_the_address_and_types_the_daemon_accepts(peer_and_patch):
    peer, patch, _ = peer_and_patch
    cases = [
        ("generate", "/oscgen/generate", ()),  # the prompt box is empty: nothing else to send
        ("prompt upbeat jazz piano 120 bpm", "/oscgen/prompt", ("upbeat jazz piano 120 bpm",)),
        ("duration 8", "/oscgen/duration", (8.0,)),
        ("bars 4", "/oscgen/bars", (4.0,)),
        ("bpm 96", "/oscgen/bpm", (96.0,)),
        ("temperature 0.75", "/oscgen/temperature", (0.75,)),
        ("top_k 120", "/oscgen/top_k", (120,)),
        ("top_p 0.5", "/oscgen/top_p", (0.5,)),
        ("cfg 3", "/oscgen/cfg", (3.0,)),
        ("seed 42", "/oscgen/seed", (42,)),
        ("seed -1", "/oscgen/seed", (-1,)),
        ("model musicgen-small", "/oscgen/model", ("musicgen-small",)),
        ("cancel", "/oscgen/cancel", ()),
        ("continue", "/oscgen/continue", ()),  # the last take
        ("continue loop 1.wav", "/oscgen/continue", ("loop 1.wav",)),  # a named file: one OSC string
        ("continue take.wav", "/oscgen/continue", ("take.wav",)),
        ("stop_job", "/oscgen/stop", ()),  # the running job, keeping what it made
        ("stop", None, None),  # the preview's stop: nothing goes to the daemon
        ("status", "/oscgen/status", ()),
        ("ping", "/oscgen/ping", ()),
        ("clear", "/oscgen/clear", ()),
        ("unload", "/oscgen/unload", ()),
        ("queue", "/oscgen/queue", ()),
        ("preset 2", "/oscgen/preset", (2,)),
        ("preset ambient", "/oscgen/preset", ("ambient",)),
        ("learn temperature", "/oscgen/learn", ("temperature",)),
        ("cancel_take 3 2", "/oscgen/cancel_take", (3, 2)),  # job 3's second take
    ]
    for control, address, args in cases:
        patch.send(control)
        if address is None:
            continue
        got = peer.next()
        assert got == (address, args), control
        assert [type(a) for a in got[1]] == [type(a) for a in args], control  # int stays int
        assert conforms(*got), got
    # every button of the table's argument-free addresses is reachable (knobs.ACTIONS), once each
    for action in ACTIONS:
        if action.name != "generate":
            patch.send(action.name)
            assert peer.next() == (action.address, ()), action
    # with a prompt in the box, generate re-sends it first: what the patch shows is what plays
    patch.send("generate")
    assert peer.next() == ("/oscgen/prompt", ("upbeat jazz piano 120 bpm",))
    assert peer.next() == ("/oscgen/generate", ())


def test_knobs_follow_the_daemons_echoes_without_sending_them_back(peer_and_patch):
    peer, patch, replies = peer_and_patch
    echoes = {
        "prompt": "dark ambient drone",
        "model": "tiny-random",
        "bpm": 90.0,
        "temperature": 0.5,
        "top_k": 99,
        "top_p": 0.25,
        "cfg": 2.0,
        "seed": 7,
        "duration": 3.0,
        "bars": 0.0,
    }
    for name, value in echoes.items():
        replies.send_message(f"/oscgen/param/{name}", [value])
        assert patch.wait_event("param")[1] == name
    # 'set' updated the boxes silently: the next thing the daemon hears is the ping
    patch.send("ping")
    assert peer.next() == ("/oscgen/ping", ())
    # ... and the boxes now hold the echoed values: 'send all' pushes exactly those
    patch.send("sendall")
    patch.send("ping")
    sent = dict(peer.until("/oscgen/ping")[:-1])
    expected = {f"/oscgen/{k}": (v,) for k, v in echoes.items() if k != "bars"}  # bars 0 = unused
    assert sent == expected  # values exact in float32
    assert all(conforms(a, args) for a, args in sent.items())


def test_bars_are_pushed_by_send_all_when_set(peer_and_patch):
    peer, patch, replies = peer_and_patch
    replies.send_message("/oscgen/param/bars", [8.0])
    patch.wait_event("param")
    patch.send("sendall")
    patch.send("ping")
    sent = [m for m in peer.until("/oscgen/ping") if m[0] in ("/oscgen/duration", "/oscgen/bars")]
    default = next(k.default for k in NUMBER_KNOBS if k.name == "duration")
    assert sent == [("/oscgen/duration", (default,)), ("/oscgen/bars", (8.0,))]  # bars last: it wins


def test_a_patch_opened_before_the_daemon_reaches_it_once_it_starts(tmp_path):
    daemon_port = free_udp_port()  # nothing listens here yet: the load-time /oscgen/status is lost
    patch = PdPatch(tmp_path, daemon_port, free_udp_port())
    try:
        patch.send("ping")
        patch.send("ping")
        peer = OscPeer(daemon_port)  # the daemon starts
        try:
            patch.send("generate")
            # (the pings may land before or after the peer binds; generate must arrive)
            assert ("/oscgen/generate", ()) in peer.until("/oscgen/generate")
        finally:
            peer.close()
    finally:
        patch.close()


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_replies_reach_the_outlet_and_done_loads_the_wav(peer_and_patch, tmp_path, subtype):
    _, patch, replies = peer_and_patch
    samples = 25 * 640  # half a second at 32 kHz
    wav = tmp_path / "take 1.wav"  # a space in the path, as in a musician's folder names
    sf.write(wav, np.zeros(samples, dtype=np.float32), 32000, subtype=subtype)

    replies.send_message("/oscgen/queued", [3, 0])
    assert patch.wait_event("queued") == ["queued", "3", "0"]
    replies.send_message("/oscgen/started", [3])
    assert patch.wait_event("started") == ["started", "3"]
    replies.send_message("/oscgen/progress", [3, 0.5])
    assert patch.wait_event("progress") == ["progress", "3", "0.5"]
    replies.send_message("/oscgen/done", [3, str(wav), 0.5])
    assert patch.wait_event("done") == ["done", "3", str(wav), "0.5"]
    # the preview read the file: [soundfiler] reports its length and sample rate
    assert patch.wait_event("preview") == ["preview", str(samples), "32000"]
    replies.send_message("/oscgen/error", [-1, "bad value for /oscgen/top_k: expected int"])
    assert patch.wait_event("error") == ["error", "-1", "bad value for /oscgen/top_k: expected int"]
    replies.send_message("/oscgen/cancelled", [4])
    assert patch.wait_event("cancelled") == ["cancelled", "4"]
    replies.send_message("/oscgen/ready", ["tiny-random", "random weights: the output is noise"])
    assert patch.wait_event("ready") == ["ready", "tiny-random", "random weights: the output is noise"]
    replies.send_message("/oscgen/status", [-1, 0, "ready"])
    assert patch.wait_event("status") == ["status", "-1", "0", "ready"]
    replies.send_message("/oscgen/preset", [0, "ambient"])
    assert patch.wait_event("preset") == ["preset", "0", "ambient"]
    replies.send_message("/oscgen/shutdown", ["SIGTERM"])
    assert patch.wait_event("shutdown") == ["shutdown", "SIGTERM"]

