"""`oscgen bench --batch`: both sides run every batch size and the table has a row per size
(timing is reported, never asserted)."""

import json
import subprocess
import sys


def test_batch_bench_reports_every_batch_size_for_both_sides(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "oscgen", "bench", "--batch", "1,3", "--model", "tiny-random",
                           "--duration", "0.2", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [r["takes"] for r in report["oscgen"]["rows"]] == [1, 3] == [r["takes"] for r in report["transformers"]["rows"]]
    for row in report["oscgen"]["rows"]:
        assert row["wall_s"] > 0 and row["peak_mb"] > 0 and row["estimate_mb"] >= row["peak_mb"]
    assert [g["rows"] for g in report["oscgen"]["gemm"]] == [2, 6]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("batch bench: tiny-random, 0.2 s takes")
    assert [line.split()[0] for line in lines[2:4]] == ["1", "3"]


def test_batch_sizes_are_checked_by_the_flag():
    proc = subprocess.run([sys.executable, "-m", "oscgen", "bench", "--batch", "1,x"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--batch" in proc.stderr and "integers separated by commas" in proc.stderr


def test_flags_a_batch_run_would_drop_are_refused():
    for extra in (["--steps", "50"], ["--quantize", "8"], ["--reference-dtype", "float32", "--reference-dtype", "float16"]):
        proc = subprocess.run([sys.executable, "-m", "oscgen", "bench", "--batch", "1", "--model", "tiny-random", *extra],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and extra[0] in proc.stderr and "does not go with --batch" in proc.stderr, extra
