"""The daemon's parts on their own: the knob state (the one entry point OSC and MIDI share),
safe file names, the atomic no-overwrite outbox, and the README's address table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from oscgen.config import load_config
from oscgen.service import outbox, protocol
from oscgen.service.state import State

from _osc_helpers import permission_checked_prefix, replies  # noqa: F401 (replies: fixture)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def state():
    c = load_config()
    return State(c.defaults, c.presets, c.beats_per_bar)


def test_set_knob_returns_the_echoes_and_keeps_length_consistent(state):
    assert state.set_knob("temperature", 1) == [("temperature", 1.0)]
    assert state.set_knob("bars", 4) == [("bars", 4.0), ("duration", 8.0)]
    assert state.set_knob("bpm", 150, source="midi") == [("bpm", 150.0), ("duration", 6.4)]
    assert state.set_knob("duration", 3) == [("duration", 3.0), ("bars", 0.0)]
    assert state.set_knob("bpm", 60) == [("bpm", 60.0)]  # bars off: tempo alone changes nothing else
    with pytest.raises(ValueError, match=r"8 bars at 60 bpm is 32.0 s; the longest is 30 s"):
        state.set_knob("bars", 8)
    assert state.get("bars") == 0.0 and state.get("duration") == 3.0  # a refused change changes nothing
    with pytest.raises(ValueError, match="unknown knob 'cfg_scale'"):
        state.set_knob("cfg_scale", 2)


def test_ints_and_floats_cross_over_like_max_and_pd_send_them(state):
    assert state.set_knob("top_k", 64.0) == [("top_k", 64)]
    assert state.set_knob("top_k", 63.7) == [("top_k", 64)]
    assert state.set_knob("seed", 12.0) == [("seed", 12)]
    assert isinstance(state.get("top_k"), int) and isinstance(state.set_knob("cfg", 2)[0][1], float)
    with pytest.raises(ValueError, match=r"top_k must be an integer in \[0, 2048\], got 'many'"):
        state.set_knob("top_k", "many")
    with pytest.raises(ValueError, match="temperature must be a number"):
        state.set_knob("temperature", True)
    with pytest.raises(ValueError, match="temperature must be a number"):
        state.set_knob("temperature", float("nan"))


def test_presets_load_all_or_nothing_and_in_a_safe_order(state):
    index, preset, echoes = state.load_preset(0)
    assert (index, preset.name) == (0, "ambient")
    assert dict(echoes)["duration"] == pytest.approx(8 * 4 * 60 / 70)
    assert state.get("prompt").startswith("slow evolving ambient")
    # bpm is applied before bars, so a preset is judged at its own tempo
    s = State({**state.snapshot(), "bpm": 40.0, "bars": 0.0}, (type(preset)("fast", "p", {"bars": 16.0, "bpm": 140.0}),))
    s.load_preset("fast")
    assert s.get("duration") == pytest.approx(16 * 4 * 60 / 140)
    with pytest.raises(ValueError, match=r"no preset number 9 \(config has 4: 0..3\)"):
        state.load_preset(9)
    with pytest.raises(ValueError, match="no preset named 'jazz' .presets: ambient, drums, piano, bass."):
        state.load_preset("jazz")
    assert state.find_preset("2")[1].name == "piano" and state.find_preset(3.0)[1].name == "bass"


def test_job_params_freeze_the_knobs_without_changing_them(state):
    assert state.job_params()["prompt"] == load_config().defaults["prompt"] != ""  # a shipped default
    c = load_config()
    with pytest.raises(ValueError, match="no prompt"):
        State({**c.defaults, "prompt": ""}, c.presets, c.beats_per_bar).job_params()
    state.set_knob("prompt", "warm rhodes chords")
    params = state.job_params(overrides={"temperature": 0.5}, prompt="other")
    assert params["prompt"] == "other" and params["temperature"] == 0.5 and params["seed"] is None
    assert state.get("prompt") == "warm rhodes chords" and state.get("temperature") == 1.0
    state.set_knob("seed", 42)
    drums = state.job_params(preset="drums")
    assert drums["seed"] == 42 and drums["cfg_scale"] == 4.0 and drums["preset"] == "drums"
    assert drums["duration"] == pytest.approx(9.6) and state.get("bpm") == 120.0
    assert set(params) >= {"prompt", "duration", "model", "temperature", "top_k", "top_p", "cfg_scale", "seed"}


@pytest.mark.parametrize(
    "prompt, slug",
    [
        ("Upbeat Jazz — piano/solo!", "upbeat-jazz-piano-solo"),
        ("../../etc/passwd", "etc-passwd"),
        ("Café del Mar ☕ 120bpm", "cafe-del-mar-120bpm"),
        ("日本の音楽", "untitled"),
        ("   ", "untitled"),
        ("a" * 300, "a" * outbox.SLUG_CHARS),
    ],
)
def test_slugs_are_safe_characters_only(prompt, slug):
    assert outbox.slugify(prompt) == slug


def test_file_stems_never_leave_the_folder():
    stem = outbox.file_stem("{date}-{time}_{id}_{slug}_{model}_{seed}", 7, "../x", "/abs/../facebook/musicgen-small", 3, when=0)
    assert re.fullmatch(r"\d{8}-\d{6}_0007_x_musicgen-small_3", stem)
    assert "/" not in outbox.file_stem("{id}", 1, "p", "m", 1) and not outbox.file_stem("..{id}", 1, "p", "m", 1).startswith(".")


def _tone(seconds=0.25, sr=32000):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]  # (channels, samples)


def test_outbox_publishes_wav_and_sidecar_without_overwriting(tmp_path):
    folder = tmp_path / "new" / "folder"  # created on demand
    audio = _tone()
    first = outbox.save(folder, "take", audio, 32000, "PCM_16", {"seed": 1}, tag="t-")
    second = outbox.save(folder, "take", audio * 2.5, 32000, "FLOAT", {"seed": 2}, tag="t-")  # same stem
    assert (first.name, second.name) == ("take.wav", "take-2.wav")
    data, sr = sf.read(first, dtype="float32")
    assert sr == 32000 and data.shape == (8000,) and np.allclose(data, audio[0], atol=1e-4)
    assert sf.info(second).subtype == "FLOAT" and sf.read(second)[0].max() > 1.0  # float keeps the level
    assert json.loads((folder / "take.json").read_text()) == {"seed": 1}
    assert json.loads((folder / "take-2.json").read_text()) == {"seed": 2}
    assert sorted(p.name for p in folder.iterdir()) == ["take-2.json", "take-2.wav", "take.json", "take.wav"]


def test_pcm_output_is_clipped_not_wrapped(tmp_path):
    loud = np.full((1, 100), 1.7, dtype=np.float32)
    path = outbox.save(tmp_path, "loud", loud, 32000, "PCM_16", None)
    assert np.all(sf.read(path)[0] > 0.99)
    assert not (tmp_path / "loud.json").exists()


def test_a_folder_that_cannot_exist_raises(tmp_path):
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(OSError):
        outbox.save(tmp_path / "file" / "sub", "x", _tone(), 32000, "PCM_16", {})


_SAVE_INTO = """
import sys
from pathlib import Path
import numpy as np
from oscgen.service import outbox
try:
    outbox.save(Path(sys.argv[1]), "x", np.zeros((1, 3200), np.float32), 32000, "PCM_16", {})
except OSError as exc:
    print("OSError", exc)
"""


def test_an_unwritable_folder_raises_and_leaves_nothing(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        # in a subprocess under which the mode bits apply even to root (CI runs as root)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
        result = subprocess.run([*permission_checked_prefix(), sys.executable, "-c", _SAVE_INTO, str(folder)],
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("OSError") and "Permission denied" in result.stdout
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_readme_address_table_is_the_protocol_table():
    readme = (REPO / "README.md").read_text()
    assert protocol.markdown_table() in readme


def test_every_knob_has_an_address_and_an_echo():
    assert {f"/oscgen/{k}" for k in protocol.KNOBS} <= protocol.inbound_paths()
    assert {f"/oscgen/param/{k}" for k in protocol.KNOBS} <= protocol.outbound_paths()
    assert protocol.PARAM_TYPES["top_k"] == "i" and protocol.PARAM_TYPES["cfg"] == "f" and protocol.PARAM_TYPES["prompt"] == "s"


def test_the_thread_safe_api_midi_drives_echoes_and_errors_to_every_client(replies):
    """What oscgen/service/midi.py calls from its own thread: set_knob, load_preset, submit,
    cancel, broadcast — the same rules and the same echoes as OSC."""
    import dataclasses
    import threading

    from oscgen.config import with_overrides
    from oscgen.service.server import Daemon

    config = with_overrides(load_config(), port=0)
    config = dataclasses.replace(config, osc=dataclasses.replace(config.osc, reply_targets=(("127.0.0.1", replies.port),)))
    daemon = Daemon(config)  # not serving: no worker, so a submitted job stays queued
    try:
        results = {}

        def midi_thread():
            results["knob"] = daemon.set_knob("cfg", 5, source="midi")
            results["bad"] = daemon.set_knob("top_p", 3, source="midi")
            results["preset"] = daemon.load_preset(1, source="midi")
            results["job"] = daemon.submit(preset="piano", source="midi")
            results["cancel"] = daemon.cancel(results["job"], source="midi")
            daemon.broadcast("/oscgen/tempo", 123.5)

        t = threading.Thread(target=midi_thread)
        t.start()
        t.join(10)
        assert results["knob"] == [("cfg", 5.0)] and results["bad"] is None and results["cancel"] is True
        assert replies.wait_for("/oscgen/param/cfg") == [5.0]
        assert "/oscgen/top_p: top_p must be a number in [0, 1], got 3" in replies.wait_for("/oscgen/error")[1]
        assert replies.wait_for("/oscgen/preset") == [1, "drums"]
        assert replies.wait_for("/oscgen/queued") == [results["job"], 0]
        assert replies.wait_for("/oscgen/cancelled") == [results["job"]]
        assert replies.wait_for("/oscgen/tempo") == [123.5]
        assert daemon.state.get("prompt").startswith("tight funk")  # submit(preset=) left the knobs alone
    finally:
        daemon.request_stop("test")
        daemon._shutdown()


def test_the_osc_process_does_not_import_mlx():
    """MLX lives in the worker process only: the process answering OSC stays small and quick."""
    import subprocess
    import sys

    code = "import sys, oscgen.cli, oscgen.service.server; print(sorted(m for m in sys.modules if m.startswith('mlx')))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "[]"


def test_error_replies_are_rate_limited_per_host_and_say_what_was_dropped():
    from oscgen.service.clients import ErrorRateLimit

    limit = ErrorRateLimit(burst=3, per_second=2.0)
    assert [limit.allow("10.0.0.1", now=0.0) for _ in range(2)] == [0, 0]
    assert not limit.exhausted("10.0.0.1")
    assert limit.allow("10.0.0.1", now=0.0) == 0 and limit.exhausted("10.0.0.1")
    assert [limit.allow("10.0.0.1", now=0.0) for _ in range(2)] == [None, None]
    assert limit.allow("10.0.0.2", now=0.0) == 0  # another host has its own bucket
    assert limit.allow("10.0.0.1", now=0.5) == 2  # one token back after 0.5 s: reports the 2 dropped
    assert limit.allow("10.0.0.1", now=0.5) is None
    assert limit.allow("10.0.0.1", now=10.0) == 1


@pytest.mark.filterwarnings("ignore:.*random weights.*:UserWarning")
def test_the_worker_says_ready_only_after_warming_up_for_the_daemons_knobs(monkeypatch):
    from oscgen import api
    from oscgen.service import worker

    events = []
    warmed = []
    real_warm_up = api.warm_up
    monkeypatch.setattr(api, "warm_up", lambda model, **knobs: warmed.append((model, knobs)) or real_warm_up(model, **knobs))

    class Conn:
        def send(self, message):
            events.append((message, list(warmed)))

    knobs = {"top_k": 3, "top_p": 0.5, "cfg_scale": 1.0, "audio_duration": 0.2}
    worker._warm(Conn(), api, "tiny-random", knobs, {"model": None})
    assert events == [(("ready", "tiny-random", f"tiny-random: {api.NOISE_WARNING}"), [("tiny-random", knobs)])]
    assert (3, True, False) in api.load_model("tiny-random")._compiled_steps  # (top_k, top_p on, guided)


def test_a_job_is_over_at_its_last_done_so_a_later_death_or_stop_is_not_about_it(replies, tmp_path):
    """The worker reports each take's done, then the job's end: a death between the two (a
    SIGKILL, a power cut) must not tell the patch that a job it already has was lost."""
    import dataclasses

    from oscgen.config import with_overrides
    from oscgen.service.jobs import Job
    from oscgen.service.server import Daemon

    config = with_overrides(load_config(), port=0, out=str(tmp_path))
    config = dataclasses.replace(config, osc=dataclasses.replace(config.osc, reply_targets=(("127.0.0.1", replies.port),)))
    daemon = Daemon(config)  # not serving: the worker below is a stand-in that has just died

    class DeadWorker:
        pid, started_at = 4242, 0.0

        def exit_reason(self):
            return "killed by SIGKILL"

        def stop(self, timeout=0):
            pass

    try:
        jobs = daemon.jobs
        two_takes = Job(7, {**daemon.state.job_params(), "variations": 2})
        one_take = Job(8, daemon.state.job_params())
        jobs.batch += [one_take, two_takes]
        jobs.worker = worker = DeadWorker()
        jobs.on_event(("done", 8, str(tmp_path / "a.wav"), 0.5))  # job 8 has all it makes
        jobs.on_event(("done", 7, str(tmp_path / "b.wav"), 0.5))  # job 7: one take of two
        assert jobs.batch == [two_takes]  # job 8 left at its last done; a stop or cancel now is not about it
        since = replies.mark()
        jobs.on_worker_death(worker)
        first = replies.wait_for("/oscgen/error", since=since)  # job 8 (first in the batch) would come first
        assert first[0] == 7 and "job is lost" in first[1]
        jobs.worker = worker  # and with nothing running: the idle-death message
        since = replies.mark()
        jobs.on_worker_death(worker)
        assert replies.wait_for("/oscgen/error", since=since)[0] == -1
    finally:
        daemon.request_stop("test")
        daemon._shutdown()
