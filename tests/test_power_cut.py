"""Power cuts mid-write: the folder never shows a sidecar without its WAV, and what a killed
writer left half-published is finished or removed when the daemon starts.

Two levels: outbox.save in a subprocess SIGKILLed at every step of a publish (each fsync and
each link, before and after), then outbox.recover; and a real daemon whose worker is held
inside a publish (tests/powercut/sitecustomize.py) while both processes are SIGKILLed, then
a second daemon on the same folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from oscgen.service import outbox

from _osc_helpers import REPO, DaemonProcess, hidden_files, replies, wav_files  # noqa: F401 (replies: fixture)

SIDECAR = {"prompt": "p", "oscgen": "test", "generate": {"prompt": "p"}, "audio_seconds": 0.5}

# The child: outbox.save with os.<call> SIGKILLing the process at its Nth call, before or after it.
CHILD = r"""
import os, signal, sys
import numpy as np
from pathlib import Path
from oscgen.service import outbox
call, nth, when, folder, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), sys.argv[5]
real, count = getattr(os, call), [0]
def hooked(*args, **kwargs):
    count[0] += 1
    if count[0] == nth and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    if count[0] == nth and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(os, call, hooked)
tone = (0.1 * np.sin(np.arange(16000) / 10.0)).astype(np.float32)[None]
outbox.save(folder, "take", tone, 32000, "PCM_16", %r, tag)
print("finished")
""" % (SIDECAR,)

# save() calls fsync 4 times (sidecar temp, WAV temp, folder after each publish) and link twice.
STEPS = [("fsync", n, w) for n in (1, 2, 3, 4) for w in ("before", "after")] + [("link", n, w) for n in (1, 2) for w in ("before", "after")]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def assert_folder_consistent(folder: Path) -> None:
    """No visible sidecar without its WAV; every visible WAV complete."""
    visible = [p for p in folder.iterdir() if not p.name.startswith(".")]
    for meta in (p for p in visible if p.suffix == ".json"):
        assert meta.with_suffix(".wav").exists(), f"{meta.name} is visible without its WAV"
    for wav in (p for p in visible if p.suffix == ".wav"):
        assert sf.info(str(wav)).frames == 16000, f"{wav.name} is incomplete"


@pytest.mark.parametrize("call, nth, when", STEPS, ids=[f"{c}{n}-{w}" for c, n, w in STEPS])
def test_a_kill_at_any_step_of_a_publish_never_shows_a_sidecar_without_its_wav(tmp_path, call, nth, when):
    folder = tmp_path / "out"
    folder.mkdir()
    pid = _dead_pid()  # the tag of a daemon that is gone
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.run([sys.executable, "-c", CHILD, call, str(nth), when, str(folder), f"oscgen{pid}-"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert_folder_consistent(folder)
    wav_published = (folder / "take.wav").exists()

    actions = outbox.recover(folder, lambda tag, p: p == pid)
    assert_folder_consistent(folder)
    assert hidden_files(folder) == [], actions
    if wav_published:  # the take survived the cut: so does its sidecar
        assert json.loads((folder / "take.json").read_text()) == SIDECAR
    else:
        assert list(folder.iterdir()) == []


def test_recover_leaves_alone_what_another_live_writer_is_writing(tmp_path):
    (tmp_path / ".take.wav.oscgen1-0123abcd.tmp").write_bytes(b"in progress")
    assert outbox.recover(tmp_path, lambda tag, pid: False) == []
    assert (tmp_path / ".take.wav.oscgen1-0123abcd.tmp").exists()


def test_start_removes_the_orphan_sidecar_an_older_oscgen_left(tmp_path, replies):
    """The issue's state: a visible sidecar, and the hidden temp of the WAV that never came."""
    out = tmp_path / "out"
    out.mkdir()
    pid = _dead_pid()
    (out / "0001-take.json").write_text(json.dumps(SIDECAR))
    (out / f".0001-take.wav.oscgen{pid}-89abcdef.tmp").write_bytes(b"RIFF half a wav")
    (out / "notes.json").write_text("{}")  # the user's own file: not ours, stays
    with DaemonProcess(tmp_path, replies, out=out) as daemon:
        daemon.wait_log(r"removed 0001-take\.json \(a sidecar whose WAV was never finished\), left by a daemon that is gone")
        assert daemon.stop() == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.json"]


@pytest.mark.parametrize("hold_at, survives", [(1, False), (2, True)], ids=["before-the-wav", "between-wav-and-sidecar"])
def test_daemon_and_worker_killed_mid_write_leave_a_clean_folder_after_restart(tmp_path, replies, hold_at, survives):
    out = tmp_path / "out"
    out.mkdir()
    held = tmp_path / ".held"
    env = {"PYTHONPATH": os.pathsep.join((str(REPO / "tests" / "powercut"), str(REPO))),
           "OSCGEN_TEST_HOLD": str(out), "OSCGEN_TEST_HOLD_AT": str(hold_at)}
    daemon = DaemonProcess(tmp_path, replies, out=out, env=env)
    try:
        daemon.wait_ready()
        worker = daemon.worker_pid()
        daemon.client.send("/oscgen/generate", "power", "cut", 1)
        deadline = time.monotonic() + 120
        while not held.exists():
            assert time.monotonic() < deadline, "the worker never reached the publish"
            time.sleep(0.05)
        os.kill(worker, signal.SIGKILL)  # the power goes: both at once
        daemon.proc.kill()
        daemon.proc.wait(30)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    _wait_gone(worker)
    assert_visible_pairs(out)
    assert hidden_files(out), "the kill was meant to land mid-write"

    with DaemonProcess(tmp_path, replies, out=out) as again:
        again.wait_ready()
        assert hidden_files(out) == []
        assert_visible_pairs(out)
        assert len(wav_files(out)) == (1 if survives else 0)
        assert (len(list(out.glob("*.json"))) == 1) == survives
        since = replies.mark()
        again.client.send("/oscgen/generate", "after", "the", "cut")
        replies.wait_for("/oscgen/done", since=since, timeout=120)
        assert again.stop() == 0
    assert_visible_pairs(out)
    assert hidden_files(out) == []


def assert_visible_pairs(folder: Path) -> None:
    for meta in folder.glob("*.json"):
        assert meta.with_suffix(".wav").exists(), f"{meta.name} is visible without its WAV"


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
