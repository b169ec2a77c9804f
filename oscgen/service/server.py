"""``oscgen serve``: the OSC server, the job queue and the worker's supervisor, in one loop.

One thread owns the UDP socket and waits (``select``) on it, the worker's pipe and process
sentinel, and a wake-up pipe (signals, MIDI).  Every OSC packet is parsed here (bundles are run
at once, in order, whatever their timetag; a malformed packet gets an ``/oscgen/error`` and is
dropped), so nothing a client sends can stall the loop.  Generation happens in the worker
process (``worker.py``); this process stays light and answers ping while a job runs.

For the MIDI side (``oscgen/service/midi.py``, started here if it exists and [midi] is
enabled): ``midi.start(config.midi, daemon)`` may return an object with ``close()``; it drives
the daemon through the thread-safe methods ``set_knob``, ``load_preset``, ``submit``,
``cancel``, ``broadcast`` and ``register`` (an extra inbound OSC address, e.g. /oscgen/learn).
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import logging
import os
import re
import select
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from oscgen.audio import remove_temps
from oscgen.config import Config
from oscgen.knobs import KNOBS, format_atom
from oscgen.service.protocol import PREFIX, inbound_paths
from oscgen.service.state import State
from oscgen.service.worker import Worker

log = logging.getLogger("oscgen")

CANCEL_GRACE_S = 10.0  # a job that ignores cancel this long (e.g. stuck loading) gets its worker killed
SHUTDOWN_GRACE_S = 10.0
RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # after quick successive deaths
MAX_CLIENTS = 64


class ErrorRateLimit:
    """Per-host token bucket for error replies: a burst of ``burst``, then ``per_second``.

    ``allow(host)`` is None when this error should not be answered, else how many were dropped
    since the last one answered (so the reply can say so)."""

    def __init__(self, burst: int = 20, per_second: float = 5.0, max_hosts: int = MAX_CLIENTS):
        self.burst, self.per_second, self.max_hosts = burst, per_second, max_hosts
        self._buckets: dict[str, list] = {}  # host -> [tokens, last refill time, dropped]

    def allow(self, host: str, now: float | None = None) -> int | None:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(host, None) or [float(self.burst), now, 0]
        self._buckets[host] = bucket  # most recent last, so the oldest host is evicted first
        while len(self._buckets) > self.max_hosts:
            self._buckets.pop(next(iter(self._buckets)))
        bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.per_second)
        bucket[1] = now
        if bucket[0] < 1.0:
            bucket[2] += 1
            return None
        bucket[0] -= 1.0
        dropped, bucket[2] = bucket[2], 0
        return dropped

    def exhausted(self, host: str) -> bool:
        """True when the next error from ``host`` would not be answered."""
        bucket = self._buckets.get(host)
        return bucket is not None and bucket[0] < 1.0


@dataclass
class Job:
    id: int
    params: dict  # State.job_params(): generate()'s arguments + bars/bpm/preset for the sidecar
    cancel_deadline: float | None = None  # set by cancel: past it, the worker is killed
    last_progress: float = -1.0  # last fraction sent, to thin progress to ~1% steps


class Daemon:
    def __init__(self, config: Config, verbose: bool = False):
        self.config = config
        self.verbose = verbose
        self.state = State(config.defaults, config.presets, config.beats_per_bar)
        self.tag = f"oscgen{os.getpid()}-"  # in our temp file names, to clean up only our own
        self._lock = threading.RLock()
        self._queue: deque[Job] = deque()
        self._running: Job | None = None
        self._next_id = 1
        self._clients: dict[tuple[str, int], float] = {}
        self._extra_handlers: dict = {}
        self._worker: Worker | None = None
        self._worker_state = "starting"
        self._warm_model: str | None = None
        self._warm_note = ""
        self._load_error = ""
        self._ever_warm = False  # the tiny fallback applies only before any model was warm
        self._quick_deaths = 0
        self._restart_at: float | None = None
        self._stop_reason: str | None = None
        self._midi = None
        self._allowed = self._parse_allowed(config.osc.allowed_hosts)
        self._targets = [self._resolve(h, p) for h, p in config.osc.reply_targets]
        self._error_limit = ErrorRateLimit()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.sock = self._bind(config.osc.host, config.osc.port)
        self.port = self.sock.getsockname()[1]

    # --- public, thread-safe API (OSC handlers and MIDI use the same) --------------------------

    def set_knob(self, name: str, value, source: str = "midi", reply_to=None):
        """Change one knob; echoes go to every client.  On a bad value: /oscgen/error (to
        ``reply_to`` or everyone) and None; else the echoes [(knob, value), ...]."""
        with self._lock:
            try:
                echoes = self.state.set_knob(name, value, source)
            except ValueError as exc:
                self._error(-1, f"{PREFIX}/{name}: {exc}", reply_to)
                return None
            log.info("%s: %s", source, ", ".join(f"{k}={_show(v)}" for k, v in echoes))
            self._echo(echoes)
            if name == "model":
                self._load_model(echoes[0][1])
            return echoes

    def load_preset(self, ref, source: str = "midi", reply_to=None):
        """Set the knobs from a preset (number from 0, or name); echoes + /oscgen/preset."""
        with self._lock:
            old_model = self.state.get("model")
            try:
                index, preset, echoes = self.state.load_preset(ref)
            except ValueError as exc:
                self._error(-1, f"{PREFIX}/preset: {exc}", reply_to)
                return None
            log.info("%s: preset %d %r", source, index, preset.name)
            self._echo(echoes)
            self.broadcast(f"{PREFIX}/preset", index, preset.name)
            if self.state.get("model") != old_model:
                self._load_model(self.state.get("model"))
            return echoes

    def submit(self, overrides: dict | None = None, preset=None, prompt: str | None = None, source: str = "midi", reply_to=None):
        """Queue a job with the current knobs (then the preset's, then ``overrides``, then
        ``prompt``), without changing the knobs.  Returns the job id, or None after an
        /oscgen/error (bad values, no prompt, queue full)."""
        with self._lock:
            if self._stop_reason:
                self._error(-1, "the daemon is shutting down", reply_to)
                return None
            try:
                params = self.state.job_params(prompt=prompt, overrides=overrides, preset=preset)
            except ValueError as exc:
                self._error(-1, f"{PREFIX}/generate: {exc}", reply_to)
                return None
            busy = self._running is not None or self._queue
            if busy and len(self._queue) >= self.config.queue_length:
                self._error(
                    -1,
                    f"queue full: {len(self._queue)} jobs waiting behind job {self._running.id if self._running else '?'} "
                    f"([queue] length = {self.config.queue_length}); cancel one or wait",
                    reply_to,
                )
                return None
            job = Job(self._next_id, params)
            self._next_id += 1
            self._queue.append(job)
            log.info(
                "job %d queued by %s: %r, %.2f s, %s, seed %s",
                job.id, source, params["prompt"], params["duration"], params["model"],
                "random" if params["seed"] is None else params["seed"],
            )
            self.broadcast(f"{PREFIX}/queued", job.id, len(self._queue) - 1)
            self._dispatch()
            return job.id

    def cancel(self, job_id: int | None = None, source: str = "midi", reply_to=None) -> bool:
        """Cancel a queued job, or the running one (job_id None or -1 = the running job)."""
        with self._lock:
            if job_id is None or job_id == -1:
                if self._running is None:
                    self._error(-1, f"{PREFIX}/cancel: no job is running", reply_to)
                    return False
                job_id = self._running.id
            for job in self._queue:
                if job.id == job_id:
                    self._queue.remove(job)
                    log.info("job %d cancelled by %s before it started", job_id, source)
                    self.broadcast(f"{PREFIX}/cancelled", job_id)
                    return True
            if self._running is not None and self._running.id == job_id:
                if self._running.cancel_deadline is None:
                    log.info("job %d: cancel requested by %s", job_id, source)
                    self._running.cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                    if self._worker is not None:
                        self._worker.cancel(job_id)
                self._wake()
                return True
            self._error(job_id, f"{PREFIX}/cancel: no job {job_id} waiting or running", reply_to)
            return False

    def broadcast(self, address: str, *args) -> None:
        """Send to every known client and the configured targets."""
        self._send(self._everyone(), address, args)

    def reply(self, sender, address: str, *args) -> None:
        """Send to the client that sent a message (its host, the reply port) and the targets."""
        self._send(self._reply_dests(sender), address, args)

    def register(self, address: str, handler) -> None:
        """Handle an extra inbound address: ``handler(args: list, sender)`` runs in the OSC
        thread under the daemon's lock.  (MIDI registers /oscgen/learn.)"""
        with self._lock:
            self._extra_handlers[address] = handler

    def request_stop(self, reason: str) -> None:
        """Thread- and signal-safe: the loop finishes the shutdown."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._wake()

    # --- the loop ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        self._remove_stale_temps()
        try:
            self.config.output.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("output folder %s cannot be created (%s); jobs will fail until it can", self.config.output.folder, exc.strerror or exc)
        log.info(
            "listening on %s:%d (replies to port %d%s), writing to %s",
            self.config.osc.host, self.port, self.config.osc.reply_port,
            "".join(f", {h}:{p}" for h, p in self.config.osc.reply_targets), self.config.output.folder,
        )
        if self._allowed is not None and not all(net.is_loopback for net in self._allowed):
            log.info("answering only %s ([osc] allowed_hosts)", ", ".join(self.config.osc.allowed_hosts))
        elif self._allowed is not None and self.config.osc.host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("listening on %s but [osc] allowed_hosts lets only this computer in", self.config.osc.host)
        self._start_worker()
        self._start_midi()
        try:
            while not self._stop_reason:
                try:
                    self._step()
                except Exception:  # a bug must cost one event, not the performance
                    log.exception("internal error; carrying on")
        finally:
            self._shutdown()

    def _step(self) -> None:
        waits = [self.sock, self._wake_r]
        worker = self._worker
        if worker is not None:
            waits += [worker.conn, worker.process.sentinel]
        readable, _, _ = select.select(waits, [], [], self._timeout())
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        if self.sock in readable:
            self._receive()
        if worker is not None and (worker.conn in readable or worker.process.sentinel in readable):
            self._drain_worker(worker)
        self._timers()

    def _timeout(self) -> float:
        deadlines = [t for t in (self._restart_at, self._running and self._running.cancel_deadline) if t]
        if not deadlines:
            return 1.0
        return max(0.0, min(min(deadlines) - time.monotonic(), 1.0))

    def _timers(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._restart_at is not None and now >= self._restart_at:
                self._restart_at = None
                self._start_worker()
            job = self._running
            if job and job.cancel_deadline and now >= job.cancel_deadline and self._worker is not None:
                log.warning("job %d ignored cancel for %.0f s; killing the worker", job.id, CANCEL_GRACE_S)
                job.cancel_deadline = float("inf")  # once; still marks the job as being cancelled
                self._worker.process.kill()  # reported as cancelled when the sentinel fires

    # --- OSC in --------------------------------------------------------------------------------

    def _receive(self) -> None:
        try:
            data, sender = self.sock.recvfrom(65536)
        except OSError:
            return
        if not self._is_allowed(sender[0]):
            log.warning("dropped a packet from %s (not in [osc] allowed_hosts)", sender[0])
            return
        try:
            messages = _parse(data)
        except Exception as exc:  # python-osc raises ParseError, but also IndexError etc. on junk
            log.info("malformed packet from %s: %s", sender[0], exc)
            with self._lock:
                self._remember(sender)
                self._error(-1, f"malformed OSC packet ({len(data)} bytes): {_innermost(exc)}", sender)
            return
        with self._lock:
            self._remember(sender)
            for address, args in messages:
                if self.verbose:
                    log.debug("<- %s %s %s", sender[0], address, " ".join(map(repr, args)))
                try:
                    self._handle(address, args, sender)
                except Exception:  # a bug in one handler must not take the daemon down
                    log.exception("handling %s failed", address)
                    self._error(-1, f"{address}: internal error (see the daemon's log)", sender)

    def _handle(self, address: str, args: list, sender) -> None:
        if address in self._extra_handlers:
            self._extra_handlers[address](args, sender)
            return
        name = address[len(PREFIX) + 1 :] if address.startswith(PREFIX + "/") else None
        if name in KNOBS:
            self._handle_knob(address, name, args, sender)
        elif address == f"{PREFIX}/generate":
            prompt = " ".join(format_atom(a) for a in args) if args else None
            self.submit(prompt=prompt, source=f"osc {sender[0]}", reply_to=sender)
        elif address == f"{PREFIX}/preset":
            if len(args) != 1:
                self._error(-1, f"{address} expects one argument, a preset name (s) or number (i)", sender)
            else:
                self.load_preset(args[0], source=f"osc {sender[0]}", reply_to=sender)
        elif address == f"{PREFIX}/cancel":
            job_id = _one_int(args) if args else None
            if args and (len(args) != 1 or job_id is None):
                self._error(-1, f"{address} expects no argument (the running job) or a job id (i), got {_describe(args)}", sender)
            else:
                self.cancel(job_id, source=f"osc {sender[0]}", reply_to=sender)
        elif address == f"{PREFIX}/status":
            self._send_status(sender)
        elif address == f"{PREFIX}/ping":
            self.reply(sender, f"{PREFIX}/pong")
        elif address == f"{PREFIX}/learn":
            self._error(-1, f"{address}: MIDI is off; set [midi] enabled = true in config.toml to use MIDI learn", sender)
        else:
            known = ", ".join(sorted(inbound_paths()))
            self._error(-1, f"unknown address {address!r}; the daemon understands {known}", sender)

    def _handle_knob(self, address: str, name: str, args: list, sender) -> None:
        if not args:  # a bare knob address asks for its value
            self.reply(sender, f"{PREFIX}/param/{name}", self.state.get(name))
            return
        knob = KNOBS[name]
        if name == "prompt":
            value = " ".join(format_atom(a) for a in args)
        elif len(args) != 1:
            self._error(-1, f"{address} expects one argument, {knob.allowed()} ({knob.osc_tag}), got {_describe(args)}", sender)
            return
        else:
            value = _from_osc(args[0])
        self.set_knob(name, value, source=f"osc {sender[0]}", reply_to=sender)

    def _send_status(self, sender) -> None:
        for name, value in self.state.snapshot().items():
            self.reply(sender, f"{PREFIX}/param/{name}", value)
        running = self._running.id if self._running else -1
        self.reply(sender, f"{PREFIX}/status", running, len(self._queue), self._worker_state)
        if self._warm_model is not None:
            self.reply(sender, f"{PREFIX}/ready", self._warm_model, self._warm_note)
        elif self._load_error:  # a patch opened later still learns why nothing is warm
            self.reply(sender, f"{PREFIX}/error", -1, self._load_error)

    # --- worker --------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        model = self.state.get("model")
        self._worker = Worker(model, self._warm_knobs(), self.config.output, self.tag, self.verbose)
        self._worker_state = "starting"
        self._warm_model = None
        log.info("worker pid %d starting, loading %s", self._worker.pid, model)
        self._dispatch()

    def _load_model(self, model: str) -> None:
        if self._worker is not None and model != self._warm_model:
            self._worker.send("load", model, self._warm_knobs())

    def _warm_knobs(self) -> dict:
        """What a worker warms up for after loading (see oscgen.api.warm_up): the knobs its
        decode step is compiled for, and the current duration (the cache windows a take of that
        length reaches, and EnCodec's plans on a GPU).  A longer take later compiles its extra
        windows itself, once: ~0.5-2 s each on a CPU, where warming all of a 30 s job's
        windows would hold up a musicgen-small daemon's start by ~12 s."""
        duration = self.state.get("duration")
        return {"top_k": self.state.get("top_k"), "top_p": self.state.get("top_p"), "cfg_scale": self.state.get("cfg"),
                "max_duration": duration, "audio_duration": duration}

    def _dispatch(self) -> None:
        """Hand the next job to the worker if it is free (it queues one message while loading)."""
        if self._running is not None or not self._queue or self._worker is None:
            return
        job = self._queue.popleft()
        if not self._worker.send("job", {"id": job.id, "params": job.params}):
            self._queue.appendleft(job)  # the worker is dying; the sentinel brings a new one
            return
        self._running = job

    def _drain_worker(self, worker: Worker) -> None:
        while True:
            try:
                if not worker.conn.poll():
                    break
                event = worker.conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                self._on_event(event)
        if not worker.process.is_alive():
            with self._lock:
                self._on_worker_death(worker)

    def _on_event(self, event: tuple) -> None:
        kind = event[0]
        job = self._running
        if kind == "ready":
            _, model, note = event
            self._warm_model, self._warm_note, self._load_error = model, note, ""
            self._ever_warm = True
            self._worker_state = "busy" if job else "ready"
            self._quick_deaths = 0
            log.info("ready: %s%s", model, f" ({note})" if note else "")
            self.broadcast(f"{PREFIX}/ready", model, note)
        elif kind == "load_error":
            _, model, message, missing = event
            self._worker_state = "no model"
            fallback = self._warm_model
            text = f"model {model!r} did not load: {message}"
            if self._startup_model_missing(model, missing):
                # A fresh machine without weights: serve the embedded model, loudly labelled,
                # rather than a daemon that cannot play at all.  /oscgen/ready says it is noise.
                fallback_model = self.config.fallback_model
                text += f"; its weights are not on this machine, serving {fallback_model!r} instead"
                if fallback_model == "tiny-random":
                    text += " (random weights: NOISE, not music)"
                self._echo(self.state.set_knob("model", fallback_model, "fallback"))
                self._load_model(fallback_model)
                self._worker_state = "starting"
            elif fallback and self.state.get("model") == model:
                text += f"; staying with {fallback}"
                self._echo(self.state.set_knob("model", fallback, "fallback"))
                self._worker_state = "ready"
            else:
                self._load_error = text
            log.warning(text)
            self.broadcast(f"{PREFIX}/error", -1, text)
        elif job is None or event[1] != job.id:
            log.debug("stale worker event %r", event)
        elif kind == "started":
            self._worker_state = "busy"
            log.info("job %d started", job.id)
            self.broadcast(f"{PREFIX}/started", job.id)
        elif kind == "progress":
            fraction = float(event[2])
            if fraction >= 1.0 or fraction - job.last_progress >= 0.01 or self.verbose:
                job.last_progress = fraction
                self.broadcast(f"{PREFIX}/progress", job.id, fraction)
        else:
            self._running = None
            self._worker_state = "ready" if self._warm_model else self._worker_state
            if kind == "done":
                _, _, path, seconds = event
                log.info("job %d done: %s (%.2f s)", job.id, path, seconds)
                self.broadcast(f"{PREFIX}/done", job.id, path, float(seconds))
            elif kind == "cancelled":
                log.info("job %d cancelled", job.id)
                self.broadcast(f"{PREFIX}/cancelled", job.id)
            else:
                log.warning("job %d failed: %s", job.id, event[2])
                self.broadcast(f"{PREFIX}/error", job.id, event[2])
            self._dispatch()

    def _startup_model_missing(self, model: str, missing: bool) -> bool:
        """True when the model that failed is the configured default, its weights are simply
        not on this machine, and nothing has been warm yet: the case for the tiny fallback."""
        return (
            missing
            and self.config.fallback_model not in ("", model)
            and not self._ever_warm
            and model == self.config.defaults.get("model")
            and not _is_path(model)  # a mistyped folder is the user's to fix, not to paper over
        )

    def _on_worker_death(self, worker: Worker) -> None:
        if worker is not self._worker:
            return
        reason = worker.exit_reason()
        worker.stop(timeout=0)
        self._worker = None
        self._warm_model = None
        self._worker_state = "restarting"
        remove_temps(self.config.output.folder, self.tag)
        job, self._running = self._running, None
        if self._stop_reason:
            if job:
                self.broadcast(f"{PREFIX}/cancelled", job.id)
            return
        killed_to_cancel = bool(job and job.cancel_deadline)
        quick = time.monotonic() - worker.started_at < 10.0 and not killed_to_cancel
        self._quick_deaths = self._quick_deaths + 1 if quick else 0
        delay = RESTART_BACKOFF_S[min(self._quick_deaths, len(RESTART_BACKOFF_S) - 1)]
        if killed_to_cancel:
            log.warning("worker pid %d killed to cancel job %d", worker.pid, job.id)
            self.broadcast(f"{PREFIX}/cancelled", job.id)
        elif job:
            text = f"the worker process died ({reason}) during job {job.id}; the job is lost, restarting the worker"
            log.warning(text)
            self.broadcast(f"{PREFIX}/error", job.id, text)
        else:
            text = f"the worker process died ({reason}); restarting it"
            log.warning(text)
            self.broadcast(f"{PREFIX}/error", -1, text)
        if delay:
            log.info("restarting the worker in %.0f s", delay)
        self._restart_at = time.monotonic() + delay

    # --- shutdown ------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        reason = self._stop_reason or "stopped"
        log.info("shutting down (%s)", reason)
        with self._lock:
            while self._queue:
                job = self._queue.popleft()
                self.broadcast(f"{PREFIX}/cancelled", job.id)
            running = self._running
            if running is not None and self._worker is not None:
                log.info("cancelling job %d", running.id)
                self._worker.cancel(running.id)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self._running is not None and self._worker is not None and time.monotonic() < deadline:
            worker = self._worker
            ready = select.select([worker.conn, worker.process.sentinel], [], [], deadline - time.monotonic())[0]
            if ready:
                self._drain_worker(worker)
        with self._lock:
            if self._running is not None:  # it did not stop in time: the worker is killed below
                self.broadcast(f"{PREFIX}/cancelled", self._running.id)
                self._running = None
            self.broadcast(f"{PREFIX}/shutdown", reason)
        if self._midi is not None and hasattr(self._midi, "close"):
            try:
                self._midi.close()
            except Exception as exc:
                log.warning("closing MIDI: %s", exc)
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        for path in remove_temps(self.config.output.folder, self.tag):
            log.info("removed leftover %s", path.name)
        self.sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        log.info("stopped")

    # --- helpers -------------------------------------------------------------------------------

    def _start_midi(self) -> None:
        if not self.config.midi.enabled:
            return
        if importlib.util.find_spec("oscgen.service.midi") is None:
            log.warning("[midi] enabled = true, but this oscgen has no MIDI support; OSC only")
            return
        try:
            midi = importlib.import_module("oscgen.service.midi")
            self._midi = midi.start(self.config.midi, self)
        except Exception as exc:  # no backend, no port: OSC keeps working
            log.warning("MIDI input not started: %s; OSC keeps working", exc)

    def _echo(self, echoes) -> None:
        for name, value in echoes:
            self.broadcast(f"{PREFIX}/param/{name}", value)

    def _error(self, job_id: int, message: str, reply_to=None) -> None:
        if reply_to is not None:
            # a patch stuck in a loop of bad messages must not be drowned in replies (nor the log)
            suppressed = self._error_limit.allow(reply_to[0])
            if suppressed is None:
                return
            if suppressed:
                message += f" ({suppressed} more errors from {reply_to[0]} were not answered)"
            if self._error_limit.exhausted(reply_to[0]):
                message += f" (too many errors: further ones from {reply_to[0]} are answered at most {self._error_limit.per_second:g} per second)"
        log.info("error%s: %s", f" (job {job_id})" if job_id != -1 else "", message)
        if reply_to is None:
            self.broadcast(f"{PREFIX}/error", job_id, message)
        else:
            self.reply(reply_to, f"{PREFIX}/error", job_id, message)

    def _remember(self, sender) -> None:
        dest = (sender[0], self.config.osc.reply_port)
        self._clients.pop(dest, None)
        self._clients[dest] = time.monotonic()
        while len(self._clients) > MAX_CLIENTS:
            self._clients.pop(next(iter(self._clients)))

    def _reply_dests(self, sender) -> list:
        return _unique([(sender[0], self.config.osc.reply_port), *self._targets])

    def _everyone(self) -> list:
        return _unique([*self._clients, *self._targets])

    def _send(self, dests, address: str, args) -> None:
        builder = OscMessageBuilder(address)
        for value in args:
            builder.add_arg(value, _osc_type(value))
        dgram = builder.build().dgram
        if self.verbose and address != f"{PREFIX}/progress":
            log.debug("-> %s %s %s", ",".join(f"{h}:{p}" for h, p in dests) or "(nobody)", address, " ".join(map(repr, args)))
        for dest in dests:
            try:
                self.sock.sendto(dgram, dest)
            except OSError as exc:  # an unreachable client must not stop the others
                log.debug("sending %s to %s failed: %s", address, dest, exc)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _bind(self, host: str, port: int) -> socket.socket:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            # "localhost" may resolve to ::1 first; Max, Pd and TouchDesigner send to 127.0.0.1
            family, _, _, _, addr = min(infos, key=lambda info: info[0] != socket.AF_INET)
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.bind(addr)
        except OSError as exc:
            raise OSError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                + (" (another oscgen serve? pick another --port)" if isinstance(exc, OSError) and exc.errno == 98 else "")
            ) from None
        return sock

    def _resolve(self, host: str, port: int) -> tuple[str, int]:
        try:
            return socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][:2]
        except OSError as exc:
            raise OSError(f"[osc] reply_targets: cannot resolve {host!r}: {exc.strerror or exc}") from None

    @staticmethod
    def _parse_allowed(hosts) -> list | None:
        if "*" in hosts:
            return None
        return [ipaddress.ip_network(h, strict=False) for h in hosts]

    def _is_allowed(self, host: str) -> bool:
        if self._allowed is None:
            return True
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self._allowed)

    def _remove_stale_temps(self) -> None:
        """Temp files of oscgen daemons that are no longer running (a power cut, a kill -9)."""
        try:
            leftovers = list(self.config.output.folder.glob(".*.oscgen*-*.tmp"))
        except OSError:
            return
        for path in leftovers:
            pid = re.search(r"\.oscgen(\d+)-[0-9a-f]{8}\.tmp$", path.name)
            if pid and not _pid_alive(int(pid.group(1))):
                path.unlink(missing_ok=True)
                log.info("removed %s, left by a daemon that is gone", path.name)


def run(config: Config, verbose: bool = False) -> int:
    """Run the daemon until SIGINT/SIGTERM; 0 on a clean stop."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="oscgen %(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    daemon = Daemon(config, verbose)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: daemon.request_stop(signal.Signals(signum).name))
    daemon.serve_forever()
    return 0


# --- OSC details ---------------------------------------------------------------------------------


def _parse(data: bytes) -> list:
    """(address, args) for every message in a packet, bundles flattened in order and run now:
    a live rig wants the knob now, and a bundle timed for later must not hold the loop."""
    if OscBundle.dgram_is_bundle(data):
        return list(_flatten(OscBundle(data)))
    if OscMessage.dgram_is_message(data):
        message = OscMessage(data)
        return [(message.address, list(message.params))]
    raise ValueError("not an OSC message or bundle (it must start with '/' or '#bundle')")


def _flatten(bundle: OscBundle):
    for content in bundle:
        if isinstance(content, OscBundle):
            yield from _flatten(content)
        else:
            yield content.address, list(content.params)


def _from_osc(value):
    """An OSC float32 as the decimal that was typed (0.9, not 0.8999999761581421), so that
    echoes and sidecars read as the musician set them; bytes (a blob) as text."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _innermost(exc: Exception) -> str:
    """python-osc wraps its reason: ParseError(('Found incorrect datagram...', ParseError('too short')))."""
    while exc.args and isinstance(exc.args[-1], Exception):
        exc = exc.args[-1]
    return str(exc) or type(exc).__name__


def _osc_type(value) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return "i"
    if isinstance(value, float):
        return "f"
    return "s"


def _one_int(args):
    if len(args) == 1 and isinstance(args[0], (int, float)) and not isinstance(args[0], bool) and float(args[0]).is_integer():
        return int(args[0])
    return None


def _describe(args) -> str:
    return f"{len(args)} arguments ({' '.join(map(repr, args))})" if len(args) != 1 else f"{args[0]!r}"


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _unique(dests) -> list:
    return list(dict.fromkeys(dests))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_path(model: str) -> bool:
    return os.path.isabs(os.path.expanduser(model)) or model.startswith(("./", "../", ".\\", "..\\"))
