"""The bench's report: the table printed at the end of ``oscgen bench``."""

from __future__ import annotations

from oscgen.bench.common import METRICS


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
        f"(oscgen's MKL decoding on {report['oscgen'].get('decode_threads') or '-'}), "
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
    lines += floor_lines(report)
    return "\n".join(lines)


def floor_lines(report: dict) -> list[str]:
    """How the one floor of the run was measured, and every side's step against it."""
    floor = report.get("floor")
    if not floor:
        return []
    o = report["oscgen"]
    lines = [
        f"floor: {o['weight_mb_per_step']:.0f} MB of decoder weights read per step / {floor['gbs']:.1f} GB/s, the best "
        f"read bandwidth of this run ({floor['measured_by']}) = {o['floor_ms']:.2f} ms/step"
    ]
    sides = [("oscgen", o)] + [(f"transformers {rd}", ref) for rd, ref in report["transformers"].items() if "floor_ms" in ref]
    lines.append("decoder step / floor: " + ", ".join(
        f"{name} {side['step_ms_median']:.2f} ms = {side['step_over_floor']:.2f}x" for name, side in sides))
    reached = "; ".join(f"{name} " + ", ".join(f"{n}: {v:.1f}" for n, v in side["read_gbs"].items())
                        for name, side in sides if side.get("read_gbs"))
    lines.append(f"read GB/s by threads: {reached}")
    return lines
