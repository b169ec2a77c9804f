"""Seconds left in a job, from the rate its progress has been measured to move at.  Shared by the
command line's bar and the daemon's ``/oscgen/eta``, so both say the same thing."""

from __future__ import annotations

import time


class Eta:
    """Feed it each progress fraction; it answers the seconds left, or None until the rate is
    known.  The rate is measured from the first fraction seen (the model load, prompt encoding
    and the first step's tracing are behind it by then) over at least ``min_seconds`` and
    ``min_fraction`` of the job, so the first figures are not a guess from one step."""

    def __init__(self, clock=time.monotonic, min_seconds: float = 0.5, min_fraction: float = 0.02):
        self._clock = clock
        self.min_seconds, self.min_fraction = min_seconds, min_fraction
        self._start: tuple[float, float] | None = None  # (time, fraction) of the first report

    def __call__(self, fraction: float) -> float | None:
        now = self._clock()
        if fraction >= 1.0:
            return 0.0
        if self._start is None:
            self._start = (now, fraction)
            return None
        t0, f0 = self._start
        elapsed, done = now - t0, fraction - f0
        if elapsed < self.min_seconds or done < self.min_fraction:
            return None
        return max(0.0, (1.0 - fraction) * elapsed / done)


def format_seconds(seconds: float) -> str:
    """12 s, 1:05 — what a bar shows."""
    seconds = int(round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"
