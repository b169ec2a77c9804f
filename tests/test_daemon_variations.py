"""Variations and batches through the daemon (``oscgen serve --model tiny-random`` as a subprocess
over real UDP): /oscgen/variations, one /oscgen/generate making N takes in one pass (N
/oscgen/done, N WAVs and sidecars with their own seeds), waiting jobs started together as one
batch, cancelling one job of a running batch while the other finishes, /oscgen/cancel_take, and
continuous batching: a job sent while a pass runs joins it and lands as soon as it is done."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _osc_helpers import DaemonProcess, replies, wav_files  # noqa: F401 (replies: fixture)

SAMPLES_PER_FRAME = 640  # 32 kHz / 50 frames per second


@pytest.fixture
def daemon(tmp_path, replies):
    with DaemonProcess(tmp_path, replies) as d:
        d.wait_ready()
        yield d


@pytest.fixture
def waiting_daemon(tmp_path, replies):
    """Continuous batching off ([queue] join = false): jobs sent while a pass runs wait for it."""
    with DaemonProcess(tmp_path, replies, config="[queue]\njoin = false\n") as d:
        d.wait_ready()
        yield d


def _queue(daemon, replies, *prompt) -> int:
    since = replies.mark()
    daemon.client.send("/oscgen/generate", *prompt)
    return replies.wait_for("/oscgen/queued", since=since)[0]


def _set(daemon, replies, name, value):
    since = replies.mark()
    daemon.client.send(f"/oscgen/{name}", value)
    return replies.wait_for(f"/oscgen/param/{name}", since=since)


def _dones(replies, job, count, since, timeout=120.0) -> list:
    """The job's /oscgen/done messages once ``count`` have come (one per take)."""
    deadline = time.monotonic() + timeout
    while True:
        done = [a for a in replies.received("/oscgen/done", since=since) if a[0] == job]
        if len(done) >= count or time.monotonic() > deadline:
            assert len(done) == count, done
            time.sleep(0.5)  # no more may follow
            assert [a for a in replies.received("/oscgen/done", since=since) if a[0] == job] == done
            return done
        time.sleep(0.05)


def _sidecar(path) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


def test_variations_knob_echoes_and_refuses_bad_values(daemon, replies):
    assert _set(daemon, replies, "variations", 3) == [3]
    assert _set(daemon, replies, "variations", 2.4) == [2]  # a Pd slider's float, rounded like every int knob
    _set(daemon, replies, "variations", 3)
    for bad in (0, 9, -1, 8.6, "four"):
        since = replies.mark()
        daemon.client.send("/oscgen/variations", bad)
        _, message = replies.wait_for("/oscgen/error", since=since)
        assert message.startswith("/oscgen/variations") and "[1, 8]" in message, message
    since = replies.mark()
    daemon.client.send("/oscgen/variations")  # a bare knob address answers its value
    assert replies.wait_for("/oscgen/param/variations", since=since) == [3]
    since = replies.mark()
    daemon.client.send("/oscgen/status")
    replies.wait_for("/oscgen/status", since=since)
    assert [3] in replies.received("/oscgen/param/variations", since=since)


def test_one_generate_makes_n_takes_each_with_its_wav_sidecar_and_done(daemon, replies, tmp_path):
    _set(daemon, replies, "variations", 3)
    _set(daemon, replies, "duration", 0.5)
    _set(daemon, replies, "seed", 700)
    since = replies.mark()
    job = _queue(daemon, replies, "three", "takes")
    done = _dones(replies, job, 3, since)
    paths = [Path(a[1]) for a in done]
    assert len(set(paths)) == 3 and sorted(paths) == wav_files(tmp_path / "out")
    assert sorted(p.name[-10:] for p in paths) == ["_take1.wav", "_take2.wav", "_take3.wav"]
    sidecars = sorted((_sidecar(p) for p in paths), key=lambda s: s["take"])
    assert [s["seed"] for s in sidecars] == [700, 701, 702]
    assert [(s["take"], s["takes"], s["job"]) for s in sidecars] == [(1, 3, job), (2, 3, job), (3, 3, job)]
    assert all(s["batch"] == {"jobs": [job], "takes": 3} for s in sidecars)
    for path, (_, _, seconds) in zip(paths, done):
        assert sf.info(path).frames == 25 * SAMPLES_PER_FRAME and seconds == pytest.approx(0.5)
    # progress is per job, and ends with exactly 1
    progress = [a[1] for a in replies.received("/oscgen/progress", since=since) if a[0] == job]
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # each take is what its sidecar's generate_take arguments make alone
    import warnings

    from oscgen.take import generate_take

    take = sidecars[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        alone = generate_take(**take["generate"])
    written, _ = sf.read(next(p for p in paths if _sidecar(p)["take"] == 2), dtype="float32", always_2d=True)
    assert np.max(np.abs(written.T - alone.audio.numpy())) <= 1.0 / 32768 + 1e-6  # PCM_16


def _busy_with_a_blocker(daemon, replies) -> int:
    """A long job running, so the jobs queued next wait (and can start together after it)."""
    _set(daemon, replies, "duration", 20.0)
    blocker = _queue(daemon, replies, "long", "blocker")
    replies.wait_for("/oscgen/started", lambda a: a[0] == blocker, timeout=60)
    return blocker


def test_waiting_jobs_start_together_as_one_batch(waiting_daemon, replies, tmp_path):
    daemon = waiting_daemon
    blocker = _busy_with_a_blocker(daemon, replies)
    _set(daemon, replies, "duration", 0.5)
    _set(daemon, replies, "variations", 2)
    first = _queue(daemon, replies, "first", "job")
    _set(daemon, replies, "variations", 1)
    second = _queue(daemon, replies, "second", "job")
    mark = daemon.log_mark()
    daemon.client.send("/oscgen/cancel", blocker)
    replies.wait_for("/oscgen/cancelled", lambda a: a[0] == blocker, timeout=60)
    daemon.wait_log(rf"batch: jobs {first}, {second} start together, 3 takes in one pass", since=mark, timeout=60)
    paths = [replies.wait_for("/oscgen/done", lambda a, j=j: a[0] == j, timeout=120)[1] for j in (first, second)]
    sidecar = _sidecar(paths[1])
    assert sidecar["batch"] == {"jobs": [first, second], "takes": 3} and sidecar["prompt"] == "second job"
    assert (sidecar["take"], sidecar["takes"]) == (1, 1) and not Path(paths[1]).stem.endswith("_take1")
    assert _sidecar(paths[0])["batch"] == sidecar["batch"]
    assert len(wav_files(tmp_path / "out")) == 3  # first's two takes, second's one; nothing of the blocker


def test_cancelling_one_job_of_a_running_batch_drops_its_takes_and_the_other_finishes(waiting_daemon, replies, tmp_path):
    daemon = waiting_daemon
    blocker = _busy_with_a_blocker(daemon, replies)
    _set(daemon, replies, "variations", 2)
    doomed = _queue(daemon, replies, "cancelled", "in", "its", "batch")
    _set(daemon, replies, "variations", 1)
    kept = _queue(daemon, replies, "kept")
    since = replies.mark()
    daemon.client.send("/oscgen/cancel", blocker)
    replies.wait_for("/oscgen/progress", lambda a: a[0] == doomed and 0 < a[1] < 0.5, timeout=120, since=since)
    # status names the batch's first job; /oscgen/running follows once per job of the batch
    asked = replies.mark()
    daemon.client.send("/oscgen/status")
    assert replies.wait_for("/oscgen/status", since=asked)[0] == doomed
    deadline = time.monotonic() + 10
    while len(replies.received("/oscgen/running", since=asked)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert replies.received("/oscgen/running", since=asked) == [[doomed], [kept]]
    daemon.client.send("/oscgen/cancel", doomed)
    replies.wait_for("/oscgen/cancelled", lambda a: a[0] == doomed, timeout=60, since=since)
    _, path, _ = replies.wait_for("/oscgen/done", lambda a: a[0] == kept, timeout=120, since=since)
    assert _sidecar(path)["batch"] == {"jobs": [doomed, kept], "takes": 3}
    assert not [a for a in replies.received("/oscgen/done", since=since) if a[0] == doomed]
    assert wav_files(tmp_path / "out") == [Path(path)]
    # the daemon goes on: the next job runs alone
    _set(daemon, replies, "duration", 0.5)
    job = _queue(daemon, replies, "after")
    replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120)


def test_cancel_take_drops_one_take_of_a_waiting_or_running_job(waiting_daemon, replies, tmp_path):
    daemon = waiting_daemon
    blocker = _busy_with_a_blocker(daemon, replies)
    _set(daemon, replies, "duration", 0.5)
    _set(daemon, replies, "variations", 3)
    _set(daemon, replies, "seed", 40)
    waiting = _queue(daemon, replies, "three", "takes")
    for args, words in (((waiting, 4), "job %d makes takes 1-3, got 4" % waiting), ((999, 1), "no job 999"),
                        ((waiting, "x"), "expects an integer (i), then an integer (i)")):
        since = replies.mark()
        daemon.client.send("/oscgen/cancel_take", *args)
        assert words in replies.wait_for("/oscgen/error", since=since)[1]
    daemon.client.send("/oscgen/cancel_take", waiting, 1)  # while it waits
    since = replies.mark()
    daemon.client.send("/oscgen/cancel", blocker)
    done = _dones(replies, waiting, 2, since)
    assert sorted(_sidecar(a[1])["take"] for a in done) == [2, 3]
    assert sorted(_sidecar(a[1])["seed"] for a in done) == [41, 42]  # each take keeps its own seed
    # a running job: its second take dropped mid-pass, the first written
    _set(daemon, replies, "duration", 20.0)
    _set(daemon, replies, "variations", 2)
    since = replies.mark()
    running = _queue(daemon, replies, "two", "takes")
    replies.wait_for("/oscgen/progress", lambda a: a[0] == running and 0 < a[1] < 0.5, timeout=120, since=since)
    daemon.client.send("/oscgen/cancel_take", running, 2)
    (only,) = _dones(replies, running, 1, since)
    assert _sidecar(only[1])["take"] == 1 and Path(only[1]).stem.endswith("_take1")
    assert not replies.received("/oscgen/cancelled", since=since)
    # dropping every take cancels the job
    since = replies.mark()
    last = _queue(daemon, replies, "all", "dropped")
    replies.wait_for("/oscgen/started", lambda a: a[0] == last, timeout=60, since=since)
    daemon.client.send("/oscgen/cancel_take", last, 1)
    daemon.client.send("/oscgen/cancel_take", last, 2)
    replies.wait_for("/oscgen/cancelled", lambda a: a[0] == last, timeout=60, since=since)
    assert len(wav_files(tmp_path / "out")) == 3


def test_a_job_sent_while_a_pass_runs_joins_it_and_lands_before_it_ends(daemon, replies, tmp_path):
    """Continuous batching ([queue] join, on by default): the short job joins the blocker's pass at
    the next decode step, its WAV is written as soon as its take is done (the blocker still
    decoding), and it is what its sidecar's arguments make alone."""
    blocker = _busy_with_a_blocker(daemon, replies)
    replies.wait_for("/oscgen/progress", lambda a: a[0] == blocker and a[1] > 0.02, timeout=60)
    _set(daemon, replies, "duration", 0.5)
    _set(daemon, replies, "seed", 321)
    since, mark = replies.mark(), daemon.log_mark()
    joiner = _queue(daemon, replies, "joins", "the", "pass")
    daemon.wait_log(rf"job {joiner} joins the running pass of job\(s\) {blocker}: 1 take", since=mark, timeout=60)
    _, path, seconds = replies.wait_for("/oscgen/done", lambda a: a[0] == joiner, timeout=120, since=since)
    assert not [a for a in replies.received("/oscgen/done", since=since) if a[0] == blocker]  # still running
    assert [a[0] for a in replies.received("/oscgen/started", since=since)] == [joiner]
    sidecar = _sidecar(path)
    assert sidecar["batch"] == {"jobs": [blocker, joiner], "takes": 2} and seconds == pytest.approx(0.5)
    daemon.client.send("/oscgen/cancel", blocker)
    replies.wait_for("/oscgen/cancelled", lambda a: a[0] == blocker, timeout=60, since=since)
    assert wav_files(tmp_path / "out") == [Path(path)]
    import warnings

    from oscgen.take import generate_take

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        alone = generate_take(**sidecar["generate"])
    written, _ = sf.read(path, dtype="float32", always_2d=True)
    assert np.max(np.abs(written.T - alone.audio.numpy())) <= 1.0 / 32768 + 1e-6  # PCM_16
    # the daemon goes on: the next job runs
    job = _queue(daemon, replies, "after")
    replies.wait_for("/oscgen/done", lambda a: a[0] == job, timeout=120, since=since)


def test_a_job_past_max_batch_waits_for_rows_to_free_up(tmp_path, replies):
    """With [queue] max_batch = 2 a pass of two takes takes no joiner; the job waits, and joins
    (or starts) once a take of the pass is done."""
    with DaemonProcess(tmp_path, replies, config="[queue]\nmax_batch = 2\n") as daemon:
        daemon.wait_ready()
        _set(daemon, replies, "variations", 2)
        blocker = _busy_with_a_blocker(daemon, replies)
        _set(daemon, replies, "variations", 1)
        _set(daemon, replies, "duration", 0.5)
        since, mark = replies.mark(), daemon.log_mark()
        waiting = _queue(daemon, replies, "waits")
        time.sleep(1.0)
        assert f"job {waiting} join" not in "\n".join(daemon.lines[mark:])
        assert replies.received("/oscgen/started", since=since) == []
        daemon.client.send("/oscgen/cancel_take", blocker, 2)  # a row frees up: the job joins
        daemon.wait_log(rf"job {waiting} joins the running pass of job\(s\) {blocker}", since=mark, timeout=60)
        replies.wait_for("/oscgen/done", lambda a: a[0] == waiting, timeout=120, since=since)
        daemon.client.send("/oscgen/cancel", blocker)
        replies.wait_for("/oscgen/cancelled", lambda a: a[0] == blocker, timeout=60, since=since)
