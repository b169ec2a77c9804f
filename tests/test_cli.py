"""The command line as a new user meets it: errors that name flags, a path checked before minutes
of generation, the take kept when the write fails, -1 as a random seed, a real --help and
--version, suggestions for typos, and a bar that says how long is left."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from oscgen.cli import ProgressBar

REPO = Path(__file__).resolve().parent.parent


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "oscgen", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_an_unwritable_output_fails_before_generating_with_one_line(tmp_path):
    proc = _cli("generate", "x", "--duration", "0.2", "--model", "tiny-random", "-o", "/proc/x.wav", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "oscgen: error: -o /proc/x.wav: cannot write into /proc: No such file or directory"
    assert not (tmp_path / "out").exists()


def test_a_failed_write_keeps_the_take_in_out_and_says_where(tmp_path):
    (tmp_path / "taken.wav").mkdir()  # the folder takes files, but this name cannot become one
    proc = _cli("generate", "dub chords", "--duration", "0.2", "--model", "tiny-random", "--seed", "5",
                "-o", "taken.wav", "--quiet", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    kept = tmp_path / "out" / "dub-chords-5.wav"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("oscgen: error:")]
    assert errors == [f"oscgen: error: could not write taken.wav (Is a directory); the take is kept in {kept}"]
    assert sf.info(str(kept)).frames == 10 * 640


def test_seed_minus_one_means_random_as_over_osc(tmp_path):
    proc = _cli("generate", "x", "--duration", "0.2", "--model", "tiny-random", "--seed", "-1", "-o", "a.wav",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "seed " in proc.stderr.splitlines()[-1] and "seed -1" not in proc.stderr
    refused = _cli("generate", "x", "--model", "tiny-random", "--seed", "-2", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "oscgen: error: --seed must be -1 (random) or in [0, 4294967295], got -2"


def test_errors_name_the_flag_not_the_python_argument(tmp_path):
    proc = _cli("generate", "x", "--cfg", "0.5", "--model", "tiny-random", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "oscgen: error: --cfg must be >= 1 (1 = no guidance), got 0.5"
    proc = _cli("generate", "x", "--top-p", "2", "--model", "tiny-random", cwd=tmp_path)
    assert proc.stderr.strip().startswith("oscgen: error: --top-p must be in [0, 1]")


def test_a_model_that_is_not_here_is_explained_in_command_line_words(tmp_path):
    proc = _cli("generate", "x", "--model", str(tmp_path / "no-such-folder"), cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and len(line) < 400, line
    assert "model=" not in line and "--model tiny-random" in line and "oscgen fetch" in line


def test_help_and_version_are_for_users(tmp_path):
    from oscgen import __version__

    help_ = _cli("--help", cwd=tmp_path)
    assert help_.returncode == 0
    assert "text-to-music" in help_.stdout and 'oscgen generate "' in help_.stdout
    assert "Each subcommand's work lives" not in help_.stdout  # not the developers' docstring
    version = _cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"oscgen {__version__}"


def test_typos_get_a_suggestion(tmp_path):
    proc = _cli("genrate", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean 'generate'?" in proc.stderr
    proc = _cli("generate", "x", "--temprature", "0.5", cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean '--temperature'?" in proc.stderr


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_bar_shows_the_seconds_left_from_the_measured_rate():
    clock, stream = _Clock(), io.StringIO()
    bar = ProgressBar("generating 8s", stream=stream, clock=clock)
    bar(0.10)  # the first report starts the clock: load and tracing are behind it
    for fraction in (0.30, 0.50, 0.75):
        clock.now += 2.0
        bar(fraction)
    clock.now += 2.0
    bar(1.0)
    # from the first report on: 0.2 of the job in 2 s -> 0.7 left = 7 s; 0.4 in 4 s -> 5 s; 0.65 in 6 s -> 2.3 s
    assert stream.getvalue().splitlines() == [
        "generating 8s: 10%", "generating 8s: 30%, 7 s left", "generating 8s: 50%, 5 s left",
        "generating 8s: 75%, 2 s left", "generating 8s: 100%",
    ]
