"""The generation worker: a separate process (multiprocessing, spawn) that imports the engine,
keeps the model warm and runs one job at a time, so the OSC process never blocks on MLX and a
crash in generation cannot take the daemon down.

Parent -> worker over a Pipe: ("load", model, warm_knobs), ("job", job dict), ("unload",), ("stop",).
``warm_knobs`` (oscgen.api.warm_up's keyword arguments: the daemon's top_k, top_p, cfg_scale and
duration) are what the worker warms the model up for after loading, so the first job after a
load is as fast as the next.
Worker -> parent: ("ready", model, note), ("load_error", model, message, missing), ("started", id),
("progress", id, fraction), ("done", id, path, seconds), ("cancelled", id), ("error", id, message),
("unloaded", model, bytes freed).
Cancel: the parent writes the job id into a shared int; the engine's progress callback sees it
and raises, which stops generation within a decode step (the engine contract).  Stop: the same
through a second shared int, read by generate_take's ``stop``: decoding ends and the audio made
so far is written (whole bars in bars mode).
"""

from __future__ import annotations

import datetime
import logging
import multiprocessing
import os
import signal
import time
import traceback
import warnings

from oscgen.config import OutputConfig

log = logging.getLogger("oscgen.worker")


class Cancelled(Exception):
    """Raised from the progress callback to stop a job the parent cancelled."""


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, model: str, warm_knobs: dict, output: OutputConfig, tag: str, verbose: bool, models=None):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.cancel_id = ctx.RawValue("q", -1)  # job id to cancel; one aligned int, no lock needed
        self.stop_id = ctx.RawValue("q", -1)  # job id to end early, keeping its audio
        self.process = ctx.Process(
            target=worker_main,
            args=(child_conn, self.cancel_id, self.stop_id, model, warm_knobs, output, tag, verbose, models),
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
        self.cancel_id.value = job_id

    def stop_early(self, job_id: int) -> None:
        self.stop_id.value = job_id

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


def worker_main(conn, cancel_id, stop_id, model: str, warm_knobs: dict, output: OutputConfig, tag: str, verbose: bool,
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
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        kind = message[0]
        if kind == "stop":
            return
        if api is None:
            job_id = message[1]["id"] if kind == "job" else -1
            conn.send(("error", job_id, "cannot generate: the engine (oscgen.api) failed to import; see the daemon's log"))
        elif kind == "load":
            _warm(conn, api, message[1], message[2], warm)
        elif kind == "unload":
            _unload(conn, api, warm)
        elif kind == "job":
            params = message[1]["params"]
            loaded = _run_job(conn, (cancel_id, stop_id), api, message[1], output, tag)
            if loaded and params["model"] != warm["model"]:  # loaded and compiled by the job: tells the parent
                _warm(conn, api, params["model"], None, warm)


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


def _run_job(conn, signals, api, job: dict, output: OutputConfig, tag: str) -> bool:
    """Run one job, reporting over ``conn``; True if its model got loaded (decoding began).
    ``signals``: the shared (cancel id, stop id) the parent writes."""
    from oscgen.service import continue_job, outbox
    from oscgen.take import generate_take

    job_id = job["id"]
    params = job["params"]
    cancel_id, stop_id = signals
    conn.send(("started", job_id))

    decoding = []

    def progress(fraction: float) -> None:
        if not decoding:
            decoding.append(True)
        if cancel_id.value == job_id:
            raise Cancelled
        conn.send(("progress", job_id, float(fraction)))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            engine_params = {**params, "model": _engine_model(params["model"])}
            stop = lambda: stop_id.value == job_id  # noqa: E731 (/oscgen/stop: keep what was made)
            if params.get(continue_job.AUDIO):
                result = continue_job.run(engine_params, output, progress, stop=stop)
            else:
                result = generate_take(**take_arguments(engine_params, output), progress_callback=progress, stop=stop)
        if cancel_id.value == job_id:
            raise Cancelled
    except Cancelled:
        conn.send(("cancelled", job_id))
        return bool(decoding)
    except ValueError as exc:  # bad arguments or an unknown model: the message says which
        conn.send(("error", job_id, str(exc)))
        return bool(decoding)
    except Exception as exc:
        log.error("job %d failed:\n%s", job_id, traceback.format_exc().rstrip())
        conn.send(("error", job_id, f"generation failed: {type(exc).__name__}: {exc}"))
        return bool(decoding)

    sidecar = _sidecar(job, result) if output.sidecar else None
    stem = outbox.file_stem(output.name, job_id, params["prompt"], params["model"], result.seed,
                            bpm=params["bpm"], bars=params["bars"], preset=params["preset"])
    try:
        path = outbox.save(output.folder, stem, result.audio.numpy(), result.sample_rate, output.subtype, sidecar, tag,
                           chunks=result.take.chunks())
    except OSError as exc:
        conn.send(("error", job_id, f"could not write the WAV to {output.folder}: {exc.strerror or exc}"))
        return True
    except Exception as exc:  # whatever else writing raises, the job fails and the worker lives
        log.error("job %d: writing failed:\n%s", job_id, traceback.format_exc().rstrip())
        conn.send(("error", job_id, f"could not write the WAV to {output.folder}: {type(exc).__name__}: {exc}"))
        return True
    conn.send(("done", job_id, str(path), float(result.duration)))
    return True


def take_arguments(params: dict, output: OutputConfig) -> dict:
    """oscgen.take.generate_take's arguments for a job: the knobs frozen when it was queued
    (bars 0 = a take of ``duration`` seconds) and [output]'s finishing options."""
    args = {k: params[k] for k in ("prompt", "duration", "model", "temperature", "top_k", "top_p", "cfg_scale", "seed",
                                   "bpm", "beats_per_bar")}
    return {**args, "bars": params["bars"] or None, "loop": bool(params.get("loop")), "crossfade": output.loop_crossfade,
            "tempo_text": output.tempo_text, "finish": output.finish, "extend_stride": params.get("extend_stride")}


def _sidecar(job: dict, result) -> dict:
    """Everything needed to regenerate the file: ``oscgen.generate_take(**sidecar["generate"])``."""
    from oscgen import __version__

    params = job["params"]
    engine_params = {
        k: v for k, v in dict(result.params).items() if k not in ("progress_callback", "output_file") and not callable(v)
    }
    engine_params["seed"] = result.seed
    sidecar = {
        "prompt": params["prompt"],
        "model": engine_params.get("model", params["model"]),
        "seed": result.seed,
        "duration": params["duration"],
        "temperature": params["temperature"],
        "top_k": params["top_k"],
        "top_p": params["top_p"],
        "cfg_scale": params["cfg_scale"],
        "bars": params["bars"],
        "bpm": params["bpm"],
        "beats_per_bar": params["beats_per_bar"],
        "loop": bool(params.get("loop")),
        "preset": params["preset"],
        "text": result.text,  # what the model was given: the prompt, with the tempo in bars mode
        "audio_seconds": float(result.duration),
        "samples": int(result.audio.shape[1]),  # in bars mode exactly round(bars x beats x 60 / bpm x rate)
        "sample_rate": int(result.sample_rate),
        "gain_db": round(float(result.take.gain_db), 3),
        "stopped": bool(result.stopped),  # /oscgen/stop ended it early: what was made until then
        "job": job["id"],
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "oscgen": __version__,
        "generate": engine_params,  # oscgen.generate_take(**sidecar["generate"]) makes this file again
    }
    if result.stopped and result.take.bars is not None and result.take.bars.musical:
        sidecar["requested_bars"], sidecar["bars"] = params["bars"], result.take.bars.bars  # the bars kept
    from oscgen.service import continue_job

    sidecar.update(continue_job.sidecar_fields(params, result))
    if result.warning:
        sidecar["note"] = result.warning
    return sidecar
