"""oscgen.generate_take on the tiny random model: exact bar lengths, loops, the tempo in the
text, finishing options, and the WAV it saves carrying its tempo and loop."""

import numpy as np
import pytest
import soundfile as sf

import oscgen
from oscgen.audio import Bars, riff

TINY = "tiny-random"
pytestmark = pytest.mark.filterwarnings("ignore:.*random weights.*:UserWarning")


def _take(**kwargs):
    return oscgen.generate_take(**{"prompt": "dark techno", "model": TINY, "seed": 3, **kwargs})


@pytest.mark.parametrize("bpm,rate", [(130, 0), (97, 44100), (174, 48000)])
def test_a_bars_take_is_exactly_its_bars_at_the_output_rate(bpm, rate):
    result = _take(bars=1, bpm=bpm, finish={"sample_rate": rate})
    out = rate or 32000
    assert result.sample_rate == out and result.audio.shape == (1, round(4 * 60 * out / bpm))
    assert result.text == f"dark techno, {bpm} bpm"
    assert result.take.bars == Bars(1, bpm) and result.params["bars"] == 1 and result.params["duration"] is None


def test_the_take_regenerates_from_its_params_and_the_seed_matters():
    first = _take(bars=0.5, bpm=120, loop=True, finish={"normalize": "peak", "sample_rate": 48000})
    again = oscgen.generate_take(**first.params)
    assert np.array_equal(first.audio.numpy(), again.audio.numpy())
    assert not np.array_equal(first.audio.numpy(), _take(bars=0.5, bpm=120, loop=True, seed=4,
                                                         finish={"normalize": "peak", "sample_rate": 48000}).audio.numpy())
    assert np.abs(first.audio.numpy()).max() == pytest.approx(10 ** (-1 / 20), abs=1e-5)


def test_a_saved_loop_carries_tempo_and_loop_points(tmp_path):
    path = tmp_path / "loop.wav"
    result = _take(bars=1, bpm=133, loop=True, output_file=path)
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == 32000 and data.shape == (round(4 * 60 * 32000 / 133), 1)
    chunks = riff.read_chunks(path.read_bytes())
    assert riff.parse_acid(chunks[b"acid"]) == riff.Tempo(133.0, 4, 4)
    assert riff.parse_smpl(chunks[b"smpl"])[1] == [riff.Loop(0, result.take.samples)]


def test_a_loop_of_seconds_and_a_plain_take():
    loop = _take(duration=0.37, loop=True)
    assert loop.audio.shape == (1, round(0.37 * 32000)) and loop.take.chunks()[0][0] == b"smpl"
    assert loop.text == "dark techno"  # no tempo to tell
    plain = _take(duration=0.5, finish={"fade_in": 0.002, "fade_out": 0.01})
    samples = plain.audio.numpy()
    assert samples.shape == (1, 25 * 640) and samples[0, 0] == 0.0 and samples[0, -1] == 0.0


def test_tempo_text_is_configurable():
    assert _take(bars=0.25, bpm=100, tempo_text="").text == "dark techno"
    assert _take(bars=0.25, bpm=100, tempo_text=" in {beats_per_bar}/4, {bpm} BPM").text == "dark techno in 4/4, 100 BPM"
    assert _take(prompt="break at 90 bpm", bars=0.25, bpm=100).text == "break at 90 bpm"


@pytest.mark.parametrize("kwargs,message", [
    ({"bars": 16, "bpm": 60}, "longest is 30"), ({}, "give a length"), ({"bars": 1, "loop": 1}, "loop"),
    ({"bars": 1, "finish": {"rate": 48000}}, "unknown option"), ({"bars": 1, "tempo_text": "{key}"}, "tempo_text"),
    ({"bars": 1, "bpm": 0}, "bpm"), ({"duration": 40, "loop": True}, "duration"),
])
def test_bad_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _take(**kwargs)


def _cli(*args, cwd):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "oscgen", "generate", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_bars_loop_at_48k_and_its_flag_errors(tmp_path):
    out = tmp_path / "loop.wav"
    proc = _cli("dark techno", "--bars", "1", "--bpm", "130", "--beats-per-bar", "3", "--loop", "--sample-rate", "48000",
                "--normalize", "loudness", "--lufs", "-20", "--model", TINY, "--seed", "2", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    samples = round(3 * 60 * 48000 / 130)
    assert f"({samples} samples) at 48000 Hz" in proc.stderr and "'dark techno, 130 bpm'" in proc.stderr
    info = sf.info(str(out))
    assert (info.samplerate, info.frames) == (48000, samples)
    chunks = riff.read_chunks(out.read_bytes())
    assert riff.parse_acid(chunks[b"acid"]) == riff.Tempo(130.0, 3, 3)
    assert riff.parse_smpl(chunks[b"smpl"])[1] == [riff.Loop(0, samples)]
    for args, message in ((("--bars", "1", "--duration", "2"), "--duration or --bars"),
                          (("--bars", "1", "--fade-in", "-3"), "--fade-in"),
                          (("--bars", "16", "--bpm", "60"), "longest is 30 s")):
        proc = _cli("x", "--model", TINY, *args, cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.wav"]


def test_a_stopped_take_keeps_whole_bars_and_less_than_a_beat_is_an_error():
    from oscgen.audio import Finish
    from oscgen.take import _finished

    made = np.random.default_rng(1).standard_normal((1, int(2.6 * 32000))).astype(np.float32) * 0.1
    spec = Bars(4, 120, loop=True)  # 2 s bars: 2.6 s made holds one bar and its loop tail
    kept = _finished(made, 32000, Finish(sample_rate=44100), spec, stopped=True)
    assert kept.bars.bars == 1 and kept.samples == 88200 and kept.loop is not None
    with pytest.raises(ValueError, match="before one beat was made: nothing to keep"):
        _finished(made[:, :8000], 32000, Finish(), spec, stopped=True)
    # stopped after the last frame: the whole take, as if never stopped
    whole = np.zeros((1, spec.frames(50, 32000) * 640), np.float32)
    assert _finished(whole, 32000, Finish(), spec, stopped=True).bars == spec
    # a take in seconds keeps every sample made
    assert _finished(made, 32000, Finish(), None, stopped=True).samples == made.shape[1]


def test_stop_ends_decoding_and_returns_the_whole_frames_made():
    from oscgen import api

    knobs = api.check_arguments("dark techno", 1.0, 1.0, 250, 0.0, 3.0, 5, None)
    full, _, _, stopped = api._run("dark techno", 40, TINY, knobs)
    assert not stopped and full.shape == (1, 40 * 640)
    asked, seen = [], []

    def stop():
        asked.append(True)
        return len(asked) >= 20

    knobs["progress_callback"] = seen.append
    kept, _, _, stopped = api._run("dark techno", 40, TINY, knobs, stop=stop)
    # stopped at the 20th step: fewer whole frames, and the progress still ends at exactly 1
    assert stopped and 0 < kept.shape[1] < full.shape[1] and kept.shape[1] % 640 == 0
    assert seen[-1] == 1.0 and seen == sorted(seen)
