"""Which waiting jobs start together: pure logic, no I/O, for ``Jobs.dispatch``.

A decode step costs about the same for one take as for several (it is bound by reading the
decoder's weights, or by launching its kernels), so when the worker frees up the job at the
head of the queue takes compatible waiting jobs along into one batched pass:

- same model and top-k (they shape the compiled step; temperature, top-p, guidance, prompt,
  seed, bars and loop are per take);
- lengths within ``LENGTH_SLACK`` of each other: a take's WAV is written when the whole pass is
  done, so a 2 s job is never held up by a 30 s one;
- at most ``max_rows`` takes in all, each job's variations counted (a job with more variations
  than that still runs, alone);
- a job that cannot share a pass (a continuation, or a take past the model's 30 s window) runs
  alone when it reaches the head.

The head always starts, so nothing waits forever; a compatible job further back may start
before an incompatible one ahead of it, which then waits one pass longer, a pass that costs
about what it would have cost without the extra takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oscgen.knobs import MAX_DURATION

#: the longest take in a batch may be at most this many times the shortest
LENGTH_SLACK = 1.25


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


def next_batch(waiting: Sequence[Waiting], max_rows: int, slack: float = LENGTH_SLACK) -> list[int]:
    """The ids of the jobs to start now, head first then in queue order; [] when none wait."""
    if not waiting:
        return []
    head = waiting[0]
    chosen = [head]
    if head.alone:
        return [head.id]
    rows = head.takes
    shortest = longest = head.seconds
    for job in waiting[1:]:
        if job.alone or (job.model, job.top_k) != (head.model, head.top_k):
            continue
        if rows + job.takes > max_rows:
            continue
        low, high = min(shortest, job.seconds), max(longest, job.seconds)
        if high > slack * low:
            continue
        chosen.append(job)
        rows += job.takes
        shortest, longest = low, high
    return [job.id for job in chosen]
