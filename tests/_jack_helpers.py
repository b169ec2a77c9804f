"""Real MIDI without hardware for the tests: a private `jackd -d dummy` server (Debian jackd2)
and python-rtmidi's JACK API.  Imported by the MIDI end-to-end tests."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from _process import terminate

_counter = itertools.count()


def jack_missing() -> str | None:
    """Why the JACK MIDI tests cannot run here, or None when they can."""
    if shutil.which("jackd") is None or shutil.which("jack_wait") is None:
        return "jackd/jack_wait not installed (Debian: apt-get install jackd2)"
    try:
        import rtmidi
    except ImportError as exc:
        return f"python-rtmidi not importable: {exc}"
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        return "this python-rtmidi build has no JACK support"
    return None


class JackServer:
    """`jackd -d dummy` under a unique server name; `env` points clients (and subprocesses) at it."""

    def __init__(self, name: str | None = None):
        self.name = name or f"oscgen-test-{os.getpid()}-{next(_counter)}"
        self.env = {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}
        self._log = tempfile.TemporaryFile()
        # -p 256: short periods, so MIDI moves through the graph every ~5 ms
        self.proc = subprocess.Popen(["jackd", "-n", self.name, "-d", "dummy", "-r", "48000", "-p", "256"],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        waited = subprocess.run(["jack_wait", "-s", self.name, "-w", "-t", "20"], env=self.env,
                                capture_output=True, text=True)
        if waited.returncode != 0 or self.proc.poll() is not None:
            log = self.log()
            self.stop()
            raise RuntimeError(f"jackd -d dummy did not start ({waited.stdout.strip()}):\n{log}")

    def __enter__(self) -> "JackServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def connections(self) -> str:
        return subprocess.run(["jack_lsp", "-c"], env=self.env, capture_output=True, text=True).stdout

    def stop(self) -> None:
        terminate(self.proc)
        # jackd2 leaves a semaphore file per client of a server that is gone
        for path in glob.glob(f"/dev/shm/jack_sem.*_{glob.escape(self.name)}_*"):
            try:
                os.unlink(path)
            except OSError:
                pass


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Sender:
    """A MIDI output on the JACK server: a virtual port named like a controller (for the daemon
    to find by substring) or a connection to a named input port (the daemon's virtual port)."""

    def __init__(self, client: str, *, virtual: str | None = None, connect_to: str | None = None):
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, client)
        if virtual is not None:
            self.out.open_virtual_port(virtual)
        else:
            ports = wait_for(lambda: [p for p in self.out.get_ports() if connect_to in p],
                             what=f"a JACK MIDI input port named like {connect_to!r}")
            self.out.open_port(self.out.get_ports().index(ports[0]))

    def send(self, message) -> None:
        self.out.send_message(message.bytes())

    def send_until(self, message, received, timeout=10.0) -> None:
        """Send an idempotent message (a CC) until `received()` says it arrived: a JACK
        connection carries data only from the next process cycle on, with no signal when."""
        deadline = time.monotonic() + timeout
        while not received():
            if time.monotonic() > deadline:
                raise AssertionError(f"{message} never arrived over JACK within {timeout:g} s")
            self.send(message)
            time.sleep(0.05)

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()
