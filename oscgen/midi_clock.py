"""MIDI clock (24 ticks per quarter note) -> tempo, for ``oscgen.midi_map.MidiMapper``.
Pure and thread-free, like the mapper; split from ``midi_map.py`` along its one seam."""

from __future__ import annotations


class ClockTempo:
    """BPM from MIDI clock (24 ticks per quarter note).

    A least-squares line through the last `window` tick times: per-tick jitter (USB, a JACK
    period) averages out instead of landing in the estimate, as it would with the latest
    interval or a median of intervals.  After a tempo change the estimate settles within one
    window (4 beats); a gap longer than `gap` seconds (clock stopped) starts a new estimate.
    A new tempo is announced at most once a beat, and only when it moved by `resolution`."""

    PPQ = 24

    def __init__(self, window: int = 96, min_ticks: int = 24, gap: float = 0.5, report_every: int = 24,
                 resolution: float = 0.1, snap: float = 0.0):
        """``snap`` > 0 rounds each estimate to a multiple of it (1: a clock at 128 BPM reads
        128, not 127.9) and then announces only snapped changes."""
        self.window, self.min_ticks, self.gap = window, min_ticks, gap
        self.report_every = report_every
        self.resolution = max(resolution, snap)
        self.snap = snap
        self.times: list[float] = []
        self.bpm: float | None = None
        self._since_report = 0

    def reset(self) -> None:
        self.times.clear()
        self._since_report = 0

    def tick(self, now: float) -> float | None:
        """Feed one clock tick; returns a new tempo to announce (rounded), else None."""
        if self.times and now - self.times[-1] > self.gap:
            self.reset()
        self.times.append(now)
        del self.times[:-self.window]
        n = len(self.times)
        if n < self.min_ticks:
            return None
        # slope of time vs tick index = seconds per tick
        mean_i = (n - 1) / 2
        mean_t = sum(self.times) / n
        num = sum((i - mean_i) * (t - mean_t) for i, t in enumerate(self.times))
        den = sum((i - mean_i) ** 2 for i in range(n))
        seconds_per_tick = num / den
        if seconds_per_tick <= 0:
            return None
        bpm = 60.0 / (seconds_per_tick * self.PPQ)
        self._since_report += 1
        first = self.bpm is None
        if first or self._since_report >= self.report_every:
            self._since_report = 0
            step = self.snap or self.resolution
            rounded = round(round(bpm / step) * step, 3)
            if first or abs(rounded - self.bpm) >= self.resolution / 2:
                self.bpm = rounded
                return rounded
        return None
