"""`oscgen bench` runs end to end on the tiny random model and reports every field (no timing
asserts: timings live in benchmarks/RESULTS.md, as ratios)."""

import json
import os
import statistics
import subprocess
import sys

import pytest

from oscgen import bench

SIDE_FIELDS = set(bench.METRIC_KEYS) | {"steps_ms", "steps_timed", "audio_s", "device", "job_per_10s_extrapolated"}


def _run_bench(tmp_path, *args):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "oscgen", "bench", "--model", "tiny-random", "--json", str(out), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def _check_side(side: dict, steps: int, mlx_side: bool = True):
    missing = SIDE_FIELDS - set(side)
    assert not missing, f"missing fields: {sorted(missing)}"
    # one timing per decoder step, every metric a positive number where it applies
    assert side["steps_timed"] == len(side["steps_ms"]) == steps
    for key in bench.METRIC_KEYS:
        if key == "peak_device_mb" or (key in bench.OPTIONAL_METRICS and not mlx_side):  # None there
            continue
        assert isinstance(side[key], (int, float)) and side[key] > 0, (key, side[key])
    assert side["step_ms_p90"] >= side["step_ms_median"]
    # the T5 figure: the median of the job's encode and the repeats after it, the job's among them
    encodes = side["t5_encodes_ms"]
    assert len(encodes) == 1 + bench.common.T5_REPEATS and encodes[0] == pytest.approx(side["t5_encode_ms_job"], abs=0.01)
    assert side["t5_encode_ms"] == pytest.approx(statistics.median(encodes), abs=0.01)
    if mlx_side:  # MLX's peaks include the weights they hold
        assert side["peak_mlx_mb"] >= side["weights_mb"] and side["load_peak_mlx_mb"] >= side["weights_mb"]


def test_bench_against_transformers_reports_every_field(tmp_path):
    pytest.importorskip("transformers")
    report, stdout = _run_bench(tmp_path, "--steps", "12", "--threads", "2")
    meta = report["meta"]
    assert meta["steps"] == 12 and meta["threads"] == 2 and meta["audio_s"] == pytest.approx(9 / 50)
    assert meta["random_weights"] is True
    _check_side(report["oscgen"], 12)
    _check_side(report["transformers"]["float32"], 12, mlx_side=False)
    assert all(report["transformers"]["float32"][key] is None for key in ("peak_mlx_mb", "weights_mb"))
    # same job on both sides: same number of samples
    assert report["oscgen"]["audio_s"] == report["transformers"]["float32"]["audio_s"] == pytest.approx(9 / 50)
    ratio = report["ratio"]["float32"]
    assert set(bench.METRIC_KEYS) <= set(ratio)
    assert ratio["step_ms_median"] == pytest.approx(
        report["oscgen"]["step_ms_median"] / report["transformers"]["float32"]["step_ms_median"]
    )
    # the table names every metric
    for _, label, _, _ in bench.METRICS:
        assert label in stdout
    _check_one_floor(report, stdout, sides=("oscgen", "transformers float32"))


def _check_one_floor(report, stdout, sides):
    """One floor for the run: the best read bandwidth of any side at any thread count, and each
    side's bytes per step over it (a slow BLAS must not lower its own floor)."""
    by_side = {"oscgen": report["oscgen"], **{f"transformers {rd}": ref for rd, ref in report["transformers"].items()}}
    threads = report["meta"]["threads"]
    reached = []
    for name in sides:
        side = by_side[name]
        assert sorted(map(int, side["read_gbs"])) == list(range(1, threads + 1))  # every count, all cores included
        assert side["matmul_gbs"] == max(side["read_gbs"].values())
        reached += [(gbs, name, n) for n, gbs in side["read_gbs"].items()]
    best, name, n = max(reached)
    assert report["floor"]["gbs"] == best and report["floor"]["measured_by"].startswith(f"{name}: x @ W.T")
    assert f"{n} thread" in report["floor"]["measured_by"]
    for name in sides:
        side = by_side[name]
        assert side["floor_ms"] == pytest.approx(side["weight_mb_per_step"] / best)
        assert side["step_over_floor"] == pytest.approx(side["step_ms_median"] / side["floor_ms"])
        assert f"{name} {side['step_ms_median']:.2f} ms = {side['step_over_floor']:.2f}x" in stdout
    assert f"/ {best:.1f} GB/s, the best read bandwidth of this run ({report['floor']['measured_by']})" in stdout


def test_bench_quantized_oscgen_only(tmp_path):
    report, stdout = _run_bench(tmp_path, "--steps", "8", "--no-reference", "--quantize", "8")
    assert report["transformers"] == {} and report["ratio"] == {}
    assert report["meta"]["quantize"] == 8
    _check_side(report["oscgen"], 8)
    # 8-bit weights: about a quarter of the float32 bytes (plus scales and biases)
    assert report["oscgen"]["weight_mb_per_step"] < 0.4 * bench.decoder_weight_bytes(report["meta"]["config"], 4) / 1e6
    assert "tf float32" not in stdout
    _check_one_floor(report, stdout, sides=("oscgen",))


def test_bench_rejects_bad_arguments(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "oscgen", "bench", "--model", "tiny-random", "--steps", "2"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 2
    assert "steps must be >= 4" in proc.stderr


def test_decode_step_shapes_count_the_weights_read_per_step():
    from oscgen.musicgen import tiny

    config = tiny.musicgen_config("small")
    # 24 layers x (6 d*d attention matrices + 2 d*ffn) + 4 heads of 2048 x d, float32
    d, ffn = 1024, 4096
    expected = (24 * (6 * d * d + 2 * d * ffn) + 4 * 2048 * d) * 4
    assert bench.decoder_weight_bytes(config, 4) == expected
    assert expected / 1e9 == pytest.approx(1.44, abs=0.01)  # the "~1.4 GB per step" of DESIGN.md
