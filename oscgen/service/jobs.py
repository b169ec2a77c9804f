"""The daemon's job state: the queue, the running job, and the worker process that runs it.

``Jobs`` owns everything that changes when a job is queued, started, cancelled or finished, or
when the worker loads a model, dies or restarts.  It sends through ``Replies`` and never reads
the socket; the daemon calls it under its lock (``drain`` takes the lock itself, per event).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field

from oscgen.config import Config
from oscgen.knobs import MAX_DURATION
from oscgen.progress import Eta
from oscgen.service import outbox
from oscgen.service.clients import Replies
from oscgen.service import continue_job
from oscgen.service.models import ModelRules
from oscgen.service.protocol import PREFIX
from oscgen.service.state import State
from oscgen.service.worker import Worker

log = logging.getLogger("oscgen")

CANCEL_GRACE_S = 10.0  # a job that ignores cancel this long (e.g. stuck loading) gets its worker killed
RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # after quick successive deaths


@dataclass
class Job:
    id: int
    params: dict  # State.job_params(): generate()'s arguments + bars/bpm/preset for the sidecar
    cancel_deadline: float | None = None  # set by cancel: past it, the worker is killed
    last_progress: float = -1.0  # last fraction sent, to thin progress to ~1% steps
    eta: Eta = field(default_factory=Eta)  # seconds left, from the rate progress arrives at


class Jobs:
    def __init__(self, config: Config, state: State, out: Replies, tag: str, verbose: bool = False):
        self.config, self.state, self.out, self.tag, self.verbose = config, state, out, tag, verbose
        self.models = ModelRules.from_config(config)  # what /oscgen/model may name, and what each loads
        self.queue: deque[Job] = deque()
        self.running: Job | None = None
        self.next_id = 1
        self.last_take: str | None = None  # the WAV of the latest job done: what /oscgen/continue continues
        self.worker: Worker | None = None
        self.worker_state = "starting"
        self.warm_model: str | None = None
        self.warm_note = ""
        self.load_error = ""
        self.ever_warm = False  # the tiny fallback applies only before any model was warm
        self.quick_deaths = 0
        self.restart_at: float | None = None
        self.stopping = False  # set by the daemon's shutdown: a dead worker is not restarted
        self.idle_since = time.monotonic()  # for [worker] idle_unload_minutes
        self.unload_reason = ""

    # --- the queue -----------------------------------------------------------------------------

    def busy(self) -> bool:
        """A job is running or waiting."""
        return self.running is not None or bool(self.queue)

    def queue_full(self) -> str | None:
        """Why a new job cannot be queued now, or None."""
        busy = self.running is not None or self.queue
        if busy and len(self.queue) >= self.config.queue_length:
            return (
                f"queue full: {len(self.queue)} jobs waiting behind job {self.running.id if self.running else '?'} "
                f"([queue] length = {self.config.queue_length}); cancel one or wait"
            )
        return None

    def add(self, params: dict, source: str) -> Job:
        job = Job(self.next_id, params)
        self.next_id += 1
        self.queue.append(job)
        log.info(
            "job %d queued by %s: %r, %.2f s, %s, seed %s",
            job.id, source, params["prompt"], params["duration"], params["model"],
            "random" if params["seed"] is None else params["seed"],
        )
        self.out.broadcast(f"{PREFIX}/queued", job.id, len(self.queue) - 1)
        self.dispatch()
        return job

    def cancel(self, job_id: int | None, source: str, reply_to=None) -> bool:
        """Cancel a queued job, or the running one (job_id None or -1 = the running job)."""
        if job_id is None or job_id == -1:
            if self.running is None:
                self.out.error(-1, f"{PREFIX}/cancel: no job is running", reply_to)
                return False
            job_id = self.running.id
        for job in self.queue:
            if job.id == job_id:
                self.queue.remove(job)
                log.info("job %d cancelled by %s before it started", job_id, source)
                self.out.broadcast(f"{PREFIX}/cancelled", job_id)
                return True
        if self.running is not None and self.running.id == job_id:
            if self.running.cancel_deadline is None:
                log.info("job %d: cancel requested by %s", job_id, source)
                self.running.cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                if self.worker is not None:
                    self.worker.cancel(job_id)
            return True
        about = job_id if -2**31 <= job_id < 2**31 else -1  # /oscgen/error's job id is an int32
        self.out.error(about, f"{PREFIX}/cancel: no job {job_id} waiting or running", reply_to)
        return False

    def stop(self, job_id: int | None, source: str, reply_to=None) -> bool:
        """End the running job early and keep its audio so far (the worker writes it and
        reports done as usual); a queued job has made nothing, so it is cancelled."""
        running = self.running
        if job_id is None or job_id == -1 or (running is not None and running.id == job_id):
            if running is None:
                self.out.error(-1, f"{PREFIX}/stop: no job is running", reply_to)
                return False
            log.info("job %d: stop requested by %s (keeping what it made)", running.id, source)
            if self.worker is not None:
                self.worker.stop_early(running.id)
            return True
        if any(job.id == job_id for job in self.queue):
            return self.cancel(job_id, source, reply_to)
        about = job_id if -2**31 <= job_id < 2**31 else -1  # /oscgen/error's job id is an int32
        self.out.error(about, f"{PREFIX}/stop: no job {job_id} waiting or running", reply_to)
        return False

    def cancel_queued(self) -> None:
        while self.queue:
            self.out.broadcast(f"{PREFIX}/cancelled", self.queue.popleft().id)

    def clear(self, source: str) -> int:
        """Cancel every waiting job; the running one goes on.  Returns how many."""
        count = len(self.queue)
        log.info("queue cleared by %s: %d job%s cancelled", source, count, "" if count == 1 else "s")
        self.cancel_queued()
        return count

    def waiting(self) -> list[tuple[int, int, str, float]]:
        """/oscgen/waiting's arguments for each waiting job: position, id, prompt, seconds."""
        return [(i, job.id, job.params["prompt"], float(job.params["duration"])) for i, job in enumerate(self.queue)]

    def unload(self, reason: str) -> str | None:
        """Ask the worker to free its model; None, or why it cannot now."""
        if self.running is not None or self.queue:
            return "a job is running or waiting; unload when the queue is empty (or /oscgen/clear and cancel first)"
        if self.worker is None or self.warm_model is None:
            return f"no model is loaded (worker {self.worker_state})"
        log.info("unloading %s (%s)", self.warm_model, reason)
        self.unload_reason = reason
        self.worker.send("unload")
        self.worker_state = "unloaded"
        return None

    def dispatch(self) -> None:
        """Hand the next job to the worker if it is free (it queues one message while loading)."""
        if self.running is not None or not self.queue or self.worker is None:
            return
        job = self.queue.popleft()
        if job.params.get(continue_job.AUDIO) == continue_job.LAST_TAKE:
            # "continue" chains: it continues whatever finished last, known only now
            if self.last_take is None:
                self.out.broadcast(f"{PREFIX}/error", job.id, f"{PREFIX}/continue: no take finished before it, "
                                   "nothing to continue")
                self.dispatch()
                return
            job.params = {**job.params, continue_job.AUDIO: self.last_take}
        if self.worker_state == "unloaded":  # load first, so /oscgen/ready comes before started
            self.worker.send("load", job.params["model"], self.warm_knobs())
            self.worker_state = "starting"
        if not self.worker.send("job", {"id": job.id, "params": job.params}):
            self.queue.appendleft(job)  # the worker is dying; the sentinel brings a new one
            return
        self.running = job

    def status(self) -> tuple[int, int, str]:
        """/oscgen/status's arguments: running job id (-1 = none), jobs waiting, worker state."""
        return (self.running.id if self.running else -1, len(self.queue), self.worker_state)

    # --- timers (the daemon's select timeout) --------------------------------------------------

    def timeout(self) -> float:
        deadlines = [t for t in (self.restart_at, self.running and self.running.cancel_deadline) if t]
        if not deadlines:
            return 1.0
        return max(0.0, min(min(deadlines) - time.monotonic(), 1.0))

    def timers(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            self.start_worker()
        idle = self.config.worker.idle_unload_minutes
        if (idle and self.worker_state == "ready" and self.running is None and not self.queue
                and now - self.idle_since >= idle * 60):
            self.unload(f"idle for {idle:g} min ([worker] idle_unload_minutes)")
        job = self.running
        if job and job.cancel_deadline and now >= job.cancel_deadline and self.worker is not None:
            log.warning("job %d ignored cancel for %.0f s; killing the worker", job.id, CANCEL_GRACE_S)
            job.cancel_deadline = float("inf")  # once; still marks the job as being cancelled
            self.worker.process.kill()  # reported as cancelled when the sentinel fires

    # --- the worker ----------------------------------------------------------------------------

    def start_worker(self) -> None:
        model = self.state.get("model")
        self.worker = Worker(model, self.warm_knobs(), self.config.output, self.tag, self.verbose, self.models)
        self.worker_state = "starting"
        self.warm_model = None
        log.info("worker pid %d starting, loading %s", self.worker.pid, model)
        self.dispatch()

    def load_model(self, model: str) -> None:
        if self.worker is not None and model != self.warm_model:
            self.worker.send("load", model, self.warm_knobs())

    def warm_knobs(self) -> dict:
        """What a worker warms up for after loading (see oscgen.api.warm_up): the knobs its
        decode step is compiled for, and the current duration (the cache windows a take of that
        length reaches, and EnCodec's plans on a GPU).  A longer take later compiles its extra
        windows itself, once: ~0.5-2 s each on a CPU, where warming all of a 30 s job's
        windows would hold up a musicgen-small daemon's start by ~12 s."""
        # a bars take is generated a little past its end (the cut, a loop's tail): warm for that too
        duration = min(self.state.get("duration") + self.config.output.loop_crossfade + 0.05, MAX_DURATION)
        return {"top_k": self.state.get("top_k"), "top_p": self.state.get("top_p"), "cfg_scale": self.state.get("cfg"),
                "max_duration": duration, "audio_duration": duration}

    def drain(self, worker: Worker, lock) -> None:
        """Every event the worker has sent, then its death if it died."""
        while True:
            try:
                if not worker.conn.poll():
                    break
                event = worker.conn.recv()
            except (EOFError, OSError):
                break
            with lock:
                self.on_event(event)
        if not worker.process.is_alive():
            with lock:
                self.on_worker_death(worker)

    def on_event(self, event: tuple) -> None:
        kind = event[0]
        job = self.running
        if kind == "ready":
            _, model, note = event
            self.warm_model, self.warm_note, self.load_error = model, note, ""
            self.ever_warm = True
            self.worker_state = "busy" if job else "ready"
            self.quick_deaths = 0
            self.idle_since = time.monotonic()
            log.info("ready: %s%s", model, f" ({note})" if note else "")
            self.out.broadcast(f"{PREFIX}/ready", model, note)
        elif kind == "unloaded":
            _, model, freed = event
            self.warm_model, self.warm_note = None, ""
            if self.worker_state == "unloaded":
                log.info("unloaded %s (%s), %.0f MB freed", model, self.unload_reason, freed / 1e6)
                self.out.broadcast(f"{PREFIX}/unloaded", model, self.unload_reason)
        elif kind == "load_error":
            self._on_load_error(*event[1:])
        elif job is None or event[1] != job.id:
            log.debug("stale worker event %r", event)
        elif kind == "started":
            self.worker_state = "busy"
            log.info("job %d started", job.id)
            self.out.broadcast(f"{PREFIX}/started", job.id)
        elif kind == "progress":
            fraction = float(event[2])
            seconds = job.eta(fraction)
            # thinned to ~1 % steps whatever --verbose says: logging never changes the protocol
            if fraction >= 1.0 or fraction - job.last_progress >= 0.01:
                job.last_progress = fraction
                self.out.broadcast(f"{PREFIX}/progress", job.id, fraction)
                if seconds is not None:
                    self.out.broadcast(f"{PREFIX}/eta", job.id, round(seconds, 1))
        else:
            self.running = None
            self.idle_since = time.monotonic()
            self.worker_state = "ready" if self.warm_model else self.worker_state
            if kind == "done":
                _, _, path, seconds = event
                self.last_take = path
                log.info("job %d done: %s (%.2f s)", job.id, path, seconds)
                self.out.broadcast(f"{PREFIX}/done", job.id, path, float(seconds))
            elif kind == "cancelled":
                log.info("job %d cancelled", job.id)
                self.out.broadcast(f"{PREFIX}/cancelled", job.id)
            else:
                log.warning("job %d failed: %s", job.id, event[2])
                self.out.broadcast(f"{PREFIX}/error", job.id, event[2])
            self.dispatch()

    def _on_load_error(self, model: str, message: str, missing: bool) -> None:
        self.worker_state = "no model"
        fallback = self.warm_model
        text = f"model {model!r} did not load: {message}"
        if self._startup_model_missing(model, missing):
            # A fresh machine without weights: serve the embedded model, loudly labelled,
            # rather than a daemon that cannot play at all.  /oscgen/ready says it is noise.
            fallback_model = self.config.fallback_model
            text += f"; its weights are not on this machine, serving {fallback_model!r} instead"
            if fallback_model == "tiny-random":
                text += " (random weights: NOISE, not music)"
            self.out.echo(self.state.set_knob("model", fallback_model, "fallback"))
            self.load_model(fallback_model)
            self.worker_state = "starting"
        elif fallback and self.state.get("model") == model:
            text += f"; staying with {fallback}"
            self.out.echo(self.state.set_knob("model", fallback, "fallback"))
            self.worker_state = "ready"
        else:
            self.load_error = text
        log.warning(text)
        self.out.broadcast(f"{PREFIX}/error", -1, text)

    def _startup_model_missing(self, model: str, missing: bool) -> bool:
        """True when the model that failed is the configured default, its weights are simply
        not on this machine, and nothing has been warm yet: the case for the tiny fallback."""
        return (
            missing
            and self.config.fallback_model not in ("", model)
            and not self.ever_warm
            and model == self.config.defaults.get("model")
            and not _is_path(model)  # a mistyped folder is the user's to fix, not to paper over
        )

    def on_worker_death(self, worker: Worker) -> None:
        if worker is not self.worker:
            return
        reason = worker.exit_reason()
        worker.stop(timeout=0)
        self.worker = None
        self.warm_model = None
        self.worker_state = "restarting"
        for action in outbox.recover(self.config.output.folder, lambda tag, pid: tag == self.tag):
            log.info("%s, left by the worker", action)
        job, self.running = self.running, None
        if self.stopping:
            if job:
                self.out.broadcast(f"{PREFIX}/cancelled", job.id)
            return
        killed_to_cancel = bool(job and job.cancel_deadline)
        quick = time.monotonic() - worker.started_at < 10.0 and not killed_to_cancel
        self.quick_deaths = self.quick_deaths + 1 if quick else 0
        delay = RESTART_BACKOFF_S[min(self.quick_deaths, len(RESTART_BACKOFF_S) - 1)]
        if killed_to_cancel:
            log.warning("worker pid %d killed to cancel job %d", worker.pid, job.id)
            self.out.broadcast(f"{PREFIX}/cancelled", job.id)
        elif job:
            text = f"the worker process died ({reason}) during job {job.id}; the job is lost, restarting the worker"
            log.warning(text)
            self.out.broadcast(f"{PREFIX}/error", job.id, text)
        else:
            text = f"the worker process died ({reason}); restarting it"
            log.warning(text)
            self.out.broadcast(f"{PREFIX}/error", -1, text)
        if delay:
            log.info("restarting the worker in %.0f s", delay)
        self.restart_at = time.monotonic() + delay


def _is_path(model: str) -> bool:
    return os.path.isabs(os.path.expanduser(model)) or model.startswith(("./", "../", ".\\", "..\\"))
