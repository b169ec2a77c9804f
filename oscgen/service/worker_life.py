"""The worker's life, for ``Jobs`` (service/jobs.py): starting one, loading and warming models,
a model that fails to load (the tiny fallback), and the worker dying (its jobs reported, a new
one started after a back-off).  A mixin over Jobs' state, split from jobs.py along that seam."""

from __future__ import annotations

import logging
import os
import time

from oscgen.knobs import MAX_DURATION
from oscgen.service import outbox
from oscgen.service.protocol import PREFIX
from oscgen.service.worker import Worker

log = logging.getLogger("oscgen")

RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # after quick successive deaths


class WorkerLife:
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
        decode step is compiled for, the variations knob (the rows of its batch), and the current
        duration (the cache windows a take of that length reaches, and EnCodec's plans on a GPU).
        A longer take later compiles its extra windows itself, once: ~0.5-2 s each on a CPU, where
        warming all of a 30 s job's windows would hold up a musicgen-small daemon's start by ~12 s."""
        # a bars take is generated a little past its end (the cut, a loop's tail): warm for that too
        duration = min(self.state.get("duration") + self.config.output.loop_crossfade + 0.05, MAX_DURATION)
        return {"top_k": self.state.get("top_k"), "top_p": self.state.get("top_p"), "cfg_scale": self.state.get("cfg"),
                "max_duration": duration, "audio_duration": duration, "takes": self.state.get("variations")}

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
        batch, self.batch = self.batch, []
        if self.stopping:
            for job in batch:
                self.out.broadcast(f"{PREFIX}/cancelled", job.id)
            return
        killed_to_cancel = any(job.cancel_deadline for job in batch)
        quick = time.monotonic() - worker.started_at < 10.0 and not killed_to_cancel
        self.quick_deaths = self.quick_deaths + 1 if quick else 0
        delay = RESTART_BACKOFF_S[min(self.quick_deaths, len(RESTART_BACKOFF_S) - 1)]
        for job in batch:
            if job.cancel_deadline:
                log.warning("worker pid %d killed to cancel job %d", worker.pid, job.id)
                self.out.broadcast(f"{PREFIX}/cancelled", job.id)
            else:
                text = f"the worker process died ({reason}) during job {job.id}; the job is lost, restarting the worker"
                log.warning(text)
                self.out.broadcast(f"{PREFIX}/error", job.id, text)
        if not batch:
            text = f"the worker process died ({reason}); restarting it"
            log.warning(text)
            self.out.broadcast(f"{PREFIX}/error", -1, text)
        if delay:
            log.info("restarting the worker in %.0f s", delay)
        self.restart_at = time.monotonic() + delay


def _is_path(model: str) -> bool:
    return os.path.isabs(os.path.expanduser(model)) or model.startswith(("./", "../", ".\\", "..\\"))
