"""Shared by the patch tests: an OSC peer (the daemon tests' collector, read in order), the check of
OSC arguments against the daemon's table, and PdPatch, which runs the real patches/oscgen.pd
headless as an abstraction inside a three-box harness:

    [netreceive -u CTL]  ->  [oscgen DAEMON_PORT REPLY_PORT]  ->  [print EVENT]

The test drives the patch's inlet with FUDI messages over UDP (what a Pd user's own patch would
send it) and reads every reply the patch received from its outlet, printed on Pd's stderr."""

from __future__ import annotations

import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from oscgen.service import protocol
from tests._osc_helpers import OscCollector, free_udp_port
from _process import terminate

PATCHES = Path(__file__).resolve().parents[1] / "patches"

HARNESS = """#N canvas 0 0 450 300 12;
#X obj 10 10 netreceive -u {ctl};
#X obj 10 40 oscgen {port} {reply};
#X obj 10 70 print EVENT;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
"""

INBOUND = {a.path: a.args for a in protocol.INBOUND}
PY_TYPES = {"f": float, "i": int, "s": str}


def conforms(address: str, args) -> bool:
    """Do these arguments have exactly the OSC types the daemon's table lists for the address?
    ``[x]`` optional, ``a|b`` either, ``s...`` one or more atoms (the daemon joins them)."""
    spec = INBOUND[address]
    if spec.startswith("["):
        spec = spec.strip("[]")
        if len(args) == 0:
            return True
    if spec == "s...":
        return len(args) >= 1 and all(type(a) in (str, int, float) for a in args)
    if "|" in spec:
        return len(args) == 1 and any(type(args[0]) is PY_TYPES[t] for t in spec.split("|"))
    return len(args) == len(spec) and all(type(a) is PY_TYPES[t] for a, t in zip(args, spec))


class OscPeer(OscCollector):
    """The daemon's test collector (a real UDP socket recording every message), read in order:
    next() is the message after the last one read, so a test sees exactly what a patch sent."""

    def __init__(self, port: int = 0):
        super().__init__(port=port)
        self._read = 0

    def next(self, timeout: float = 20.0) -> tuple[str, tuple]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) <= self._read:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("nothing arrived")
                self._cond.wait(left)
            address, args = self.messages[self._read]
            self._read += 1
        return address, tuple(args)

    def until(self, address: str) -> list[tuple[str, tuple]]:
        """Every message up to and including the next one at this address."""
        seen = []
        while True:
            seen.append(self.next())
            if seen[-1][0] == address:
                return seen


def pd_binary() -> str:
    pd = shutil.which("pd")
    assert pd, "Pure Data not found: install it (Debian: apt install puredata-core; setup.sh does)"
    return pd


def split_pd_atoms(text: str) -> list[str]:
    """Pd prints a symbol's spaces escaped ('dark\\ drone'); split on the unescaped ones only."""
    return [a.replace("\\ ", " ").replace("\\,", ",") for a in re.split(r"(?<!\\) ", text.strip())]


class PdPatch:
    def __init__(self, tmp_path: Path, daemon_port: int, reply_port: int):
        self.ctl_port = free_udp_port()
        harness = tmp_path / "harness.pd"
        harness.write_text(HARNESS.format(ctl=self.ctl_port, port=daemon_port, reply=reply_port))
        self.proc = subprocess.Popen(
            [pd_binary(), "-nogui", "-noaudio", "-stderr", "-path", str(PATCHES), "-open", str(harness)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.log: list[str] = []  # every line Pd printed, for failure messages
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # the patch prints where it sends once its loadbang has run: from then on it listens
        self.wait_line(lambda line: line.startswith("oscgen-sending-to:"))

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))
            self._lines.put(line.rstrip("\n"))

    def send(self, message: str) -> None:
        """One FUDI message into the abstraction's inlet, e.g. 'temperature 0.7'."""
        self._ctl.sendto(f"{message};\n".encode(), ("127.0.0.1", self.ctl_port))

    def wait_line(self, predicate, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError("Pd never printed the expected line; it printed:\n" + "\n".join(self.log))
            try:
                line = self._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if predicate(line):
                return line

    def wait_event(self, kind: str, timeout: float = 30.0) -> list[str]:
        """The next reply of this kind that came out of the patch's outlet, as atoms."""
        line = self.wait_line(lambda l: l.startswith(f"EVENT: {kind}"), timeout)
        return split_pd_atoms(line[len("EVENT: "):])

    def close(self) -> None:
        self._ctl.close()
        terminate(self.proc)
