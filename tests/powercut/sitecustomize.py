"""Loaded by every Python process started with this folder on PYTHONPATH (the daemon under
test and its spawned worker): when OSCGEN_TEST_HOLD names a folder, the Nth ``os.link`` into it
(OSCGEN_TEST_HOLD_AT, 1 = the WAV's publish, 2 = the sidecar's) first writes ``.held`` beside
the test and then blocks forever, so that the test can SIGKILL the processes at exactly that
point of a publish, as a power cut would."""

import os
import time

_folder = os.environ.get("OSCGEN_TEST_HOLD")
if _folder:
    _real_link = os.link
    _at = int(os.environ.get("OSCGEN_TEST_HOLD_AT", "1"))
    _count = [0]

    def _link(src, dst, *args, **kwargs):
        if os.path.dirname(os.path.abspath(dst)) == os.path.abspath(_folder):
            _count[0] += 1
            if _count[0] == _at:
                with open(os.path.join(_folder, "..", ".held"), "w") as f:
                    f.write(f"{os.getpid()} {dst}\n")
                while True:
                    time.sleep(60)
        return _real_link(src, dst, *args, **kwargs)

    os.link = _link
