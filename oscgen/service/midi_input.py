"""MIDI input ports for the daemon: a virtual port other software sends to, and/or a hardware
port chosen by a substring of its name, kept open across unplug/replug.

python-rtmidi is used directly for the ports (mido's rtmidi backend opens a new client per port
listing, which would flicker in every JACK/ALSA patchbay at our 1 s poll, and forces a virtual
port whenever a client name is given); `mido.Message` parses what arrives.  rtmidi calls back on
its own (for JACK: realtime) thread, so the callback only queues the bytes; a dispatcher thread
hands `(mido.Message, time)` to the daemon's handler.

Backends: ALSA sequencer and JACK on Linux (the PyPI wheel has both compiled in), CoreMIDI on
macOS, Windows MM.  `api = "auto"` picks ALSA when /dev/snd/seq is usable, else a running JACK
server; `OSCGEN_MIDI_API` overrides the config.  With no backend or no port the daemon logs one
warning and keeps serving OSC; the watcher thread notices when the backend or port appears.
"""

from __future__ import annotations

import glob
import logging
import os
import queue
import sys
import threading
import time
from typing import Callable

import mido

log = logging.getLogger("oscgen.midi")

API_ENV = "OSCGEN_MIDI_API"
API_CHOICES = ("auto", "alsa", "jack", "coremidi", "windows")


class MidiUnavailable(RuntimeError):
    """No usable MIDI backend; the message says why and what to do."""


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # a broken install: the wheel or its libasound is missing
        raise MidiUnavailable(f"python-rtmidi cannot be imported ({exc}); "
                              "install it with `pip install python-rtmidi`") from exc
    return rtmidi


def _api_ids(rtmidi) -> dict[str, int]:
    return {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK,
            "coremidi": rtmidi.API_MACOSX_CORE, "windows": rtmidi.API_WINDOWS_MM}


def jack_server_name() -> str:
    return os.environ.get("JACK_DEFAULT_SERVER") or "default"


def _jack_server_running() -> bool:
    """jackd2 on Linux listens on /dev/shm/jack_<server>_<uid>_0; checking for it keeps libjack
    from printing its connection errors on every poll while no server runs.  Elsewhere: try."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"):
        return True
    return bool(glob.glob(f"/dev/shm/jack_{glob.escape(jack_server_name())}_*_0"))


def _alsa_seq_usable() -> bool:
    return os.access("/dev/snd/seq", os.R_OK | os.W_OK)


def resolve_api(requested: str | None = None) -> tuple[str, int]:
    """The backend to use, as (name, rtmidi API id); `OSCGEN_MIDI_API` wins over `requested`.
    Raises MidiUnavailable saying why none can be used."""
    choice = (os.environ.get(API_ENV) or requested or "auto").strip().lower()
    if choice not in API_CHOICES:
        source = API_ENV if os.environ.get(API_ENV) else "midi.api"
        raise ValueError(f"{source} = {choice!r}: expected one of {', '.join(API_CHOICES)}")
    rtmidi = _rtmidi()
    ids = _api_ids(rtmidi)
    compiled = set(rtmidi.get_compiled_api())

    def usable(name):
        if ids[name] not in compiled:
            return f"python-rtmidi was built without {name.upper()} support"
        if name == "alsa" and not _alsa_seq_usable():
            return "no ALSA sequencer (/dev/snd/seq missing or not accessible; `modprobe snd-seq`?)"
        if name == "jack" and not _jack_server_running():
            return f"no JACK server named {jack_server_name()!r} is running"
        return None

    if choice != "auto":
        reason = usable(choice)
        if reason:
            raise MidiUnavailable(reason)
        return choice, ids[choice]
    candidates = {"darwin": ["coremidi"], "win32": ["windows"]}.get(sys.platform, ["alsa", "jack"])
    reasons = []
    for name in candidates:
        reason = usable(name)
        if reason is None:
            return name, ids[name]
        reasons.append(reason)
    raise MidiUnavailable("; ".join(reasons))


def list_ports(api: str | None = None) -> tuple[str, list[str]]:
    """(backend name, input port names) — what `oscgen midi-ports` prints."""
    name, api_id = resolve_api(api)
    rt = _rtmidi().MidiIn(api_id, "oscgen-list")
    try:
        return name, rt.get_ports()
    finally:
        rt.delete()


def find_port(names: list[str], wanted: str) -> str | None:
    """The first port whose name contains `wanted` (case-insensitive)."""
    wanted = wanted.casefold()
    return next((n for n in names if wanted in n.casefold()), None)


class MidiInput:
    """Opens the configured ports in a watcher thread and delivers messages to `handler`.

    `handler(message, now)` runs on the dispatcher thread with `now` = time.monotonic() at
    arrival.  `start()` returns at once; nothing here ever raises into the daemon."""

    def __init__(self, handler: Callable[[mido.Message, float], None], *, port: str = "",
                 virtual: str = "oscgen", api: str = "auto", poll: float = 1.0):
        """`port`: substring of a hardware input's name ("" = none); `virtual`: name of the
        virtual input port to open ("" = none), also our client name."""
        self.handler = handler
        self.port, self.virtual, self.api = port, virtual, api
        self.name = virtual or "oscgen"
        self.poll = poll
        self.backend: str | None = None  # "alsa", "jack", ... once one is up
        self.opened: str | None = None  # name of the hardware port we are connected to
        self._api_id = None
        self._virtual_rt = None  # rtmidi.MidiIn with our virtual port
        self._port_rt = None  # rtmidi.MidiIn that lists ports and connects to `port`
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._warned: set[str] = set()  # one warning per kind of trouble until it clears

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> "MidiInput":
        for target, label in ((self._watch, "midi-watch"), (self._dispatch, "midi-dispatch")):
            t = threading.Thread(target=target, name=label, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        self._drop()

    # threads -----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            now, data = item
            try:
                message = mido.Message.from_bytes(data)
            except ValueError:  # a stray or partial message from a misbehaving device
                continue
            try:
                self.handler(message, now)
            except Exception:  # a bug in handling one message must not end MIDI input
                log.exception("MIDI: handling %s failed", message)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # keep watching: the next poll may find things fixed
                self._warn("watch", f"MIDI: {exc}")
                self._drop()
            self._stop.wait(self.poll)

    def _on_bytes(self, event, _data=None) -> None:
        # rtmidi's thread (realtime under JACK): stamp and queue, nothing else
        self._queue.put((time.monotonic(), event[0]))

    # state -------------------------------------------------------------------------------
    def _warn(self, kind: str, text: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning(text)

    def _clear(self, kind: str) -> None:
        self._warned.discard(kind)

    def _new_client(self, client: str):
        rt = _rtmidi().MidiIn(self._api_id, client)
        rt.ignore_types(sysex=True, timing=False, active_sense=True)  # keep clock, drop the rest
        return rt

    def check(self) -> None:
        """One watcher pass: bring up the backend and ports that are missing, drop vanished ones."""
        if self.backend is None:
            try:
                self.backend, self._api_id = resolve_api(self.api)
            except MidiUnavailable as exc:
                self._warn("backend", f"MIDI: no MIDI input ({exc}); OSC keeps working, "
                                      "MIDI starts when the backend appears")
                return
            self._clear("backend")
            log.info("MIDI: using %s", self.backend.upper())
        elif self.backend == "jack" and not _jack_server_running():
            self._warn("backend", f"MIDI: JACK server {jack_server_name()!r} went away; waiting for it")
            self._drop()
            return

        if self.virtual and self._virtual_rt is None:
            rt = self._new_client(self.name)
            try:
                rt.open_virtual_port(self.virtual)
            except Exception as exc:  # Windows MM has no virtual ports
                rt.delete()
                self._warn("virtual", f"MIDI: cannot open a virtual port on {self.backend}: {exc}")
            else:
                rt.set_callback(self._on_bytes)
                self._virtual_rt = rt
                log.info("MIDI: virtual input port %r open (send to it from a DAW)", self.virtual)

        if self.port:
            self._follow_port()

    def _follow_port(self) -> None:
        if self._port_rt is None:
            self._port_rt = self._new_client(f"{self.name}-in")
        names = self._port_rt.get_ports()
        if self.opened is not None and self.opened not in names:
            log.warning("MIDI: input port %r went away; waiting for it to come back", self.opened)
            self._port_rt.cancel_callback()
            self._port_rt.close_port()
            self.opened = None
            self._warned.add("port")  # said it just now; no second "no port matching" line
        if self.opened is None:
            match = find_port(names, self.port)
            if match is None:
                self._warn("port", f"MIDI: no input port matching {self.port!r} "
                                   f"(there are: {', '.join(names) or 'none'}); waiting for it")
                return
            self._port_rt.open_port(names.index(match), "in")
            self._port_rt.set_callback(self._on_bytes)
            self.opened = match
            self._clear("port")
            log.info("MIDI: listening to %r", match)

    def _drop(self) -> None:
        """Forget every rtmidi client (backend gone, or shutting down)."""
        for attr in ("_virtual_rt", "_port_rt"):
            rt = getattr(self, attr)
            setattr(self, attr, None)
            if rt is not None:
                try:
                    rt.cancel_callback()
                    rt.close_port()
                    rt.delete()
                except Exception:  # a client of a dead JACK server may not close cleanly
                    pass
        self.backend = None
        self.opened = None
