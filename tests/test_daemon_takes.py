"""Set-ready takes through the daemon (``oscgen serve --model tiny-random`` as a subprocess over
real UDP): /oscgen/loop, bar-exact WAVs at the configured rate with their acid/smpl chunks, the
sidecar's bpm/bars/loop/samples, and {bpm}/{bars}/{preset} in file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from _osc_helpers import DaemonProcess, replies  # noqa: F401 (replies: fixture)
from oscgen.audio import Bars, riff

CONFIG = """
[output]
name = "{bpm}bpm-{bars}bars-{preset}_{id}"
sample_rate = 48000
normalize = "loudness"
loudness_lufs = -20.0

[presets]
stab = { prompt = "short synth stab", bars = 1, bpm = 150, loop = true }
"""


@pytest.fixture
def daemon(tmp_path, replies):
    with DaemonProcess(tmp_path, replies, config=CONFIG) as d:
        d.wait_ready()
        yield d


def _job(daemon, replies, address="/oscgen/generate", *args):
    since = replies.mark()
    daemon.client.send(address, *args)
    job = replies.wait_for("/oscgen/queued", since=since)[0]
    return replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120)


def test_loop_knob_bars_and_the_file_it_makes(daemon, replies):
    since = replies.mark()
    daemon.client.send("/oscgen/loop", 1)
    assert replies.wait_for("/oscgen/param/loop", since=since) == [1]
    daemon.client.send("/oscgen/bpm", 128.0)
    daemon.client.send("/oscgen/bars", 1.0)
    daemon.client.send("/oscgen/prompt", "rolling", "techno", "bass")
    job, path, seconds = _job(daemon, replies)
    samples = round(4 * 60 * 48000 / 128)  # 90000: exact at 48 kHz
    wav = Path(path)
    assert wav.name == f"128bpm-1bars-_{job:04d}.wav"
    info = sf.info(wav)
    assert (info.samplerate, info.frames) == (48000, samples) and seconds == pytest.approx(samples / 48000)
    chunks = riff.read_chunks(wav.read_bytes())
    assert riff.parse_acid(chunks[b"acid"]) == riff.Tempo(128.0, 4, 4)
    assert riff.parse_smpl(chunks[b"smpl"])[1] == [riff.Loop(0, samples)]
    sidecar = json.loads(wav.with_suffix(".json").read_text())
    assert (sidecar["bpm"], sidecar["bars"], sidecar["loop"], sidecar["samples"], sidecar["sample_rate"]) == (
        128.0, 1.0, True, samples, 48000)
    assert sidecar["text"] == "rolling techno bass, 128 bpm" and sidecar["prompt"] == "rolling techno bass"
    assert sidecar["generate"]["finish"]["normalize"] == "loudness" and sidecar["generate"]["loop"] is True

    # a preset carries loop, bars and bpm into the knobs, and its name into the file name
    since = replies.mark()
    daemon.client.send("/oscgen/loop", 0)
    daemon.client.send("/oscgen/preset", "stab")
    assert replies.wait_for("/oscgen/preset", since=since) == [0, "stab"]
    assert replies.received("/oscgen/param/loop", since=since)[-1] == [1]
    job, path, _ = _job(daemon, replies)
    samples = round(4 * 60 * 48000 / 150)
    assert Path(path).name == f"150bpm-1bars-stab_{job:04d}.wav" and sf.info(path).frames == samples
    assert json.loads(Path(path).with_suffix(".json").read_text())["preset"] == "stab"
    # a one-shot in seconds: no tempo in the name or the file, fades at both ends
    daemon.client.send("/oscgen/loop", 0)
    daemon.client.send("/oscgen/duration", 0.5)
    job, path, _ = _job(daemon, replies, "/oscgen/generate", "a", "new", "prompt")
    assert Path(path).name == f"bpm-bars-_{job:04d}.wav"
    data, rate = sf.read(path, dtype="float32")
    assert rate == 48000 and len(data) == 24000 and data[0] == 0.0 and data[-1] == 0.0
    assert set(riff.read_chunks(Path(path).read_bytes())) == {b"fmt ", b"data"}


def test_bad_loop_values_are_errors_and_change_nothing(daemon, replies):
    for value in (2, "yes", -1):
        since = replies.mark()
        daemon.client.send("/oscgen/loop", value)
        job, message = replies.wait_for("/oscgen/error", since=since)
        assert job == -1 and "/oscgen/loop" in message and "loop must be an integer in [0, 1]" in message
    since = replies.mark()
    daemon.client.send("/oscgen/loop")
    assert replies.wait_for("/oscgen/param/loop", since=since) == [0]


def test_stop_keeps_the_whole_bars_made_so_far_where_cancel_keeps_nothing(daemon, replies):
    daemon.client.send("/oscgen/loop", 1)
    daemon.client.send("/oscgen/bpm", 128.0)
    daemon.client.send("/oscgen/bars", 16.0)  # 30 s: long enough to stop half way
    since = replies.mark()
    daemon.client.send("/oscgen/generate", "slow", "dub", "chords")
    job = replies.wait_for("/oscgen/queued", since=since)[0]
    # 3 bars (5.6 s, 19 % of the take) and the loop's tail are decoded by 25 %
    replies.wait_for("/oscgen/progress", lambda a: a[0] == job and a[1] >= 0.25, timeout=120)
    daemon.client.send("/oscgen/stop", job)
    _, path, seconds = replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120)
    frames = sf.info(path).frames
    kept = next(n for n in range(1, 16) if Bars(n, 128).samples(48000) == frames)  # whole bars, exactly
    assert kept >= 3 and seconds == pytest.approx(frames / 48000)
    chunks = riff.read_chunks(Path(path).read_bytes())
    assert riff.parse_acid(chunks[b"acid"]).beats == 4 * kept
    assert riff.parse_smpl(chunks[b"smpl"])[1] == [riff.Loop(0, frames)]  # still a loop
    sidecar = json.loads(Path(path).with_suffix(".json").read_text())
    assert sidecar["stopped"] is True and sidecar["bars"] == kept and sidecar["requested_bars"] == 16.0
    assert sidecar["samples"] == frames
    assert replies.received("/oscgen/cancelled", since=since) == []

    # nothing running: an error naming the address; a queued job is simply cancelled
    since = replies.mark()
    daemon.client.send("/oscgen/stop")
    assert "/oscgen/stop: no job is running" in replies.wait_for("/oscgen/error", since=since)[1]
    daemon.client.send("/oscgen/stop", 1, 2)
    assert "expects no argument" in replies.wait_for("/oscgen/error", lambda a: "expects" in a[1], since=since)[1]
