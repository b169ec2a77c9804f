"""Which waiting jobs start together: pure logic, no I/O, for ``Jobs.dispatch``.

A decode step costs about the same for one take as for several (it is bound by reading the
decoder's weights, or by launching its kernels), so when the worker frees up the job at the
head of the queue takes compatible waiting jobs along into one batched pass:

- same model and top-k (they shape the compiled step; temperature, top-p, guidance, prompt,
  seed, bars and loop are per take);
- any lengths: each take is written as soon as it is done and its rows then leave the pass
  (oscgen/musicgen/decode_pass.py), so a 2 s job is not held up by a 30 s one;
- at most ``max_rows`` takes in all, each job's variations counted (a job with more variations
  than that still runs, alone);
- a job that cannot share a pass (a continuation, or a take past the model's 30 s window) runs
  alone when it reaches the head.

The head always starts, so nothing waits forever; a compatible job further back may start
before an incompatible one ahead of it, which then waits one pass longer, a pass that costs
about what it would have cost without the extra takes.

While a pass runs, ``joiners`` picks the waiting jobs that join it (continuous batching,
``[queue] join``): the same model and top-k, not alone, within ``max_rows`` takes with the rows
still running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oscgen.knobs import MAX_DURATION


@dataclass(frozen=True)
class Waiting:
    """What the scheduler needs to know about a waiting job."""

    id: int
    model: str
    top_k: int
    seconds: float  # the take's length (a bars take's seconds)
    takes: int = 1  # its variations
    alone: bool = False  # cannot share a pass

    @classmethod
    def of(cls, job_id: int, params: dict, continuation: bool = False) -> "Waiting":
        """From a job's params (State.job_params); a continuation, or a take past the model's
        window, runs alone."""
        seconds = float(params["duration"])
        alone = continuation or seconds > MAX_DURATION
        return cls(job_id, params["model"], int(params["top_k"]), seconds, int(params.get("variations", 1)), alone)


def next_batch(waiting: Sequence[Waiting], max_rows: int) -> list[int]:
    """The ids of the jobs to start now, head first then in queue order; [] when none wait."""
    if not waiting:
        return []
    head = waiting[0]
    if head.alone:
        return [head.id]
    return [head.id] + _compatible(head, waiting[1:], head.takes, max_rows)


def _compatible(head: Waiting, waiting: Sequence[Waiting], rows: int, max_rows: int) -> list[int]:
    """The ids of the jobs of ``waiting`` that share ``head``'s pass, beside ``rows`` takes."""
    chosen = []
    for job in waiting:
        if job.alone or (job.model, job.top_k) != (head.model, head.top_k) or rows + job.takes > max_rows:
            continue
        chosen.append(job.id)
        rows += job.takes
    return chosen


def joiners(running: Sequence[Waiting], waiting: Sequence[Waiting], max_rows: int) -> list[int]:
    """The ids of the waiting jobs that join the running pass of ``running`` now, in queue order."""
    if not running or any(job.alone for job in running):
        return []
    return _compatible(running[0], waiting, sum(job.takes for job in running), max_rows)
