"""The bench's report: the table printed at the end of ``oscgen bench``."""

from __future__ import annotations

import platform
from pathlib import Path

from oscgen.bench.common import METRICS


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(fmt: str, value) -> str:
    if value is None or not isinstance(value, (int, float)) or value != value:
        return "-"
    return fmt.format(value)


def format_table(report: dict) -> str:
    meta = report["meta"]
    refs = list(report["transformers"])
    quant = f", {meta['quantize']}-bit decoder" if meta["quantize"] else ""
    lines = [
        f"oscgen bench: {meta['model']} (random weights), {meta['steps']} decoder steps "
        f"({meta['audio_s']:.2f} s of audio), oscgen {meta['dtype']}{quant}, {meta['threads']} threads "
        f"(oscgen: MKL {meta['oscgen_blas_threads']} + its Python thread), "
        f"oscgen on {report['oscgen'].get('device')}"
        + (f", transformers on {report['transformers'][refs[0]].get('device')}" if refs else ""),
        f"  sampling: top_k={meta['sampling']['top_k']} temperature={meta['sampling']['temperature']} "
        f"cfg={meta['sampling']['cfg_scale']} seed={meta['sampling']['seed']}; {meta['date']}",
    ]
    header = ["metric", "oscgen"]
    for rd in refs:
        header += [f"tf {rd}", f"oscgen/tf {rd}"]
    rows = [header]
    for key, label, _, fmt in METRICS:
        row = [label, _fmt(fmt, report["oscgen"].get(key))]
        for rd in refs:
            row += [_fmt(fmt, report["transformers"][rd].get(key)), _fmt("{:.2f}", report["ratio"][rd].get(key))]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if meta.get("audio_s") and refs:
        for rd in refs:
            r = report["ratio"][rd].get("job_s_per_10s")
            if r:
                lines.append(f"whole job: oscgen is {1 / r:.2f}x as fast as transformers {rd}")
    o = report["oscgen"]
    lines.append(
        f"oscgen decoder step: {o['step_ms_median']:.2f} ms = {o['step_over_floor']:.2f}x the weight-bandwidth floor "
        f"({o['weight_mb_per_step']:.0f} MB / {o['matmul_gbs']:.1f} GB/s = {o['floor_ms']:.2f} ms)"
    )
    return "\n".join(lines)

