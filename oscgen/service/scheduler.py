"""Which waiting takes start together: the daemon's batch scheduler, pure logic (no I/O, no
clock), so its rules are unit-tested on their own.

When the worker frees up, the first waiting take starts, and with it every later waiting take
that can share its engine pass, in queue order, up to ``[queue] max_batch``: the same model
(one model is warm at a time) and the same top-k (it shapes the compiled step; temperature,
top-p, guidance, length and seed are per take).  Takes that cannot join keep their places and
start in the next batch.  A performer's N variations are N takes queued together, so they
start as one batch whenever max_batch allows.

Continuous batching (a take that arrives while a batch runs joining it at the next cache
window) is not done: see benchmarks/RESULTS.md for what it would save.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def batch_key(params: dict) -> tuple:
    """What takes must share to decode in one pass."""
    return (params["model"], params["top_k"])


def next_batch(waiting: Sequence[T], max_batch: int, params: Callable[[T], dict]) -> list[T]:
    """The takes to start now: the first waiting one, then later ones with its batch_key, in
    queue order, ``max_batch`` at most (at least the first).  ``params(item)`` gives a take's
    generation parameters."""
    if not waiting:
        return []
    key = batch_key(params(waiting[0]))
    batch = [waiting[0]]
    for item in waiting[1:]:
        if len(batch) >= max(1, max_batch):
            break
        if batch_key(params(item)) == key:
            batch.append(item)
    return batch


def variation_seeds(seed: int | None, n: int, bound: int) -> list[int | None]:
    """Seeds for the n takes of one /oscgen/generate: seed, seed+1, … (wrapping below
    ``bound``), or None each (the worker draws a fresh one per take)."""
    if seed is None:
        return [None] * n
    return [(seed + i) % bound for i in range(n)]
