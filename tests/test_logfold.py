"""FoldRepeats on its own, with a hand-driven clock: one line per burst of like lines, then a
count when the burst ends, and every report_s while a flood lasts."""

from __future__ import annotations

import logging

from oscgen.service.logfold import FoldRepeats


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _logger(clock):
    handler = Lines()
    fold = FoldRepeats(handler, quiet_s=2.0, report_s=10.0, clock=lambda: clock[0])
    handler.addFilter(fold)
    log = logging.Logger("t")
    log.addHandler(handler)
    return log, handler, fold


def test_a_burst_is_one_line_then_its_count():
    clock = [0.0]
    log, out, fold = _logger(clock)
    for i in range(500):
        clock[0] = i * 0.001
        log.warning("malformed packet from %s: %s", "10.0.0.9", f"reason {i}", extra={"fold": ("malformed", "10.0.0.9")})
    log.warning("job %d done", 1)  # not alike: written at once
    assert out.lines == ["malformed packet from 10.0.0.9: reason 0", "job 1 done"]
    clock[0] = 3.0
    fold.flush()
    assert out.lines[-1] == "499 more like this in 0.5 s, the last: malformed packet from 10.0.0.9: reason 499"
    log.warning("malformed packet from %s: %s", "10.0.0.9", "again", extra={"fold": ("malformed", "10.0.0.9")})
    assert out.lines[-1] == "malformed packet from 10.0.0.9: again"  # a new burst starts with a line


def test_identical_lines_fold_and_different_ones_do_not():
    clock = [0.0]
    log, out, fold = _logger(clock)
    for _ in range(3):
        log.info("same")
    log.info("other")
    fold.flush_all()
    assert out.lines == ["same", "other", "2 more like this in 0.0 s, the last: same"]


def test_a_long_flood_reports_every_report_s():
    clock = [0.0]
    log, out, fold = _logger(clock)
    for i in range(3000):
        clock[0] = i * 0.01  # 30 s of one line every 10 ms
        log.info("flood %d", i, extra={"fold": "flood"})
    reports = [line for line in out.lines if "more like this" in line]
    assert len(reports) == 2 and len(out.lines) == 3  # at 10 s and 20 s; the rest still counting
    fold.flush_all()
    total = sum(int(line.split()[0]) for line in out.lines if "more like this" in line)
    assert total == 2999
