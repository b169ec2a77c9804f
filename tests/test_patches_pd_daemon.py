"""Pure Data end to end: the real patches/oscgen.pd, headless, drives a real ``oscgen serve``
(tiny random-weight model) over 127.0.0.1 UDP until a WAV is on disk and back in the patch."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile as sf

from tests._osc_helpers import DaemonProcess, OscCollector, free_udp_port
from tests._patch_helpers import PdPatch


@contextmanager
def daemon_replying_to_the_patch(tmp_path, how):
    """oscgen serve, and the port the patch listens on for its replies."""
    pd_reply_port = free_udp_port()
    if how == "reply port":
        # the everyday set-up: replies go to the sender's computer on the daemon's reply port,
        # which is the port the patch listens on (the daemon only needs its number)
        with DaemonProcess(tmp_path, SimpleNamespace(port=pd_reply_port)) as daemon:
            yield daemon, pd_reply_port
    else:
        # the patch listens on a port of its own, reached as a configured reply target (a second
        # laptop on stage looks the same); the test's collector gets the same replies
        config = f'[osc]\nreply_targets = ["127.0.0.1:{pd_reply_port}"]\n'
        with OscCollector() as replies, DaemonProcess(tmp_path, replies, config=config) as daemon:
            daemon.wait_ready()
            yield daemon, pd_reply_port


@pytest.mark.parametrize("how", ["reply port", "reply target"])
def test_the_patch_drives_a_real_daemon_to_a_finished_wav(tmp_path, how):
    """The whole chain: Pd patch -> oscgen serve (tiny model) -> WAV on disk -> the patch hears
    /oscgen/done and loads the file into its preview table."""
    with daemon_replying_to_the_patch(tmp_path, how) as (daemon, pd_reply_port):
        patch = PdPatch(tmp_path, daemon.port, pd_reply_port)
        try:
            # on load the patch asked for /oscgen/status: the daemon answers with its knobs, and
            # with ready once its worker is warm
            assert patch.wait_event("ready", timeout=180)[1] == "tiny-random"
            frames = 25  # 0.5 s at 50 frames per second
            for control, echo in [
                ("prompt warm analog synth", ["param", "prompt", "warm analog synth"]),
                ("duration 0.5", ["param", "duration", "0.5"]),
                ("seed 7", ["param", "seed", "7"]),
            ]:
                patch.send(control)
                assert patch.wait_event(f"param {echo[1]}") == echo
            patch.send("generate")
            job = patch.wait_event("queued")[1]
            done = patch.wait_event("done", timeout=180)
            assert done[1] == job
            path = Path(done[2])
            assert path.parent == daemon.out and path.is_file()
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.frames) == (32000, 1, frames * 640)
            # the patch read that very file into its preview table
            assert patch.wait_event("preview") == ["preview", str(frames * 640), "32000"]
            progress = [float(line.split()[-1]) for line in patch.log if line.startswith("EVENT: progress")]
            assert progress == sorted(progress) and progress[-1] == 1.0
            assert not [line for line in patch.log if line.startswith("EVENT: error")], patch.log
            # a value the daemon refuses comes back as an error the patch shows
            patch.send("temperature 0")
            error = patch.wait_event("error")
            assert error[1] == "-1" and "temperature" in error[2], error
            if how == "reply port":
                continue_and_stop_from_the_patch(patch, path, frames)
        finally:
            patch.close()


def continue_and_stop_from_the_patch(patch, last: Path, frames: int) -> None:
    """The continue button continues the last take; stop_job ends a take early and the WAV of
    what was made still arrives."""
    patch.send("continue")
    job = patch.wait_event("queued")[1]
    done = patch.wait_event("done", timeout=180)
    assert done[1] == job
    assert sf.info(done[2]).frames == 2 * frames * 640  # the whole 0.5 s take, then 0.5 s of new music
    assert json.loads(Path(done[2]).with_suffix(".json").read_text())["continued_from"] == str(last)

    patch.send("duration 20")
    patch.wait_event("param duration")
    patch.send("generate")
    job = patch.wait_event("queued")[1]
    patch.wait_line(lambda line: line.startswith(f"EVENT: progress {job} ") and float(line.split()[-1]) >= 0.2,
                    timeout=180)
    patch.send("stop_job")
    done = patch.wait_event("done", timeout=180)
    assert done[1] == job
    made = sf.info(done[2]).frames
    assert 0 < made < 20 * 32000 * 0.9 and made % 640 == 0
    assert json.loads(Path(done[2]).with_suffix(".json").read_text())["stopped"] is True
