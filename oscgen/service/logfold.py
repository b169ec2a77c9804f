"""Folding log floods: 10,000 junk packets must not write 10,000 lines.

``FoldRepeats`` is a logging filter on the daemon's handler.  Records that are alike (the same
``fold`` key, passed as ``extra={"fold": key}`` by lines a remote client can trigger, such as a
malformed packet or an error reply to one host; otherwise the same level and text) form a
burst: the first line of a burst is written, the rest are counted, and when the burst ends
(nothing alike for ``quiet_s``), or every ``report_s`` while it lasts, one line says how many
were folded and shows the last.  ``flush()`` writes what is due; the daemon's loop calls it
at least once a second.  Not a library's job (logging has no burst folding): ~70 lines here.
"""

from __future__ import annotations

import logging
import threading
import time

_installed: list["FoldRepeats"] = []


class FoldRepeats(logging.Filter):
    def __init__(self, handler: logging.Handler, quiet_s: float = 2.0, report_s: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.handler, self.quiet_s, self.report_s, self.clock = handler, quiet_s, report_s, clock
        self._bursts: dict = {}  # key -> [first time, last time, folded count, last record]
        self._lock = threading.RLock()  # the OSC loop and the MIDI thread both log

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "folded_summary", False):
            return True
        key = getattr(record, "fold", None)
        key = ("fold", key) if key is not None else (record.levelno, record.getMessage())
        with self._lock:
            now = self.clock()
            self.flush(now)
            burst = self._bursts.get(key)
            if burst is None:
                self._bursts[key] = [now, now, 0, record]
                return True
            burst[1], burst[3] = now, record
            burst[2] += 1
            return False

    def flush(self, now: float | None = None) -> None:
        """Write the count of every burst that is over, or has run ``report_s`` since its last report."""
        with self._lock:
            self._flush(self.clock() if now is None else now)

    def _flush(self, now: float) -> None:
        for key, (first, last, count, record) in list(self._bursts.items()):
            over = now - last >= self.quiet_s
            if count and (over or now - first >= self.report_s):
                self._summary(record, count, last - first)
            if over:
                del self._bursts[key]  # the next alike line starts a new burst, written
            elif count and now - first >= self.report_s:
                self._bursts[key] = [now, now, 0, record]  # a flood still on: count afresh

    def flush_all(self) -> None:
        """At shutdown: every count, whether or not its burst is over."""
        with self._lock:
            for first, last, count, record in self._bursts.values():
                if count:
                    self._summary(record, count, last - first)
            self._bursts.clear()

    def _summary(self, record: logging.LogRecord, count: int, seconds: float) -> None:
        line = record.getMessage()
        summary = logging.LogRecord(record.name, record.levelno, record.pathname, record.lineno,
                                    "%d more like this in %.1f s, the last: %s", (count, seconds, line), None)
        summary.folded_summary = True
        self.handler.handle(summary)


def install(handler: logging.Handler, **kwargs) -> FoldRepeats:
    fold = FoldRepeats(handler, **kwargs)
    handler.addFilter(fold)
    _installed.append(fold)
    return fold


def flush(final: bool = False) -> None:
    for fold in _installed:
        fold.flush_all() if final else fold.flush()
