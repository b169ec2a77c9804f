"""Test helpers for anything that talks to a real ``oscgen serve`` over real UDP sockets:
a free port, an OSC collector (a UDP server thread recording every message), an OSC sender,
and the daemon as a subprocess.  Used by the daemon, MIDI and patches tests.

    with OscCollector() as replies, DaemonProcess(tmp_path, replies) as daemon:
        daemon.client.send("/oscgen/ping")
        replies.wait_for("/oscgen/pong")
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

REPO = Path(__file__).resolve().parent.parent


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nothing listens on right now (prefer passing port 0 where a program can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class OscCollector:
    """A UDP socket on 127.0.0.1 in a thread, recording every OSC message: (address, args)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.messages: list[tuple[str, list]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                return
            try:
                found = list(_messages(data))
            except Exception as exc:  # a malformed reply is a test failure, not a crash
                found = [("<malformed>", [repr(exc), data])]
            with self._cond:
                self.messages.extend(found)
                self._cond.notify_all()

    def mark(self) -> int:
        """An index to pass as ``since`` so that only later messages count."""
        with self._cond:
            return len(self.messages)

    def received(self, address: str | None = None, since: int = 0) -> list[list]:
        """Argument lists of the messages to ``address`` (all messages' (address, args) if None)."""
        with self._cond:
            msgs = self.messages[since:]
        if address is None:
            return list(msgs)
        return [args for a, args in msgs if a == address]

    def wait_for(self, address: str, predicate=None, timeout: float = 30.0, since: int = 0) -> list:
        """The args of the first message to ``address`` (after ``since``) for which
        ``predicate(args)`` holds; AssertionError listing what did arrive after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for a, args in self.messages[since:]:
                    if a == address and (predicate is None or predicate(args)):
                        return args
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n  ".join(f"{a} {args}" for a, args in self.messages[since:][-30:])
                    raise AssertionError(f"no {address} within {timeout} s; received:\n  {got}")
                self._cond.wait(left)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _messages(data: bytes):
    if OscBundle.dgram_is_bundle(data):
        for content in OscBundle(data):
            yield from (_messages(content.dgram) if isinstance(content, OscBundle) else [(content.address, list(content.params))])
    else:
        message = OscMessage(data)
        yield message.address, list(message.params)


class OscSender:
    """python-osc's UDP client, plus raw datagrams (malformed packets, hand-built bundles)."""

    def __init__(self, host: str, port: int):
        self.client = SimpleUDPClient(host, port)
        self.address = (host, port)

    def send(self, address: str, *args) -> None:
        self.client.send_message(address, list(args))

    def send_raw(self, data: bytes) -> None:
        self.client._sock.sendto(data, self.address)


@pytest.fixture
def replies():
    """An OscCollector for the daemon's replies (import this name into a test module to use it)."""
    with OscCollector() as collector:
        yield collector


def permission_checked_prefix() -> list[str]:
    """A command prefix under which file permissions apply, also to root.

    CI runs as root, for whom a read-only folder is writable.  Dropping CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set keeps uid 0 (so the root-owned checkout, venv and
    caches stay readable) but makes mode bits count.  Empty when not root; pytest.skip when root
    cannot drop them (no setpriv)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): cannot make permissions apply")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


class DaemonProcess:
    """``python -m oscgen serve`` on a free port of 127.0.0.1, replying to ``collector``'s port,
    writing into ``tmp_path/out``; its stderr is collected line by line (``wait_log``)."""

    def __init__(self, tmp_path: Path, collector: OscCollector, *extra: str, config: str | None = None,
                 model: str = "tiny-random", out: Path | None = None, env: dict | None = None,
                 honour_permissions: bool = False):
        self.out = out if out is not None else tmp_path / "out"
        cmd = [*(permission_checked_prefix() if honour_permissions else []), sys.executable, "-m", "oscgen", "serve", "--port", "0", "--reply-port", str(collector.port),
               "--out", str(self.out), "--model", model]
        if config is not None:
            config_path = tmp_path / "oscgen-test.toml"
            config_path.write_text(config)
            cmd += ["--config", str(config_path)]
        cmd += list(extra)
        run_env = dict(os.environ)
        run_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), run_env.get("PYTHONPATH", "")) if p)
        run_env.update(env or {})
        self.collector = collector
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=run_env, cwd=tmp_path)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            match = self.wait_log(r"listening on \S+:(\d+)", timeout=60)
        except AssertionError:
            self.proc.kill()
            self.proc.wait()
            raise
        self.port = int(match.group(1))
        self.client = OscSender("127.0.0.1", self.port)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_log(self, pattern: str, timeout: float = 30.0, since: int = 0) -> re.Match:
        """The first stderr line (from index ``since``) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and self.proc.stderr.closed):
                    raise AssertionError(f"no log line /{pattern}/ within {timeout} s; stderr:\n" + "\n".join(self.lines[-40:]))
                self._cond.wait(min(left, 0.5))

    def log_mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def wait_ready(self, timeout: float = 180.0) -> list:
        """Registers the collector as a client (/oscgen/status) and waits for /oscgen/ready."""
        since = self.collector.mark()
        self.client.send("/oscgen/status")
        return self.collector.wait_for("/oscgen/ready", timeout=timeout, since=since)

    def worker_pid(self, since: int = 0) -> int:
        return int(self.wait_log(r"worker pid (\d+) starting", since=since).group(1))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"oscgen serve did not exit within {timeout} s of {signal.Signals(sig).name}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


def wav_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav"))


def hidden_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []
