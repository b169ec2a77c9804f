"""``oscgen serve``: the daemon's loop, its thread-safe API, and its start and shutdown.

One thread owns the UDP socket and waits (``select``) on it, the worker's pipe and process
sentinel, and a wake-up pipe (signals, MIDI).  Every OSC packet is decoded here (bundles are run
at once, in order, whatever their timetag; a malformed packet gets an ``/oscgen/error`` and is
dropped), so nothing a client sends can stall the loop.  Generation happens in the worker
process (``worker.py``); this process stays light and answers ping while a job runs.

The seams:
  transport.py  the socket, the allowlist, OSC bytes in and out
  clients.py    known clients, reply destinations, (rate-limited) error replies: ``Replies``
  handlers.py   one function per inbound address of protocol.INBOUND
  jobs.py       the queue, the running job and the worker's supervision: ``Jobs``
  server.py     this loop, the public API below, start-up and shutdown

For the MIDI side (``oscgen/service/midi.py``, started here if it exists and [midi] is
enabled): ``midi.start(config.midi, daemon)`` may return an object with ``close()``; it drives
the daemon through the thread-safe methods ``set_knob``, ``load_preset``, ``submit``,
``cancel``, ``broadcast`` and ``register`` (an extra inbound OSC address, e.g. /oscgen/learn).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import select
import signal
import threading
import time

from oscgen.config import Config
from oscgen.service import handlers, logfold, oscquery, outbox, transport
from oscgen.service.clients import Replies
from oscgen.service import continue_job
from oscgen.service.inputs import InputRules
from oscgen.service.jobs import Jobs
from oscgen.service.protocol import PREFIX
from oscgen.service.state import State

log = logging.getLogger("oscgen")

SHUTDOWN_GRACE_S = 10.0


class Daemon:
    def __init__(self, config: Config, verbose: bool = False):
        self.config = config
        self.verbose = verbose
        self.state = State(config.defaults, config.presets, config.beats_per_bar, config.long.max_duration)
        self.tag = f"oscgen{os.getpid()}-"  # in our temp file names, to clean up only our own
        self._lock = threading.RLock()
        self._extra_handlers: dict = {}
        self._stop_reason: str | None = None
        self._midi = None
        self._discovery = oscquery.Discovery()
        self.allowlist = transport.Allowlist(config.osc.allowed_hosts)
        targets = [transport.resolve(h, p) for h, p in config.osc.reply_targets]
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.sock = transport.bind(config.osc.host, config.osc.port)
        self.port = self.sock.getsockname()[1]
        self.out = Replies(self.sock, config.osc.reply_port, targets, verbose)
        self.jobs = Jobs(config, self.state, self.out, self.tag, verbose)
        self.inputs = InputRules(config.output.folder, config.input.folders)  # what /oscgen/continue may read

    # --- public, thread-safe API (OSC handlers and MIDI use the same) --------------------------

    def set_knob(self, name: str, value, source: str = "midi", reply_to=None):
        """Change one knob; echoes go to every client.  On a bad value: /oscgen/error (to
        ``reply_to`` or everyone) and None; else the echoes [(knob, value), ...]."""
        with self._lock:
            try:
                echoes = self.state.set_knob(name, value, source)
            except ValueError as exc:
                self.error(-1, f"{PREFIX}/{name}: {exc}", reply_to)
                return None
            log.info("%s: %s", source, ", ".join(f"{k}={_show(v)}" for k, v in echoes))
            self.out.echo(echoes)
            if name == "model":
                self.jobs.load_model(echoes[0][1])
            return echoes

    def load_preset(self, ref, source: str = "midi", reply_to=None):
        """Set the knobs from a preset (number from 0, or name); echoes + /oscgen/preset."""
        with self._lock:
            old_model = self.state.get("model")
            try:
                index, preset, echoes = self.state.load_preset(ref)
            except ValueError as exc:
                self.error(-1, f"{PREFIX}/preset: {exc}", reply_to)
                return None
            log.info("%s: preset %d %r", source, index, preset.name)
            self.out.echo(echoes)
            self.broadcast(f"{PREFIX}/preset", index, preset.name)
            if self.state.get("model") != old_model:
                self.jobs.load_model(self.state.get("model"))
            return echoes

    def submit(self, overrides: dict | None = None, preset=None, prompt: str | None = None, source: str = "midi",
               reply_to=None, *, extra: dict | None = None, what: str = f"{PREFIX}/generate"):
        """Queue a job with the current knobs (then the preset's, then ``overrides``, then
        ``prompt``), without changing the knobs; ``extra`` goes into its params as is (a
        continuation's audio).  Returns the job id, or None after an /oscgen/error (bad values,
        no prompt, queue full)."""
        with self._lock:
            if self._stop_reason:
                self.error(-1, f"{what}: the daemon is shutting down", reply_to)
                return None
            try:
                params = self.state.job_params(prompt=prompt, overrides=overrides, preset=preset)
            except ValueError as exc:
                self.error(-1, f"{what}: {exc}", reply_to)
                return None
            full = self.jobs.queue_full()
            if full:
                self.error(-1, f"{what}: {full}", reply_to)
                return None
            params = {**params, "extend_stride": self.config.long.extend_stride, **(extra or {})}
            return self.jobs.add(params, source).id

    def submit_continuation(self, name=None, source: str = "midi", reply_to=None):
        """Queue a continuation of ``name`` (a WAV under the input rules, service/inputs.py) or,
        with None, of the last take: the current knobs, ``duration`` seconds of new music after
        the WAV's last [input] prompt_seconds.  Returns the job id, or None after an /oscgen/error."""
        where = f"{PREFIX}/continue"
        with self._lock:
            if name is None:
                if self.jobs.last_take is None and not self.jobs.busy():
                    self.error(-1, f"{where}: no take to continue yet; generate one first, or name a WAV", reply_to)
                    return None
                audio = continue_job.LAST_TAKE
            else:
                try:
                    audio = str(self.inputs.resolve(name))
                except ValueError as exc:
                    self.error(-1, f"{where}: {exc}", reply_to)
                    return None
            extra = {continue_job.AUDIO: audio, "prompt_seconds": self.config.input.prompt_seconds,
                     "input_folders": [str(f) for f in self.config.input.folders]}
            return self.submit(source=source, reply_to=reply_to, extra=extra, what=where)

    def cancel(self, job_id: int | None = None, source: str = "midi", reply_to=None) -> bool:
        """Cancel a queued job, or the running one (job_id None or -1 = the running job)."""
        with self._lock:
            cancelled = self.jobs.cancel(job_id, source, reply_to)
        if cancelled:
            self._wake()  # the loop's timeout now includes the cancel deadline
        return cancelled

    def cancel_take(self, job_id: int, take: int, source: str = "midi", reply_to=None) -> bool:
        """Drop take ``take`` (1 = the first) of job ``job_id``, waiting or running."""
        with self._lock:
            return self.jobs.cancel_take(job_id, take, source, reply_to)

    def stop(self, job_id: int | None = None, source: str = "midi", reply_to=None) -> bool:
        """End the running job (or job ``job_id``) early, keeping what it made; a queued one is
        cancelled (it made nothing yet)."""
        with self._lock:
            return self.jobs.stop(job_id, source, reply_to)

    def clear(self, source: str = "midi") -> int:
        """Cancel every waiting job (each gets /oscgen/cancelled); the running one goes on."""
        with self._lock:
            return self.jobs.clear(source)

    def unload(self, source: str = "midi", reply_to=None) -> bool:
        """Free the model now (/oscgen/unloaded follows); the next job loads it again."""
        with self._lock:
            why_not = self.jobs.unload(f"asked by {source}")
            if why_not:
                self.error(-1, f"{PREFIX}/unload: {why_not}", reply_to)
            return why_not is None

    def broadcast(self, address: str, *args) -> None:
        """Send to every known client and the configured targets."""
        self.out.broadcast(address, *args)

    def reply(self, sender, address: str, *args) -> None:
        """Send to the client that sent a message (its host, the reply port) and the targets."""
        self.out.reply(sender, address, *args)

    def error(self, job_id: int, message: str, reply_to=None) -> None:
        """/oscgen/error to ``reply_to`` (rate-limited per host), or to everyone when None."""
        self.out.error(job_id, message, reply_to)

    def register(self, address: str, handler) -> None:
        """Handle an extra inbound address: ``handler(args: list, sender)`` runs in the OSC
        thread under the daemon's lock.  (MIDI registers /oscgen/learn.)"""
        with self._lock:
            self._extra_handlers[address] = handler

    def extra_handler(self, address: str):
        return self._extra_handlers.get(address)

    def request_stop(self, reason: str) -> None:
        """Thread- and signal-safe: the loop finishes the shutdown."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._wake()

    # --- the loop ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        # a power cut or a kill -9 of an earlier daemon: finish or undo what it half-published
        self._recover_folder(lambda tag, pid: tag != self.tag and not _pid_alive(pid), "left by a daemon that is gone")
        try:
            self.config.output.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("output folder %s cannot be created (%s); jobs will fail until it can", self.config.output.folder, exc.strerror or exc)
        log.info(
            "listening on %s:%d (replies to port %d%s), writing to %s",
            self.config.osc.host, self.port, self.config.osc.reply_port,
            "".join(f", {h}:{p}" for h, p in self.config.osc.reply_targets), self.config.output.folder,
        )
        if not self.allowlist.everyone and not self.allowlist.loopback_only:
            log.info("answering only %s ([osc] allowed_hosts)", ", ".join(self.config.osc.allowed_hosts))
        elif not self.allowlist.everyone and self.config.osc.host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("listening on %s but [osc] allowed_hosts lets only this computer in", self.config.osc.host)
        self._discovery = oscquery.start(self)
        with self._lock:
            self.jobs.start_worker()
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
        worker = self.jobs.worker
        if worker is not None:
            waits += [worker.conn, worker.process.sentinel]
        readable, _, _ = select.select(waits, [], [], self.jobs.timeout())
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        if self.sock in readable:
            self._receive()
        if worker is not None and (worker.conn in readable or worker.process.sentinel in readable):
            self.jobs.drain(worker, self._lock)
        with self._lock:
            self.jobs.timers()
        logfold.flush()

    def _receive(self) -> None:
        try:
            data, sender = self.sock.recvfrom(65536)
        except OSError:
            return
        host = sender[0]
        if not self.allowlist.allows(host):
            log.warning("dropped a packet from %s (not in [osc] allowed_hosts)", host, extra={"fold": ("dropped", host)})
            return
        try:
            messages = transport.decode(data)
        except ValueError as exc:  # OscDecodeError: says where and why (the error's log line too)
            with self._lock:
                self.out.remember(sender)
                self.error(-1, f"malformed OSC packet ({len(data)} bytes): {exc}", sender)
            return
        with self._lock:
            self.out.remember(sender)
            self.out.begin_request(sender, len(data))
            try:
                for address, args in messages:
                    if self.verbose:
                        log.debug("<- %s %s %s", host, address, " ".join(map(repr, args)))
                    try:
                        handlers.dispatch(self, address, args, sender)
                    except Exception:  # a bug in one handler must not take the daemon down
                        log.exception("handling %s failed", address, extra={"fold": ("failed", address)})
                        self.error(-1, f"{address}: internal error (see the daemon's log)", sender)
            finally:
                self.out.end_request()

    # --- start-up and shutdown -----------------------------------------------------------------

    def _shutdown(self) -> None:
        reason = self._stop_reason or "stopped"
        log.info("shutting down (%s)", reason)
        jobs = self.jobs
        with self._lock:
            jobs.stopping = True
            jobs.cancel_queued()
            for running in jobs.batch if jobs.worker is not None else ():
                log.info("cancelling job %d", running.id)
                jobs.worker.cancel(running.id)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while jobs.batch and jobs.worker is not None and time.monotonic() < deadline:
            worker = jobs.worker
            ready = select.select([worker.conn, worker.process.sentinel], [], [], deadline - time.monotonic())[0]
            if ready:
                jobs.drain(worker, self._lock)
        with self._lock:
            for running in jobs.batch:  # it did not stop in time: the worker is killed below
                self.broadcast(f"{PREFIX}/cancelled", running.id)
            jobs.batch = []
            self.broadcast(f"{PREFIX}/shutdown", reason)
        if self._midi is not None and hasattr(self._midi, "close"):
            try:
                self._midi.close()
            except Exception as exc:
                log.warning("closing MIDI: %s", exc)
        self._discovery.close()
        if jobs.worker is not None:
            jobs.worker.stop()
            jobs.worker = None
        self._recover_folder(lambda tag, pid: tag == self.tag, "left by this daemon's worker")
        logfold.flush(final=True)
        self.sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        log.info("stopped")

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

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _recover_folder(self, owned, why: str) -> None:
        for action in outbox.recover(self.config.output.folder, owned):
            log.info("%s, %s", action, why)


def run(config: Config, verbose: bool = False) -> int:
    """Run the daemon until SIGINT/SIGTERM; 0 on a clean stop."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="oscgen %(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    for handler in logging.getLogger().handlers:
        logfold.install(handler)  # a flood of bad packets: one line per burst, with a count
    daemon = Daemon(config, verbose)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: daemon.request_stop(signal.Signals(signum).name))
    daemon.serve_forever()
    return 0


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
