"""The worker's batch runner (oscgen/service/runner.py) in this process, with the tiny model: what
it reports over the pipe when a batch does not fit in memory (split into its jobs, or refused
before it starts), and for a job cancelled before its batch's first step."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest

from oscgen import variations
from oscgen.config import load_config
from oscgen.service.runner import Signals, run_jobs


class Pipe:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)

    def kinds(self, job_id):
        return [m[0] for m in self.sent if m[1] == job_id]


def job(job_id, prompt, variations=1, seed=5):
    return {"id": job_id, "params": {
        "prompt": prompt, "duration": 0.5, "model": "tiny-random", "temperature": 1.0, "top_k": 250, "top_p": 0.0,
        "cfg_scale": 3.0, "seed": seed, "variations": variations, "bars": 0.0, "bpm": 120.0, "loop": 0,
        "beats_per_bar": 4, "preset": None, "extend_stride": 18.0}}


@pytest.fixture
def output(tmp_path):
    return dataclasses.replace(load_config().output, folder=tmp_path)


def signals(cancelled=()):
    return Signals([*cancelled, -1], [-1], [-1])


def run(jobs, output, sig=None):
    pipe = Pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_jobs(pipe, sig or signals(), jobs, output, "test", lambda name: name)
    return pipe


def needs(takes):
    """Bytes ``takes`` 0.5 s takes need in one pass, as the memory check computes it."""
    from oscgen import api

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine = api.load_model("tiny-random")
    return engine.memory_needed([engine.take("a", 25, 0)] * takes)


def test_a_batch_too_big_together_runs_its_jobs_one_pass_each(monkeypatch, output):
    from oscgen.musicgen import planning

    # a CPU decodes EnCodec one take at a time, so only the decoding part of the need grows with
    # the batch; for the tiny model EnCodec's part is the larger: leave it out here
    monkeypatch.setattr(planning, "AUDIO_BYTES_PER_SAMPLE", 0)
    assert needs(4) > needs(2)
    monkeypatch.setattr(variations, "free_memory", lambda: needs(2))  # room for one job's 2 takes, not 4
    pipe = run([job(1, "first", variations=2), job(2, "second", variations=2)], output)
    for job_id in (1, 2):
        kinds = pipe.kinds(job_id)
        assert kinds[0] == "started" and set(kinds[1:-3]) == {"progress"} and kinds[-3:] == ["done", "done", "end"]
        for path in [m[2] for m in pipe.sent if m[:2] == ("done", job_id)]:
            assert json.loads(Path(path).with_suffix(".json").read_text())["batch"] == {"jobs": [job_id], "takes": 2}


def test_a_job_too_big_alone_is_refused_before_it_starts(monkeypatch, output, tmp_path):
    monkeypatch.setattr(variations, "free_memory", lambda: 0)
    pipe = run([job(1, "four takes", variations=4)], output)
    assert pipe.kinds(1) == ["started", "error", "end"]
    message = next(m[2] for m in pipe.sent if m[0] == "error")
    assert "a batch of 4 take(s)" in message and "fewer variations" in message
    assert not list(tmp_path.iterdir())


def test_a_job_cancelled_before_its_batch_steps_is_dropped_and_the_other_written(output, tmp_path):
    pipe = run([job(1, "kept", variations=2), job(2, "dropped")], output, signals(cancelled=[2]))
    assert pipe.kinds(2) == ["started", "cancelled", "end"]
    assert pipe.kinds(1).count("done") == 2 and pipe.kinds(1)[-1] == "end"
    names = sorted(p.name for p in tmp_path.glob("*.wav"))
    assert len(names) == 2 and all("_kept_take" in n for n in names)


class FakeArrivals:
    """worker.Arrivals' side the runner sees: ``jobs`` hands over ``pending`` once, on its
    ``after``-th call (a decode step in)."""

    def __init__(self, pending, after=3):
        self.pending, self.after, self.calls, self.deferred = list(pending), after, 0, []

    def jobs(self):
        self.calls += 1
        if self.calls < self.after:
            return []
        pending, self.pending = self.pending, []
        return pending

    def defer(self, job):
        self.deferred.append(job)


def test_a_job_sent_during_a_pass_joins_it_and_one_that_cannot_is_deferred(output, monkeypatch):
    from oscgen.musicgen.decode_pass import DecodePass

    # whether joining pays on this host is DecodePass.worth_joining's (test_decode_pass.py): here it does
    monkeypatch.setattr(DecodePass, "worth_joining", lambda self, count: True)
    long = job(1, "the long one")
    long["params"]["duration"] = 2.0
    other_top_k = job(3, "another top k")
    other_top_k["params"]["top_k"] = 50
    arrivals = FakeArrivals([job(2, "joins"), other_top_k])
    pipe = Pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_jobs(pipe, signals(), [long], output, "test", lambda name: name, arrivals)
    assert arrivals.deferred == [other_top_k] and pipe.kinds(3) == []
    assert [k for k in pipe.kinds(2) if k != "progress"] == ["started", "done", "end"]
    done = [m for m in pipe.sent if m[0] == "done"]
    assert [m[1] for m in done] == [2, 1]  # the short joiner is written first, while the long one decodes
    sidecar = json.loads(Path(done[0][2]).with_suffix(".json").read_text())
    assert sidecar["batch"] == {"jobs": [1, 2], "takes": 2}


def test_arrivals_reads_joins_and_keeps_every_other_message_for_later():
    import multiprocessing

    from oscgen.service.worker import Arrivals

    parent, child = multiprocessing.Pipe()
    arrivals = Arrivals(child)
    assert arrivals.jobs() == []
    parent.send(("join", [{"id": 7}]))
    parent.send(("join", [{"id": 8}, {"id": 9}]))
    assert arrivals.jobs() == [{"id": 7}, {"id": 8}, {"id": 9}]
    parent.send(("batch", [{"id": 10}]))
    parent.send(("join", [{"id": 11}]))  # after a batch: kept in order with it
    parent.send(("stop",))
    assert arrivals.jobs() == []
    assert arrivals.later == [("batch", [{"id": 10}]), ("join", [{"id": 11}]), ("stop",)]
