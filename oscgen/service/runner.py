"""What the worker process does with the jobs the daemon hands it together (service/scheduler.py
picks them): every take of every job in ONE batched engine pass (oscgen.take_batch), each take
written as its own WAV and sidecar with its own /oscgen/done as soon as it is done.  Jobs the
parent sends while the pass runs ("join") are taken between decode steps where the engine can
(continuous batching), else right after the pass.

A job makes ``variations`` takes, take i with seed + i - 1 (a random first seed when the seed
knob is -1).  Reports to the parent over ``conn``: ("started", id) per job, ("progress", id,
fraction) per job (its longest take's), ("done", id, path, seconds) per take, ("error", id,
message), ("cancelled", id), and ("end", id) once a job has said all it will: the parent frees
it then.  A job cancelled while its batch runs has its takes dropped (not decoded to audio, not
written) and is told cancelled at once; the others finish.  A continuation, or a take past the
model's 30 s window, is made alone, its takes one after another.  Imported only in the worker.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
import traceback
import warnings

from oscgen.knobs import MAX_DURATION

log = logging.getLogger("oscgen.worker")


class Cancelled(Exception):
    """Raised from a progress callback to stop the pass once every job in it is cancelled."""


class Signals:
    """The parent's requests, as shared arrays of job ids it writes (worker.Worker.cancel /
    stop_early): cancel drops a job's takes, stop ends them early keeping what was made."""

    def __init__(self, cancel_ids, stop_ids, take_ids=(), take_slots: int = 64):
        self._cancel, self._stop, self._takes, self._slots = cancel_ids, stop_ids, take_ids, take_slots

    def cancelled(self, job_id: int) -> bool:
        return job_id in self._cancel[:]

    def take_cancelled(self, job_id: int, take: int) -> bool:
        """/oscgen/cancel_take job take (take 1 = the first)."""
        return job_id * self._slots + take in self._takes[:]

    def stopped(self, job_id: int) -> bool:
        return job_id in self._stop[:]


class _Run:
    """One job's takes as they are made and reported."""

    def __init__(self, job: dict):
        self.id, self.params = job["id"], job["params"]
        self.takes = int(self.params.get("variations", 1))
        self.seeds = seeds_for(self.params["seed"], self.takes)
        dropped = set(self.params.get("dropped_takes", ()))  # cancelled while the job waited
        self.rows = [i for i in range(self.takes) if i + 1 not in dropped]  # the takes to make (0 = the first)
        self.fractions = {i: 0.0 for i in self.rows}
        self.left = set(self.rows)  # takes not reported yet
        self.ended = False

    def end(self, conn, kind: str | None = None, *args) -> None:
        """Report ``kind`` (cancelled, error) if given, then that the job is over; once."""
        if self.ended:
            return
        if kind is not None:
            conn.send((kind, self.id, *args))
        conn.send(("end", self.id))
        self.ended = True


def seeds_for(seed: int | None, takes: int) -> list[int]:
    """Take i's seed: seed + i, from a random first seed when ``seed`` is None (the knob's -1)."""
    from oscgen import api

    first = seed if seed is not None else secrets.randbelow(api.RANDOM_SEED_BOUND - takes + 1)
    return [first + i for i in range(takes)]


def run_jobs(conn, signals: Signals, jobs: list[dict], output, tag: str, engine_model, arrivals=None) -> bool:
    """Make ``jobs`` (dicts of id and params), report everything; True if decoding began (the
    model is loaded).  ``engine_model(name)``: what the engine loads for a model name.
    ``arrivals`` (worker.Arrivals): jobs sent to join the pass while it runs."""
    runs = [_Run(job) for job in jobs]
    for run in runs:
        conn.send(("started", run.id))
    if len(runs) == 1 and not batchable(runs[0].params):
        return _one_by_one(conn, signals, runs[0], output, tag, engine_model)
    from oscgen.take_batch import NotBatchable, TooBig

    try:
        return _batched(conn, signals, runs, output, tag, engine_model, arrivals)
    except TooBig as exc:
        if len(runs) == 1:
            runs[0].end(conn, "error", f"{exc} (fewer variations, or shorter takes)")
            return False
        log.info("jobs %s do not fit in memory together (%s); one job at a time", _ids(runs), exc)
    except NotBatchable as exc:
        log.info("jobs %s: %s; one take at a time", _ids(runs), exc)
        loaded = False
        for run in runs:
            loaded |= _one_by_one(conn, signals, run, output, tag, engine_model)
        return loaded
    loaded = False
    for run in runs:  # too big together: each job's takes in a pass of their own
        if run.ended:
            continue
        try:
            loaded |= _batched(conn, signals, [run], output, tag, engine_model)
        except TooBig as exc:
            run.end(conn, "error", f"{exc} (fewer variations, or shorter takes)")
        except NotBatchable:
            loaded |= _one_by_one(conn, signals, run, output, tag, engine_model)
    return loaded


def batchable(params: dict) -> bool:
    """Whether a job's takes can share a pass: not a continuation, within the model's window."""
    from oscgen.service import continue_job

    return not params.get(continue_job.AUDIO) and float(params["duration"]) <= MAX_DURATION


def _ids(runs) -> str:
    return ", ".join(str(run.id) for run in runs)


def _end_failed(conn, runs, exc: Exception) -> None:
    """End ``runs`` with an error the performer can act on: a ValueError's own message (bad
    arguments or an unknown model: it says which), else "generation failed" and the traceback
    in the log.  Call from an ``except`` block."""
    if isinstance(exc, ValueError):
        message = re.sub(r"^requests\[\d+\]: ", "", str(exc))
    else:
        log.error("job(s) %s failed:\n%s", _ids(runs), traceback.format_exc().rstrip())
        message = f"generation failed: {type(exc).__name__}: {exc}"
    for run in runs:
        run.end(conn, "error", message)


def _batched(conn, signals: Signals, runs: list[_Run], output, tag: str, engine_model, arrivals=None) -> bool:
    """``runs`` in one pass, each take written as soon as it is done; ``arrivals`` (the
    worker's pipe, worker.Arrivals): jobs sent to join the running pass, taken once a step."""
    from oscgen.take_batch import DROP, STOP, NotBatchable, TooBig, generate_take_batch

    rows = [(run, i) for run in runs for i in run.rows]
    batch = {"jobs": [run.id for run in runs], "takes": len(rows)}
    decoding = []

    def gone(run: _Run) -> bool:
        """True once the job is cancelled (told at once); Cancelled when every job is."""
        if not run.ended and signals.cancelled(run.id):
            log.info("job %d cancelled in its batch; its takes are dropped", run.id)
            run.end(conn, "cancelled")
        if run.ended and all(r.ended for r in runs):
            raise Cancelled
        return run.ended

    def control(row: int):
        run, i = rows[row]
        if gone(run) or signals.take_cancelled(run.id, i + 1):
            return DROP
        return STOP if signals.stopped(run.id) else None

    def callback(run: _Run, i: int):
        def progress(fraction: float) -> None:
            decoding[:] = [True]  # decoding began: the model is loaded
            run.fractions[i] = fraction
            if i == run.rows[-1] and not gone(run):  # once a step per job, after all its takes
                conn.send(("progress", run.id, float(min(run.fractions.values()))))
        return progress

    def on_result(row: int, result) -> None:
        """Write take ``row`` as soon as it is done; a job ends with its last take."""
        run, i = rows[row]
        run.left.discard(i)
        if run.ended or signals.cancelled(run.id):
            run.end(conn, "cancelled")
        elif result is None or signals.take_cancelled(run.id, i + 1):  # dropped
            pass
        elif isinstance(result, Exception):  # stopped before it made a beat
            conn.send(("error", run.id, f"take {i + 1}: {result}" if run.takes > 1 else str(result)))
        else:
            write(conn, run.id, run.params, result, output, tag, take=(i + 1, run.takes), batch=batch)
        if not run.left:
            run.end(conn)

    def incoming(admit) -> None:
        """Jobs sent while the pass runs join it when they can; the others wait for it to end."""
        for job in arrivals.jobs():
            run = _Run(job)
            joined = admit([take_request(run.params, output, model, run.seeds[i]) for i in run.rows],
                           [callback(run, i) for i in run.rows]) if run.rows and batchable(run.params) else None
            if joined is None:
                arrivals.defer(job)
                continue
            conn.send(("started", run.id))
            log.info("job %d joins the running pass of job(s) %s: %d take(s)", run.id, _ids(runs), len(run.rows))
            runs.append(run)
            rows.extend((run, i) for i in run.rows)
            batch["jobs"].append(run.id)
            batch["takes"] += len(run.rows)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = engine_model(runs[0].params["model"])
            requests = [take_request(run.params, output, model, run.seeds[i]) for run, i in rows]
            if len(runs) > 1:
                log.info("jobs %s: %d takes in one pass", _ids(runs), len(rows))
            generate_take_batch(requests, progress_callbacks=[callback(run, i) for run, i in rows], control=control,
                                incoming=None if arrivals is None else incoming, on_result=on_result)
    except (TooBig, NotBatchable):
        raise
    except Cancelled:
        for run in runs:
            run.end(conn, "cancelled")
        return bool(decoding)
    except Exception as exc:
        _end_failed(conn, runs, exc)
        return bool(decoding)
    for run in runs:
        run.end(conn)
    return True


def _one_by_one(conn, signals: Signals, run: _Run, output, tag: str, engine_model) -> bool:
    """A job whose takes cannot share a pass (a continuation, a long take): one after another."""
    from oscgen.service import continue_job
    from oscgen.take import generate_take

    decoding = []
    for n, i in enumerate(run.rows):
        seed = run.seeds[i]
        if n and (signals.stopped(run.id) or signals.cancelled(run.id)):
            break  # stop ends the job: the takes not begun are not made
        if signals.take_cancelled(run.id, i + 1):
            continue

        def progress(fraction: float, n=n, i=i) -> None:
            decoding[:] = [True]  # decoding began: the model is loaded
            if signals.cancelled(run.id) or signals.take_cancelled(run.id, i + 1):
                raise Cancelled
            conn.send(("progress", run.id, float((n + fraction) / len(run.rows))))

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                params = {**run.params, "model": engine_model(run.params["model"]), "seed": seed}
                stop = lambda: signals.stopped(run.id)  # noqa: E731 (/oscgen/stop: keep what was made)
                if params.get(continue_job.AUDIO):
                    result = continue_job.run(params, output, progress, stop=stop)
                else:
                    result = generate_take(**take_arguments(params, output), progress_callback=progress, stop=stop)
            if signals.cancelled(run.id) or signals.take_cancelled(run.id, i + 1):
                raise Cancelled
        except Cancelled:
            if not signals.cancelled(run.id):
                continue  # that take only: the next one
            run.end(conn, "cancelled")
            return bool(decoding)
        except Exception as exc:
            _end_failed(conn, [run], exc)
            return bool(decoding)
        if not write(conn, run.id, run.params, result, output, tag, take=(i + 1, run.takes)):
            break
    if signals.cancelled(run.id):
        run.end(conn, "cancelled")
    run.end(conn)
    return True


def take_request(params: dict, output, model: str, seed: int) -> dict:
    """oscgen.take_batch's request for one take of a job."""
    args = take_arguments({**params, "model": model, "seed": seed}, output)
    args.pop("extend_stride")
    return args


def take_arguments(params: dict, output) -> dict:
    """oscgen.take.generate_take's arguments for a job: the knobs frozen when it was queued
    (bars 0 = a take of ``duration`` seconds) and [output]'s finishing options."""
    args = {k: params[k] for k in ("prompt", "duration", "model", "temperature", "top_k", "top_p", "cfg_scale", "seed",
                                   "bpm", "beats_per_bar")}
    return {**args, "bars": params["bars"] or None, "loop": bool(params.get("loop")), "crossfade": output.loop_crossfade,
            "tempo_text": output.tempo_text, "finish": output.finish, "extend_stride": params.get("extend_stride")}


def write(conn, job_id: int, params: dict, result, output, tag: str, *, take: tuple[int, int] = (1, 1),
          batch: dict | None = None) -> bool:
    """Write one take's WAV (then sidecar) and report done; False (after an error) if it could not."""
    from oscgen.service import outbox

    number, takes = take
    sidecar = None
    if output.sidecar:
        sidecar = sidecar_for({"id": job_id, "params": params}, result)
        sidecar.update(take=number, takes=takes)
        if batch is not None:
            sidecar["batch"] = batch  # the jobs whose takes shared this one's pass, and how many takes
    stem = outbox.file_stem(output.name, job_id, params["prompt"], params["model"], result.seed, bpm=params["bpm"],
                            bars=params["bars"], preset=params["preset"], take=number if takes > 1 else None)
    try:
        path = outbox.save(output.folder, stem, result.audio.numpy(), result.sample_rate, output.subtype, sidecar, tag,
                           chunks=result.take.chunks())
    except OSError as exc:
        conn.send(("error", job_id, f"could not write the WAV to {output.folder}: {exc.strerror or exc}"))
        return False
    except Exception as exc:  # whatever else writing raises, the job fails and the worker lives
        log.error("job %d: writing failed:\n%s", job_id, traceback.format_exc().rstrip())
        conn.send(("error", job_id, f"could not write the WAV to {output.folder}: {type(exc).__name__}: {exc}"))
        return False
    conn.send(("done", job_id, str(path), float(result.duration)))
    return True


def sidecar_for(job: dict, result) -> dict:
    """Everything needed to regenerate the file: ``oscgen.generate_take(**sidecar["generate"])``."""
    from oscgen import __version__
    from oscgen.service import continue_job

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
    sidecar.update(continue_job.sidecar_fields(params, result))
    if result.warning:
        sidecar["note"] = result.warning
    return sidecar
