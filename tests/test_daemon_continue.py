"""Continuation, long takes and stereo through the daemon (``oscgen serve`` as a subprocess over
real UDP): /oscgen/continue of the last take and of WAVs under the input rules, hostile paths
refused with the daemon still answering, takes past 30 s with progress and cancel across
windows, and stereo WAVs from a stereo checkpoint."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _osc_helpers import DaemonProcess, replies, wav_files  # noqa: F401 (replies: fixture)


def _config(tmp_path, max_duration=30.0):
    loops = tmp_path / "loops"
    loops.mkdir(exist_ok=True)
    # no finishing, so a WAV's length and samples are the engine's
    return loops, f"""
[output]
normalize = "off"
fade_in_ms = 0.0
fade_out_ms = 0.0

[input]
folders = ["{loops}"]
prompt_seconds = 0.3

[long]
max_duration = {max_duration}
"""


@pytest.fixture
def daemon(tmp_path, replies):
    loops, config = _config(tmp_path, max_duration=40.0)
    with DaemonProcess(tmp_path, replies, config=config) as d:
        d.wait_ready()
        d.loops = loops
        yield d


def _queue(daemon, replies, address, *args) -> int:
    since = replies.mark()
    daemon.client.send(address, *args)
    return replies.wait_for("/oscgen/queued", since=since, timeout=30)[0]


def _done(replies, job, timeout=300.0):
    """/oscgen/done's args for ``job``; fails at once on its /oscgen/error."""
    deadline = time.monotonic() + timeout
    while True:
        for address, args in list(replies.messages):
            if address in ("/oscgen/done", "/oscgen/error") and args[0] == job:
                assert address == "/oscgen/done", args
                return args
        assert time.monotonic() < deadline, f"no /oscgen/done for job {job} within {timeout} s"
        time.sleep(0.05)


def _tone(path, seconds, rate=44100):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * 330 * t), rate)
    return path


def test_continue_the_last_take_then_chain(daemon, replies):
    daemon.client.send("/oscgen/duration", 0.4)
    daemon.client.send("/oscgen/prompt", "dusty", "drums")  # a continuation plays the current knobs
    first = _queue(daemon, replies, "/oscgen/generate")
    _, first_path, _ = _done(replies, first)
    # two presses queued at once: the second continues the first continuation (resolved when it starts)
    a = _queue(daemon, replies, "/oscgen/continue")
    b = _queue(daemon, replies, "/oscgen/continue")
    _, a_path, a_seconds = _done(replies, a)
    _, b_path, _ = _done(replies, b)
    # prompt_seconds 0.3 = 15 frames, then 20 new ones
    assert sf.info(a_path).frames == 35 * 640 and a_seconds == pytest.approx(35 / 50)
    side_a = json.loads(Path(a_path).with_suffix(".json").read_text())
    side_b = json.loads(Path(b_path).with_suffix(".json").read_text())
    assert side_a["continued_from"] == first_path and side_b["continued_from"] == a_path
    assert side_a["prompt_duration"] == pytest.approx(0.3) and side_a["prompt"] == "dusty drums"


def test_continue_a_wav_from_an_input_folder_by_name_or_absolute_path(daemon, replies):
    loop = _tone(daemon.loops / "my loop.wav", 1.0)
    for name in ("my loop.wav", str(loop)):
        job = _queue(daemon, replies, "/oscgen/continue", name)
        _, path, _ = _done(replies, job)
        assert json.loads(Path(path).with_suffix(".json").read_text())["continued_from"] == str(loop.resolve())
        assert sf.info(path).frames == (15 + round(daemon_duration(replies) * 50)) * 640


def daemon_duration(replies) -> float:
    return [a for addr, a in replies.messages if addr == "/oscgen/param/duration"][-1][0]


def test_stop_keeps_the_prompt_and_the_music_continued_so_far(daemon, replies):
    loop = _tone(daemon.loops / "loop.wav", 1.0)
    daemon.client.send("/oscgen/duration", 20.0)  # one 20.3 s window: long enough to stop inside it
    job = _queue(daemon, replies, "/oscgen/continue", "loop.wav")
    since = replies.mark()
    replies.wait_for("/oscgen/progress", lambda a: a[0] == job and a[1] >= 0.3, timeout=120)
    daemon.client.send("/oscgen/stop", job)
    _, path, seconds = _done(replies, job, timeout=120)
    frames = sf.info(path).frames
    # the 15 prompt frames and the whole new frames made until the stop, far from the 20 s asked
    assert frames % 640 == 0 and 15 * 640 < frames < (15 + 1000) * 640 * 0.9
    assert seconds == pytest.approx(frames / 32000)
    sidecar = json.loads(Path(path).with_suffix(".json").read_text())
    assert sidecar["stopped"] is True and sidecar["samples"] == frames
    assert sidecar["continued_from"] == str(loop.resolve()) and sidecar["prompt_duration"] == pytest.approx(0.3)
    assert replies.received("/oscgen/cancelled", since=since) == []
    assert [p.name for p in wav_files(daemon.out)] == [Path(path).name]


def test_hostile_paths_are_refused_and_nothing_is_read_or_queued(daemon, replies, tmp_path):
    outside = _tone(tmp_path / "secret.wav", 0.5)
    os.symlink(outside, daemon.out / "escape.wav")
    _tone(daemon.out / ".half-written.wav", 0.5)
    os.mkfifo(daemon.loops / "fifo.wav")
    for name, reason in [
        (str(outside), "outside the folders"),
        ("escape.wav", "outside the folders"),
        ("../secret.wav", "bare file name"),
        (f"{daemon.loops}/../secret.wav", "'..'"),
        ("/etc/passwd", "outside the folders"),
        (".half-written.wav", "hidden"),
        ("fifo.wav", "not a regular file"),
        ("nope.wav", "no such WAV"),
        ("x" * 2000, "characters long"),
    ]:
        since = replies.mark()
        daemon.client.send("/oscgen/continue", name)
        error = replies.wait_for("/oscgen/error", since=since)
        assert error[0] == -1 and error[1].startswith("/oscgen/continue: ") and reason in error[1], (name, error)
        assert replies.received("/oscgen/queued", since=since) == []
    since = replies.mark()
    daemon.client.send("/oscgen/continue", 3)  # not a string
    assert "/oscgen/continue" in replies.wait_for("/oscgen/error", since=since)[1]
    daemon.client.send("/oscgen/ping")
    replies.wait_for("/oscgen/pong", since=since)


def test_continue_with_nothing_to_continue_says_so(tmp_path, replies):
    _, config = _config(tmp_path)
    with DaemonProcess(tmp_path, replies, config=config) as d:
        d.wait_ready()
        since = replies.mark()
        d.client.send("/oscgen/continue")
        assert "no take to continue yet" in replies.wait_for("/oscgen/error", since=since)[1]


def test_a_long_take_windows_with_progress_and_cancel_across_windows(daemon, replies):
    daemon.client.send("/oscgen/duration", 31.0)
    job = _queue(daemon, replies, "/oscgen/generate", "slow", "ambient")
    _, path, seconds = _done(replies, job, timeout=300)
    assert sf.info(path).frames == 31 * 32000 and seconds == pytest.approx(31.0)
    fractions = [a[1] for addr, a in replies.messages if addr == "/oscgen/progress" and a[0] == job]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 50
    # cancel in the second window (31 s = a 30 s window, then one of 13 s: past ~70 % of the steps)
    daemon.client.send("/oscgen/duration", 40.0)
    job = _queue(daemon, replies, "/oscgen/generate", "slow", "ambient")
    replies.wait_for("/oscgen/progress", lambda a: a[0] == job and a[1] > 0.7, timeout=300)
    daemon.client.send("/oscgen/cancel", job)
    replies.wait_for("/oscgen/cancelled", lambda a: a[0] == job, timeout=60)
    assert [p for p in wav_files(daemon.out) if p.name != Path(path).name] == []


def test_the_configured_maximum_is_the_limit(daemon, replies):
    since = replies.mark()
    daemon.client.send("/oscgen/duration", 41.0)
    assert "duration must be a number in (0, 40], got 41 ([long] max_duration = 40)" in replies.wait_for(
        "/oscgen/error", since=since)[1]


def test_a_stereo_checkpoint_writes_stereo_wavs(tmp_path, replies):
    from oscgen.musicgen import tiny

    model = tiny.write_random_model(tmp_path / "stereo-tiny", "stereo-tiny")
    _, config = _config(tmp_path)
    with DaemonProcess(tmp_path, replies, config=config, model=str(model)) as d:
        d.wait_ready()
        d.client.send("/oscgen/duration", 0.3)
        job = _queue(d, replies, "/oscgen/generate", "wide", "pads")
        _, path, _ = _done(replies, job)
        info = sf.info(path)
        assert (info.channels, info.frames) == (2, 15 * 640)
        left, right = sf.read(path, dtype="float32")[0].T
        assert not np.array_equal(left, right)
        job = _queue(d, replies, "/oscgen/continue")
        _, path, _ = _done(replies, job)
        assert sf.info(path).channels == 2
