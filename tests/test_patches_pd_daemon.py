"""Pure Data end to end: the real patches/oscgen.pd, headless, drives a real ``oscgen serve``
(tiny random-weight model) over 127.0.0.1 UDP until a WAV is on disk and back in the patch."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from tests._osc_helpers import DaemonProcess, OscCollector, free_udp_port
from tests._patch_helpers import PdPatch


def test_the_patch_drives_a_real_daemon_to_a_finished_wav(tmp_path):
    """The whole chain: Pd patch -> oscgen serve (tiny model) -> WAV on disk -> the patch hears
    /oscgen/done and loads the file into its preview table."""
    pd_reply_port = free_udp_port()
    # the patch listens on its own port: the daemon reaches it as a configured reply target
    # (a second laptop on stage looks the same), while the test's collector gets the same replies
    config = f'[osc]\nreply_targets = ["127.0.0.1:{pd_reply_port}"]\n'
    with OscCollector() as replies, DaemonProcess(tmp_path, replies, config=config) as daemon:
        daemon.wait_ready()
        patch = PdPatch(tmp_path, daemon.port, pd_reply_port)
        try:
            # on load the patch asked for /oscgen/status: the daemon answers with its knobs and ready
            assert patch.wait_event("ready", timeout=60)[1] == "tiny-random"
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
        finally:
            patch.close()
