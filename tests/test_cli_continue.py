"""``oscgen continue`` and ``oscgen generate --duration`` past 30 s, as real subprocesses."""

import numpy as np
import pytest
import soundfile as sf

from tests._io_fixtures import run_oscgen


def _wav(path, seconds, rate=32000, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 220 * (c + 1) * t) for c in range(channels)]).T, rate)
    return path


def test_continue_writes_the_prompt_followed_by_the_new_music(tmp_path):
    take = _wav(tmp_path / "take.wav", 0.5, rate=44100, channels=2)
    out = tmp_path / "more.wav"
    proc = run_oscgen("continue", str(take), "same groove, more drums", "--duration", "0.4", "--model", "tiny-random",
                      "--seed", "5", "-o", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out.resolve())
    info = sf.info(out)
    # 0.5 s of 44.1 kHz stereo becomes 25 frames of mono at 32 kHz, then 20 new frames
    assert (info.samplerate, info.channels, info.frames) == (32000, 1, 45 * 640)
    assert "0.50 s of prompt + 0.40 s new" in proc.stderr and "NOISE" in proc.stderr


def test_continue_only_the_end_of_a_long_file(tmp_path):
    take = _wav(tmp_path / "long.wav", 35.0)
    out = tmp_path / "end.wav"
    proc = run_oscgen("continue", str(take), "x", "-d", "0.2", "--prompt-seconds", "0.3", "--model", "tiny-random",
                      "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert sf.info(out).frames == (15 + 10) * 640
    proc = run_oscgen("continue", str(take), "x", "-d", "0.2", "--model", "tiny-random", "-o", str(tmp_path / "no.wav"))
    assert proc.returncode == 2 and "shorter than the model's 30 s context" in proc.stderr
    assert not (tmp_path / "no.wav").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.wav", "x"], "'missing.wav' is not a file"),
        (["{take}", "x", "--duration", "0"], "--duration must be in (0, 300]"),
        (["{take}", "", "--duration", "1"], "prompt must be a non-empty string"),
        (["{take}", "x", "--prompt-seconds", "40"], "--prompt-seconds must be in (0, 30)"),
        (["{take}", "x", "-o", "out.xyz"], "cannot tell the audio format"),
    ],
)
def test_continue_bad_arguments_are_one_clear_line(tmp_path, args, message):
    take = _wav(tmp_path / "take.wav", 0.2)
    proc = run_oscgen("continue", *[a.replace("{take}", str(take)) for a in args], "--model", "tiny-random")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == proc.stderr.strip()  # one line, no traceback
    assert message in proc.stderr


def test_generate_past_30_seconds_goes_window_by_window(tmp_path):
    out = tmp_path / "long.wav"
    proc = run_oscgen("generate", "slow ambient drone", "--duration", "31", "--model", "tiny-random", "--seed", "2",
                      "-o", str(out), "--normalize", "off", "--fade-in", "0", "--fade-out", "0", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert sf.info(out).frames == 31 * 32000
