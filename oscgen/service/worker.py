"""The generation worker: a separate process (multiprocessing, spawn) that imports the engine,
keeps the model warm and runs one job at a time, so the OSC process never blocks on MLX and a
crash in generation cannot take the daemon down.

Parent -> worker over a Pipe: ("load", model, warm_knobs), ("batch", [job dict, ...]) (jobs the
scheduler starts together: service/runner.py makes every take of them in one pass), ("join", [job
dict, ...]) (jobs to add to the running pass: the runner takes them between decode steps, or after
the pass when they cannot join), ("unload",), ("stop",).
``warm_knobs`` (oscgen.api.warm_up's keyword arguments: the daemon's top_k, top_p, cfg_scale and
duration) are what the worker warms the model up for after loading, so the first job after a
load is as fast as the next.
Worker -> parent: ("ready", model, note), ("load_error", model, message, missing), ("started", id),
("progress", id, fraction), ("done", id, path, seconds) per take, ("cancelled", id), ("error", id,
message), ("end", id) when a job has said all it will, ("unloaded", model, bytes freed).
Cancel: the parent writes the job id into a shared array; the engine's progress callback sees it
within a decode step: the job's takes are dropped (the whole pass stops once every job in it is
cancelled).  /oscgen/cancel_take: the same for one take, through a third array.  Stop: the same through a second shared array: the job's takes end and the audio
made so far is written (whole bars in bars mode).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
import traceback
import warnings
from collections import deque

from oscgen.config import OutputConfig

log = logging.getLogger("oscgen.worker")


SIGNAL_SLOTS = 32  # cancel / stop requests remembered (job ids, newest overwriting the oldest)
TAKE_SLOTS = 64  # a take's signal is job id * TAKE_SLOTS + take number (variations are at most 8)


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, model: str, warm_knobs: dict, output: OutputConfig, tag: str, verbose: bool, models=None):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        # job ids to cancel / to end early keeping their audio: aligned ints the parent writes and
        # the worker only reads, no lock needed
        self.cancel_ids = ctx.RawArray("q", [-1] * SIGNAL_SLOTS)
        self.stop_ids = ctx.RawArray("q", [-1] * SIGNAL_SLOTS)
        self.take_ids = ctx.RawArray("q", [-1] * SIGNAL_SLOTS)  # job id * TAKE_SLOTS + take to drop
        self._written = {"cancel": 0, "stop": 0, "take": 0}
        self.process = ctx.Process(
            target=worker_main,
            args=(child_conn, (self.cancel_ids, self.stop_ids, self.take_ids), model, warm_knobs, output, tag, verbose, models),
            name="oscgen-worker",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, *message) -> bool:
        """False if the worker is gone (its death is then reported through the sentinel)."""
        try:
            self.conn.send(message)
            return True
        except (OSError, ValueError):
            return False

    def cancel(self, job_id: int) -> None:
        self._signal("cancel", self.cancel_ids, job_id)

    def cancel_take(self, job_id: int, take: int) -> None:
        self._signal("take", self.take_ids, job_id * TAKE_SLOTS + take)

    def stop_early(self, job_id: int) -> None:
        self._signal("stop", self.stop_ids, job_id)

    def _signal(self, kind: str, slots, job_id: int) -> None:
        if job_id in slots[:]:
            return
        slots[self._written[kind] % SIGNAL_SLOTS] = job_id
        self._written[kind] += 1

    def exit_reason(self) -> str:
        code = self.process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to exit; then terminate; then kill.  Never blocks longer than ~timeout+2 s."""
        if self.process.is_alive():
            self.send("stop")
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self.conn.close()


# --- in the worker process ---------------------------------------------------------------------


def worker_main(conn, signals, model: str, warm_knobs: dict, output: OutputConfig, tag: str, verbose: bool,
                models=None) -> None:
    global _models
    _models = models
    # Ctrl-C in the terminal reaches the whole process group: the parent decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="oscgen %(asctime)s worker: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        from oscgen import api
    except Exception as exc:  # a broken install: say so in every reply instead of dying silently
        conn.send(("load_error", model, f"cannot import the engine (oscgen.api): {exc}"))
        api = None
    warm = {"model": None}  # what the engine holds now (a job for another model swaps it)
    if api is not None:
        _warm(conn, api, model, warm_knobs, warm)
    pending: deque = deque()  # messages read while a pass ran, in the order they came
    while True:
        try:
            message = pending.popleft() if pending else conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        kind = message[0]
        if kind == "stop":
            return
        if api is None:
            for job in message[1] if kind in ("batch", "join") else ():
                conn.send(("error", job["id"], "cannot generate: the engine (oscgen.api) failed to import; see the daemon's log"))
                conn.send(("end", job["id"]))
        elif kind == "load":
            _warm(conn, api, message[1], message[2], warm)
        elif kind == "unload":
            _unload(conn, api, warm)
        elif kind in ("batch", "join"):  # a join that comes after its pass ended starts one
            from oscgen.service.runner import Signals, run_jobs

            model = message[1][0]["params"]["model"]  # the scheduler batches one model's jobs
            arrivals = Arrivals(conn)
            loaded = run_jobs(conn, Signals(*signals, take_slots=TAKE_SLOTS), message[1], output, tag, _engine_model,
                              arrivals)
            if arrivals.deferred:  # sent to join but could not: they run next, before what came after them
                pending.appendleft(("batch", arrivals.deferred))
            pending.extend(arrivals.later)
            if loaded and model != warm["model"]:  # loaded and compiled by the jobs: tells the parent
                _warm(conn, api, model, None, warm)


class Arrivals:
    """The pipe while a pass runs (continuous batching): ``jobs`` reads, without waiting, the
    jobs the parent sent to join it ("join"); the runner ``defer``s those that cannot join, and
    every other message is kept in ``later`` for after the pass."""

    def __init__(self, conn):
        self.conn, self.deferred, self.later = conn, [], []

    def jobs(self) -> list[dict]:
        got = []
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message[0] == "join" and not self.later:
                    got.extend(message[1])
                else:  # ("stop",), or a batch sent once every job of this pass had ended
                    self.later.append(message)
        except (EOFError, OSError):  # the parent is gone: the main loop finds out next
            pass
        return got

    def defer(self, job: dict) -> None:
        self.deferred.append(job)


_models = None  # the daemon's ModelRules (service/models.py): model names -> what the engine loads


def _engine_model(name: str) -> str:
    """What the engine loads for the model knob's ``name`` ([models] maps names to folders and
    repos); ModelNotFoundError when it would download weights that may not be downloaded."""
    if _models is None:
        return name
    _models.refuse_download(name)
    return _models.target(name)


def _warm(conn, api, model: str, warm_knobs: dict | None, warm: dict) -> None:
    """Load ``model``, then warm it up for ``warm_knobs`` (None: nothing to compile), and tell
    the parent: "ready" only once a job would start at full speed."""
    started = time.monotonic()
    try:
        with warnings.catch_warnings():  # the random-weights warning travels in the ready note
            warnings.simplefilter("ignore", UserWarning)
            target = _engine_model(model)
            engine = api.load_model(target)
    except Exception as exc:
        log.info("model %s failed to load: %s", model, exc)
        # "missing" = no weights on this machine (as opposed to a broken folder): the daemon
        # may fall back to the embedded model for its startup model
        conn.send(("load_error", model, str(exc), isinstance(exc, api.ModelNotFoundError)))
        return
    loaded = time.monotonic()
    log.info("model %s loaded in %.1f s", model, loaded - started)
    if warm_knobs is not None:
        try:
            parts = api.warm_up(target, **warm_knobs)
            log.info("warmed up in %.1f s (%s)", time.monotonic() - loaded, ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()))
        except Exception:  # a job would compile the same things itself: slower, not broken
            log.error("warming %s up failed:\n%s", model, traceback.format_exc().rstrip())
    warm["model"] = model
    conn.send(("ready", model, f"{model}: {api.NOISE_WARNING}" if engine.random_weights else ""))


def _unload(conn, api, warm: dict) -> None:
    """Free the model (weights, compiled steps, MLX's cache) and say how much memory that gave back."""
    before = _resident_bytes()
    api.unload_model()
    model, warm["model"] = warm["model"], None
    conn.send(("unloaded", model, max(0, before - _resident_bytes())))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the figure is only for the log
        return 0
