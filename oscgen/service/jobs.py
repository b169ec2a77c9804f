"""The daemon's job state: the queue, the running job, and the worker process that runs it.

``Jobs`` owns everything that changes when a job is queued, started, cancelled or finished, or
when the worker loads a model, dies or restarts.  It sends through ``Replies`` and never reads
the socket; the daemon calls it under its lock (``drain`` takes the lock itself, per event).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace

from oscgen.config import Config
from oscgen.progress import Eta
from oscgen.service import continue_job, scheduler
from oscgen.service.clients import Replies
from oscgen.service.models import ModelRules
from oscgen.service.protocol import PREFIX
from oscgen.service.state import State
from oscgen.service.worker import Worker
from oscgen.service.worker_life import WorkerLife

log = logging.getLogger("oscgen")

CANCEL_GRACE_S = 10.0  # a job that ignores cancel this long (e.g. stuck loading) gets its worker killed


@dataclass
class Job:
    id: int
    params: dict  # State.job_params(): generate()'s arguments + bars/bpm/preset for the sidecar
    cancel_deadline: float | None = None  # set by cancel: past it, the worker is killed
    last_progress: float = -1.0  # last fraction sent, to thin progress to ~1% steps
    eta: Eta = field(default_factory=Eta)  # seconds left, from the rate progress arrives at
    dropped: set = field(default_factory=set)  # takes (1 = the first) cancelled by /oscgen/cancel_take
    delivered: int = 0  # takes reported done

    @property
    def complete(self) -> bool:
        """Every take it makes has been reported done (its "end" may still be on the way)."""
        return self.delivered + len(self.dropped) >= int(self.params.get("variations", 1))


def _waiting(job: Job, dropped: int = 0) -> scheduler.Waiting:
    """What the scheduler weighs of ``job`` (a continuation runs alone), ``dropped`` of its
    takes not counted."""
    waiting = scheduler.Waiting.of(job.id, job.params, bool(job.params.get(continue_job.AUDIO)))
    return replace(waiting, takes=waiting.takes - dropped) if dropped else waiting


class Jobs(WorkerLife):
    def __init__(self, config: Config, state: State, out: Replies, tag: str, verbose: bool = False):
        self.config, self.state, self.out, self.tag, self.verbose = config, state, out, tag, verbose
        self.models = ModelRules.from_config(config)  # what /oscgen/model may name, and what each loads
        self.queue: deque[Job] = deque()
        self.batch: list[Job] = []  # the jobs running, together in one pass (service/scheduler.py)
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

    @property
    def running(self) -> Job | None:
        """The first running job (the one /oscgen/status names), or None."""
        return self.batch[0] if self.batch else None

    def find_running(self, job_id: int) -> Job | None:
        return next((job for job in self.batch if job.id == job_id), None)

    def busy(self) -> bool:
        """A job is running or waiting."""
        return bool(self.batch) or bool(self.queue)

    def queue_full(self) -> str | None:
        """Why a new job cannot be queued now, or None."""
        busy = self.batch or self.queue
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
            "job %d queued by %s: %r, %.2f s, %s, seed %s%s",
            job.id, source, params["prompt"], params["duration"], params["model"],
            "random" if params["seed"] is None else params["seed"],
            f", {params['variations']} takes" if params.get("variations", 1) > 1 else "",
        )
        self.out.broadcast(f"{PREFIX}/queued", job.id, len(self.queue) - 1)
        self.dispatch()
        return job

    def cancel(self, job_id: int | None, source: str, reply_to=None) -> bool:
        """Cancel a queued job, or a running one (job_id None or -1 = every running job); a job
        cancelled in a running batch has its takes dropped, the others finish."""
        if job_id is None or job_id == -1:
            if not self.batch:
                self.out.error(-1, f"{PREFIX}/cancel: no job is running", reply_to)
                return False
            targets = list(self.batch)
        else:
            for job in self.queue:
                if job.id == job_id:
                    self.queue.remove(job)
                    log.info("job %d cancelled by %s before it started", job_id, source)
                    self.out.broadcast(f"{PREFIX}/cancelled", job_id)
                    return True
            job = self.find_running(job_id)
            if job is None:
                about = job_id if -2**31 <= job_id < 2**31 else -1  # /oscgen/error's job id is an int32
                self.out.error(about, f"{PREFIX}/cancel: no job {job_id} waiting or running", reply_to)
                return False
            targets = [job]
        for job in targets:
            if job.cancel_deadline is None:
                log.info("job %d: cancel requested by %s", job.id, source)
                job.cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                if self.worker is not None:
                    self.worker.cancel(job.id)
        return True

    def cancel_take(self, job_id: int, take: int, source: str, reply_to=None) -> bool:
        """Drop one take of a waiting or running job; dropping its last take cancels the job."""
        where = f"{PREFIX}/cancel_take"
        job = self.find_running(job_id) or next((j for j in self.queue if j.id == job_id), None)
        if job is None:
            about = job_id if -2**31 <= job_id < 2**31 else -1  # /oscgen/error's job id is an int32
            self.out.error(about, f"{where}: no job {job_id} waiting or running", reply_to)
            return False
        takes = int(job.params.get("variations", 1))
        if not 1 <= take <= takes:
            self.out.error(job_id, f"{where}: job {job_id} makes take{'s 1-' if takes > 1 else ' '}{takes}, got {take}",
                           reply_to)
            return False
        job.dropped.add(take)
        if len(job.dropped) == takes:
            return self.cancel(job_id, source, reply_to)
        log.info("job %d: take %d cancelled by %s", job_id, take, source)
        if job in self.queue:
            job.params = {**job.params, "dropped_takes": sorted(job.dropped)}
        elif self.worker is not None:
            self.worker.cancel_take(job_id, take)
            self.dispatch()  # its row is free: a waiting job may join the pass
        return True

    def stop(self, job_id: int | None, source: str, reply_to=None) -> bool:
        """End a running job (None or -1: every running one) early and keep its audio so far
        (the worker writes it and reports done as usual); a queued job has made nothing, so it
        is cancelled."""
        if job_id is None or job_id == -1:
            targets = list(self.batch)
            if not targets:
                self.out.error(-1, f"{PREFIX}/stop: no job is running", reply_to)
                return False
        elif self.find_running(job_id) is not None:
            targets = [self.find_running(job_id)]
        elif any(job.id == job_id for job in self.queue):
            return self.cancel(job_id, source, reply_to)
        else:
            about = job_id if -2**31 <= job_id < 2**31 else -1  # /oscgen/error's job id is an int32
            self.out.error(about, f"{PREFIX}/stop: no job {job_id} waiting or running", reply_to)
            return False
        for job in targets:
            log.info("job %d: stop requested by %s (keeping what it made)", job.id, source)
            if self.worker is not None:
                self.worker.stop_early(job.id)
        return True

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
        if self.batch or self.queue:
            return "a job is running or waiting; unload when the queue is empty (or /oscgen/clear and cancel first)"
        if self.worker is None or self.warm_model is None:
            return f"no model is loaded (worker {self.worker_state})"
        log.info("unloading %s (%s)", self.warm_model, reason)
        self.unload_reason = reason
        self.worker.send("unload")
        self.worker_state = "unloaded"
        return None

    def dispatch(self) -> None:
        """Hand the next jobs to the worker if it is free (it queues one message while loading):
        the head of the queue and the waiting jobs that may share its pass (service/scheduler.py)."""
        if self.batch and self.queue and self.worker is not None:
            self._join_running()
        if self.batch or not self.queue or self.worker is None:
            return
        head = self.queue[0]
        if head.params.get(continue_job.AUDIO) == continue_job.LAST_TAKE:
            # "continue" chains: it continues whatever finished last, known only now
            if self.last_take is None:
                self.queue.popleft()
                self.out.broadcast(f"{PREFIX}/error", head.id, f"{PREFIX}/continue: no take finished before it, "
                                   "nothing to continue")
                self.dispatch()
                return
            head.params = {**head.params, continue_job.AUDIO: self.last_take}
        waiting = [_waiting(job) for job in self.queue]
        chosen = set(scheduler.next_batch(waiting, self.config.max_batch))
        before = list(self.queue)
        jobs = [job for job in before if job.id in chosen]
        self.queue = deque(job for job in before if job.id not in chosen)
        if self.worker_state == "unloaded":  # load first, so /oscgen/ready comes before started
            self.worker.send("load", jobs[0].params["model"], self.warm_knobs())
            self.worker_state = "starting"
        if not self.worker.send("batch", [{"id": job.id, "params": job.params} for job in jobs]):
            self.queue = deque(before)  # the worker is dying; the sentinel brings a new one
            return
        if len(jobs) > 1:
            takes = sum(job.params.get("variations", 1) for job in jobs)
            log.info("batch: jobs %s start together, %d takes in one pass", ", ".join(str(job.id) for job in jobs), takes)
        self.batch = jobs

    def _join_running(self) -> None:
        """Send waiting jobs that may share the running pass to join it (continuous batching,
        ``[queue] join``; service/scheduler.joiners); the worker takes them between decode steps,
        or starts them after the pass where the engine cannot take them (the CUDA kernels' step)."""
        if not self.config.join_running or self.worker_state != "busy":
            return
        running = [_waiting(job, len(job.dropped)) for job in self.batch]
        waiting = [_waiting(job) for job in self.queue]
        chosen = set(scheduler.joiners(running, waiting, self.config.max_batch))
        if not chosen:
            return
        jobs = [job for job in self.queue if job.id in chosen]
        if not self.worker.send("join", [{"id": job.id, "params": job.params} for job in jobs]):
            return  # the worker is dying; the sentinel brings a new one
        self.queue = deque(job for job in self.queue if job.id not in chosen)
        log.info("jobs %s join the running pass of job(s) %s", ", ".join(str(job.id) for job in jobs),
                 ", ".join(str(job.id) for job in self.batch))
        self.batch += jobs

    def status(self) -> tuple[int, int, str]:
        """/oscgen/status's arguments: running job id (-1 = none), jobs waiting, worker state."""
        return (self.running.id if self.running else -1, len(self.queue), self.worker_state)

    # --- timers (the daemon's select timeout) --------------------------------------------------

    def timeout(self) -> float:
        deadlines = [t for t in (self.restart_at, *(job.cancel_deadline for job in self.batch)) if t]
        if not deadlines:
            return 1.0
        return max(0.0, min(min(deadlines) - time.monotonic(), 1.0))

    def timers(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            self.start_worker()
        idle = self.config.worker.idle_unload_minutes
        if (idle and self.worker_state == "ready" and not self.batch and not self.queue
                and now - self.idle_since >= idle * 60):
            self.unload(f"idle for {idle:g} min ([worker] idle_unload_minutes)")
        for job in self.batch:
            if job.cancel_deadline and now >= job.cancel_deadline and self.worker is not None:
                log.warning("job %d ignored cancel for %.0f s; killing the worker", job.id, CANCEL_GRACE_S)
                job.cancel_deadline = float("inf")  # once; still marks the job as being cancelled
                self.worker.process.kill()  # reported as cancelled when the sentinel fires
                break

    # --- the worker ----------------------------------------------------------------------------

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
        if kind == "ready":
            _, model, note = event
            self.warm_model, self.warm_note, self.load_error = model, note, ""
            self.ever_warm = True
            self.worker_state = "busy" if self.batch else "ready"
            self.quick_deaths = 0
            self.idle_since = time.monotonic()
            log.info("ready: %s%s", model, f" ({note})" if note else "")
            self.out.broadcast(f"{PREFIX}/ready", model, note)
            return
        if kind == "unloaded":
            _, model, freed = event
            self.warm_model, self.warm_note = None, ""
            if self.worker_state == "unloaded":
                log.info("unloaded %s (%s), %.0f MB freed", model, self.unload_reason, freed / 1e6)
                self.out.broadcast(f"{PREFIX}/unloaded", model, self.unload_reason)
            return
        if kind == "load_error":
            self._on_load_error(*event[1:])
            return
        job = self.find_running(event[1])
        if job is None:
            log.debug("stale worker event %r", event)
        elif kind == "started":
            self.worker_state = "busy"
            log.info("job %d started", job.id)
            self.out.broadcast(f"{PREFIX}/started", job.id)
            self.dispatch()  # decoding: jobs left waiting may join the pass
        elif kind == "progress":
            fraction = float(event[2])
            seconds = job.eta(fraction)
            # thinned to ~1 % steps whatever --verbose says: logging never changes the protocol
            if fraction >= 1.0 or fraction - job.last_progress >= 0.01:
                job.last_progress = fraction
                self.out.broadcast(f"{PREFIX}/progress", job.id, fraction)
                if seconds is not None:
                    self.out.broadcast(f"{PREFIX}/eta", job.id, round(seconds, 1))
        elif kind == "done":  # one take of the job (a job of variations makes several)
            _, _, path, seconds = event
            self.last_take = path
            job.delivered += 1
            log.info("job %d done: %s (%.2f s)", job.id, path, seconds)
            self.out.broadcast(f"{PREFIX}/done", job.id, path, float(seconds))
            if job.complete:  # over for the patch now: a stop or cancel after this is not about it
                self._finished(job)
        elif kind == "cancelled":
            log.info("job %d cancelled", job.id)
            self.out.broadcast(f"{PREFIX}/cancelled", job.id)
        elif kind == "error":
            log.warning("job %d failed: %s", job.id, event[2])
            self.out.broadcast(f"{PREFIX}/error", job.id, event[2])
        elif kind == "end":  # the job has said everything; the pass may go on for the others
            self._finished(job)

    def _finished(self, job: Job) -> None:
        """``job`` leaves the running batch (its last take done, or its end); the worker takes
        the next batch once none is left (it reads them in order after its current pass)."""
        self.batch.remove(job)
        if not self.batch:
            self.idle_since = time.monotonic()
            self.worker_state = "ready" if self.warm_model else self.worker_state
        self.dispatch()  # the next batch, or (rows freed) waiting jobs that may join the pass
