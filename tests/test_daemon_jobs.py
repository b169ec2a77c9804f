"""Jobs end to end: ``oscgen serve --model tiny-random`` as a subprocess, driven over real UDP,
generating for real (random weights: the audio is noise, the pipeline is the product).  Progress,
done, the WAV and its sidecar, ping during a job, cancel, a full queue, a worker killed with
SIGKILL, an unwritable folder, SIGTERM mid-job, and liblo's tools as an independent client."""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _osc_helpers import DaemonProcess, OscCollector, free_udp_port, hidden_files, replies, wav_files  # noqa: F401 (replies: fixture)

SAMPLES_PER_FRAME = 640  # 32 kHz / 50 frames per second


@pytest.fixture
def daemon(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as d:
        model, note = d.wait_ready()
        assert model == "tiny-random" and "random weights" in note and "noise" in note
        yield d


def _expected_samples(seconds: float) -> int:
    return max(1, round(seconds * 50)) * SAMPLES_PER_FRAME


def _generate(daemon, replies, *prompt, **knobs) -> int:
    """Set knobs, send /oscgen/generate, return the job id from /oscgen/queued."""
    for name, value in knobs.items():
        daemon.client.send(f"/oscgen/{name}", value)
    since = replies.mark()
    daemon.client.send("/oscgen/generate", *prompt)
    return replies.wait_for("/oscgen/queued", since=since)[0]


def _done(replies, job_id, timeout=120.0) -> list:
    return replies.wait_for("/oscgen/done", lambda a: a[0] == job_id, timeout=timeout)


def _first_progress(replies, job_id):
    return replies.wait_for("/oscgen/progress", lambda a: a[0] == job_id and 0 < a[1] < 1, timeout=120)


def test_a_job_reports_progress_to_done_and_leaves_a_wav_and_its_sidecar(daemon, replies):
    since = replies.mark()
    job = _generate(daemon, replies, "dusty", "lofi", "drums", duration=1.0, seed=1234, temperature=0.9)
    assert replies.wait_for("/oscgen/queued", since=since) == [job, 0]
    job_id, path, seconds = _done(replies, job)
    assert replies.received("/oscgen/started", since=since) == [[job]]
    fractions = [a[1] for a in replies.received("/oscgen/progress", since=since) if a[0] == job]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)

    wav = Path(path)
    assert wav.parent == daemon.out.resolve() and wav.name.endswith("_dusty-lofi-drums.wav")
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.frames) == (32000, 1, _expected_samples(1.0))
    assert seconds == pytest.approx(1.0, abs=1e-3)
    sidecar = json.loads(wav.with_suffix(".json").read_text())
    assert sidecar["prompt"] == "dusty lofi drums" and sidecar["seed"] == 1234 and sidecar["model"] == "tiny-random"
    assert sidecar["temperature"] == pytest.approx(0.9) and sidecar["duration"] == 1.0 and sidecar["sample_rate"] == 32000
    assert "noise" in sidecar["note"]
    assert sidecar["generate"]["seed"] == 1234 and sidecar["generate"]["prompt"] == "dusty lofi drums"
    assert hidden_files(daemon.out) == []

    # Same sidecar, same seed: the sample regenerates bit for bit (up to the WAV's 16-bit rounding).
    import oscgen

    with warnings.catch_warnings():  # the random-weights warning (only on a process's first load)
        warnings.simplefilter("ignore", UserWarning)
        again = oscgen.generate_take(**sidecar["generate"]).audio.numpy()[0]
    np.testing.assert_allclose(sf.read(wav, dtype="float32")[0], np.clip(again, -1, 1), atol=1.5 / 32768)


def test_a_random_seed_is_reported_and_bars_set_the_length(daemon, replies):
    job = _generate(daemon, replies, "house chords", seed=-1, bpm=240, bars=1)  # 1 bar at 240 = 1 s
    _, path, seconds = _done(replies, job)
    sidecar = json.loads(Path(path).with_suffix(".json").read_text())
    assert isinstance(sidecar["seed"], int) and sidecar["seed"] >= 0
    assert (sidecar["bars"], sidecar["bpm"], sidecar["duration"]) == (1.0, 240.0, 1.0)
    assert sf.info(path).frames == _expected_samples(1.0)


def test_ping_is_answered_while_a_job_runs_and_cancel_stops_it(daemon, replies):
    daemon.client.send("/oscgen/prompt", "long ambient drone")
    replies.wait_for("/oscgen/param/prompt")
    job = _generate(daemon, replies, duration=30.0)
    _first_progress(replies, job)
    since = replies.mark()
    daemon.client.send("/oscgen/ping")
    replies.wait_for("/oscgen/pong", since=since)
    daemon.client.send("/oscgen/status")
    assert replies.wait_for("/oscgen/status", since=since)[:2] == [job, 0]
    assert replies.received("/oscgen/done", since=0) == []  # still running when pong came back

    daemon.client.send("/oscgen/cancel")
    assert replies.wait_for("/oscgen/cancelled", since=since) == [job]
    assert wav_files(daemon.out) == [] and hidden_files(daemon.out) == []

    nxt = _generate(daemon, replies, duration=0.5)
    assert _done(replies, nxt)[0] == nxt
    assert [a for a in replies.received("/oscgen/done") if a[0] == job] == []


def test_a_full_queue_is_an_error_and_queued_jobs_can_be_cancelled(tmp_path, replies):
    with DaemonProcess(tmp_path, replies, config="[queue]\nlength = 1\n") as daemon:
        daemon.wait_ready()
        daemon.client.send("/oscgen/prompt", "queue test")
        replies.wait_for("/oscgen/param/prompt")
        daemon.client.send("/oscgen/duration", 2.0)
        replies.wait_for("/oscgen/param/duration")
        from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        bundle = OscBundleBuilder(IMMEDIATELY)  # three generates in one packet: handled together
        for _ in range(3):
            bundle.add_content(OscMessageBuilder("/oscgen/generate").build())
        since = replies.mark()
        daemon.client.send_raw(bundle.build().dgram)
        error = replies.wait_for("/oscgen/error", lambda a: "queue full" in a[1], since=since)
        queued = replies.received("/oscgen/queued", since=since)
        assert [q[1] for q in queued] == [0, 0] and error[0] == -1
        first, second = queued[0][0], queued[1][0]
        daemon.client.send("/oscgen/cancel", second)
        assert replies.wait_for("/oscgen/cancelled", since=since) == [second]
        assert _done(replies, first)[0] == first
        assert [a for a in replies.received("/oscgen/started", since=since)] == [[first]]


def test_a_worker_killed_mid_job_is_reported_and_the_next_job_works(daemon, replies):
    pid = daemon.worker_pid()
    mark = daemon.log_mark()
    job = _generate(daemon, replies, "doomed", duration=30.0)
    _first_progress(replies, job)
    since = replies.mark()
    os.kill(pid, signal.SIGKILL)
    error = replies.wait_for("/oscgen/error", lambda a: a[0] == job, since=since)
    assert "worker process died (killed by SIGKILL)" in error[1] and "restarting" in error[1]
    second = daemon.worker_pid(since=mark)
    assert second != pid
    replies.wait_for("/oscgen/ready", since=since, timeout=180)
    nxt = _generate(daemon, replies, "survivor", duration=0.5)
    _, path, _ = _done(replies, nxt)
    assert sf.info(path).frames == _expected_samples(0.5)
    assert hidden_files(daemon.out) == []

    # an idle worker that dies is reported too, and replaced
    since = replies.mark()
    os.kill(second, signal.SIGKILL)
    error = replies.wait_for("/oscgen/error", since=since)
    assert error[0] == -1 and "worker process died (killed by SIGKILL); restarting it" in error[1]
    replies.wait_for("/oscgen/ready", since=since, timeout=180)


def test_an_unwritable_output_folder_is_an_error_and_the_daemon_carries_on(daemon, replies):
    daemon.out.rmdir()
    daemon.out.write_text("a file where the folder was")  # root ignores permissions; this stops root too
    job = _generate(daemon, replies, "nowhere to go", duration=0.5)
    error = replies.wait_for("/oscgen/error", lambda a: a[0] == job)
    assert "could not write the WAV to" in error[1] and str(daemon.out) in error[1]
    daemon.out.unlink()  # the folder is back (created again by the daemon): the next job lands
    nxt = _generate(daemon, replies, "somewhere", duration=0.5)
    assert Path(_done(replies, nxt)[1]).exists()


def test_a_read_only_output_folder_is_an_error(tmp_path, replies):
    # as root (CI), the daemon runs without CAP_DAC_OVERRIDE so the folder's mode really applies
    with DaemonProcess(tmp_path, replies, honour_permissions=True) as daemon:
        daemon.wait_ready()
        daemon.out.mkdir(exist_ok=True)
        daemon.out.chmod(0o555)
        try:
            job = _generate(daemon, replies, "read only", duration=0.5)
            error = replies.wait_for("/oscgen/error", lambda a: a[0] == job)
            assert "Permission denied" in error[1] and str(daemon.out) in error[1]
            assert wav_files(daemon.out) == [] and hidden_files(daemon.out) == []
            daemon.client.send("/oscgen/ping")
            replies.wait_for("/oscgen/pong")
        finally:
            daemon.out.chmod(0o755)
        nxt = _generate(daemon, replies, "writable again", duration=0.5)  # nothing to restart
        assert Path(_done(replies, nxt)[1]).exists()


def test_sigterm_mid_job_cancels_it_says_so_and_leaves_no_temp_files(daemon, replies):
    job = _generate(daemon, replies, "interrupted", duration=30.0)
    _first_progress(replies, job)
    assert daemon.stop(signal.SIGTERM) == 0
    assert replies.wait_for("/oscgen/cancelled") == [job]
    assert replies.wait_for("/oscgen/shutdown") == ["SIGTERM"]
    assert hidden_files(daemon.out) == [] and wav_files(daemon.out) == []


@pytest.mark.skipif(not (shutil.which("oscsend") and shutil.which("oscdump")), reason="liblo-tools (oscsend, oscdump) not installed")
def test_liblo_clients_generate_and_hear_done(tmp_path, replies):
    dump_port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(dump_port)], stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        with DaemonProcess(tmp_path, replies, "--reply-port", str(dump_port)) as daemon:
            url = f"osc.udp://127.0.0.1:{daemon.port}"
            subprocess.run(["oscsend", url, "/oscgen/duration", "f", "0.5"], check=True)
            subprocess.run(["oscsend", url, "/oscgen/generate", "s", "liblo test"], check=True)
            for line in dump.stdout:
                lines.append(line.strip())
                if "/oscgen/done" in line or "/oscgen/error" in line:
                    break
    finally:
        dump.terminate()
        dump.wait()
    done = [l for l in lines if "/oscgen/done" in l]
    assert done, "\n".join(lines)
    assert " isf 1 " in done[0]
    path = done[0].split('"')[1]
    assert sf.info(path).frames == _expected_samples(0.5) and path.endswith("_liblo-test.wav")
    assert any("/oscgen/progress if 1 1.000000" in l for l in lines)


def test_a_model_that_does_not_load_is_reported_and_a_good_one_takes_over(tmp_path, replies):
    missing = str(tmp_path / "no-such-model")
    with DaemonProcess(tmp_path, replies, model=missing) as daemon:
        daemon.client.send("/oscgen/status")  # become a client: the load error is broadcast
        replies.wait_for("/oscgen/error", lambda a: "did not load" in a[1], timeout=120)
        since = replies.mark()
        daemon.client.send("/oscgen/status")  # a patch that opens later still hears why
        assert replies.wait_for("/oscgen/status", since=since)[2] == "no model"
        error = replies.wait_for("/oscgen/error", since=since)
        assert "did not load" in error[1] and missing in error[1]
        job = _generate(daemon, replies, "no model yet", duration=0.5)
        assert missing in replies.wait_for("/oscgen/error", lambda a: a[0] == job)[1]

        since = replies.mark()
        daemon.client.send("/oscgen/model", "tiny-random")
        assert replies.wait_for("/oscgen/ready", since=since, timeout=180)[0] == "tiny-random"
        # a typo now: reported, and the knob goes back to the model that works
        since = replies.mark()
        daemon.client.send("/oscgen/model", missing)
        error = replies.wait_for("/oscgen/error", lambda a: "did not load" in a[1], since=since)
        assert "staying with tiny-random" in error[1]
        assert replies.received("/oscgen/param/model", since=since) == [[missing], ["tiny-random"]]
        assert _done(replies, _generate(daemon, replies, "after the typo", duration=0.5))


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs: a real full disk.  Needs root with mount rights (containers often have them)."""
    mountpoint = tmp_path / "tiny-disk"
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small tmpfs with")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill a disk ({mounted.stderr.strip() or 'not root'})")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def test_a_full_disk_is_an_error_leaves_no_partial_file_and_small_jobs_still_land(tmp_path, replies, tiny_disk):
    with DaemonProcess(tmp_path, replies, out=tiny_disk) as daemon:
        daemon.wait_ready()
        job = _generate(daemon, replies, "too big for the disk", duration=2.0)  # 128 KB of 16-bit WAV
        error = replies.wait_for("/oscgen/error", lambda a: a[0] == job)
        assert "could not write the WAV" in error[1] and "No space left on device" in error[1]
        assert list(tiny_disk.iterdir()) == []  # no partial WAV, no sidecar, no temp file
        small = _generate(daemon, replies, "fits", duration=0.2)
        assert Path(_done(replies, small)[1]).parent == tiny_disk


def test_missing_startup_weights_fall_back_to_the_labelled_tiny_model(tmp_path, replies):
    """A fresh machine: musicgen-small is configured but not on disk and the hub is offline.  The
    daemon says so, serves tiny-random labelled as noise, and jobs work."""
    with DaemonProcess(tmp_path, replies, model="musicgen-small") as daemon:
        daemon.client.send("/oscgen/status")  # become a client: the fallback is broadcast
        error = replies.wait_for("/oscgen/error", lambda a: "musicgen-small" in a[1], timeout=120)
        assert error[0] == -1 and "serving 'tiny-random' instead" in error[1] and "NOISE" in error[1]
        ready = replies.wait_for("/oscgen/ready", timeout=180)
        assert ready[0] == "tiny-random" and "noise" in ready[1]
        assert ["tiny-random"] in replies.received("/oscgen/param/model")
        job = _generate(daemon, replies, "fresh install", duration=0.5)
        assert _done(replies, job)


def test_fallback_can_be_switched_off(tmp_path, replies):
    config = '[defaults]\nfallback_model = ""\n'
    with DaemonProcess(tmp_path, replies, config=config, model="musicgen-small") as daemon:
        daemon.client.send("/oscgen/status")
        error = replies.wait_for("/oscgen/error", lambda a: "did not load" in a[1], timeout=120)
        assert "serving" not in error[1] and "musicgen-small" in error[1]
        since = replies.mark()
        daemon.client.send("/oscgen/status")
        assert replies.wait_for("/oscgen/status", since=since)[2] == "no model"


@pytest.mark.parametrize("prompt", ["../../../../tmp/escape", "/etc/passwd", "CON", "..", "NUL.txt",
                                    "ü" * 300 + " 鼓 🥁", "a\\b:c*d?e\"f<g>h|i"])
def test_no_prompt_can_steer_a_file_outside_the_folder_or_make_an_unsafe_name(tmp_path, replies, prompt):
    with DaemonProcess(tmp_path, replies) as daemon:
        job = _generate(daemon, replies, prompt, duration=0.1, seed=3)
        path = Path(_done(replies, job)[1])
        assert path.parent == daemon.out.resolve() or path.parent == daemon.out
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.wav", path.name) and not path.name.startswith(".")
        assert len(path.name) <= 200
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["prompt"] == prompt
        assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".wav", ".json")) == \
            sorted([path.name, path.with_suffix(".json").name])


def test_a_worker_that_cannot_honour_cancel_is_replaced_after_the_grace_period(daemon, replies):
    """A job stuck where it cannot see the cancel (here: its process frozen with SIGSTOP) is
    ended by killing the worker after CANCEL_GRACE_S; a fresh worker takes the next job."""
    from oscgen.service.jobs import CANCEL_GRACE_S

    pid = daemon.worker_pid()
    job = _generate(daemon, replies, "frozen", duration=30.0)
    _first_progress(replies, job)
    os.kill(pid, signal.SIGSTOP)
    mark, log_mark = replies.mark(), daemon.log_mark()
    daemon.client.send("/oscgen/cancel", job)
    daemon.client.send("/oscgen/ping")  # the daemon itself is not frozen
    replies.wait_for("/oscgen/pong", since=mark, timeout=5)
    assert replies.wait_for("/oscgen/cancelled", since=mark, timeout=CANCEL_GRACE_S + 20) == [job]
    daemon.wait_log(rf"worker pid {pid} killed to cancel job {job}", since=log_mark)
    assert daemon.worker_pid(since=log_mark) != pid
    nxt = _generate(daemon, replies, "after the freeze", duration=0.5)
    assert Path(_done(replies, nxt, timeout=180)[1]).exists()
    assert hidden_files(daemon.out) == []
