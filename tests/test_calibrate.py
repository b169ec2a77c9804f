"""MKL's decode thread count is measured once per host + BLAS, cached, shown by `oscgen doctor`,
redone by `oscgen doctor --calibrate`, and used by every later process.  Nothing here depends
on which count wins on this host: the tests check that every candidate was measured, that the
choice follows the rule, and that a cached choice is the one a fresh process decodes with."""

import json
import platform
import sys

import mlx.core as mx
import numpy as np
import pytest

from oscgen import _blas, calibrate, gemm_plan
from tests._io_fixtures import run_oscgen, run_python

HAS_MKL = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64") and bool(_blas._candidate_paths())
needs_mkl = pytest.mark.skipif(not HAS_MKL, reason="the calibration chooses MKL's threads")


def _env(tmp_path, **extra):
    # a clean BLAS environment (see test_blas.py) and a cache of this test's own
    return {"OSCGEN_BLAS": None, "MKL_NUM_THREADS": None, "OSCGEN_CPU_THREADS": None,
            "OSCGEN_CACHE": str(tmp_path / "cache"), **extra}


WHERE = "import oscgen\nfrom oscgen import _blas\nprint(_blas.calibration_file())\n"
THREADS = "import oscgen, mlx.core\nfrom oscgen import _blas\nprint(_blas.mkl_threads(), _blas.oscgen_cores())\n"


def test_candidates_cover_one_thread_to_every_core():
    assert calibrate.candidates(1) == [1]
    assert calibrate.candidates(2) == [1, 2]
    assert calibrate.candidates(6) == [1, 2, 3, 4, 5, 6]
    assert calibrate.candidates(48) == [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 48]


def test_the_real_step_decides_when_timed_and_ties_go_to_more_threads():
    gbs = {1: 20.0, 2: 30.0}
    assert calibrate.choose(gbs) == 2
    assert calibrate.choose(gbs, {1: 60.0, 2: 80.0}) == 1  # the step outranks the matmuls
    assert calibrate.choose({1: 30.0, 2: 29.9}) == 2  # within 2 %: noise, the fallback's count
    assert calibrate.choose({1: 30.0, 2: 20.0, 4: 29.5}) == 4


def _times(**rows):
    """{rows: {way: seconds}} from n<rows>=(x @ W.T, (W @ x.T).T[, OpenBLAS[, OpenBLAS's (W @ x.T).T[,
    the own kernel]]])."""
    ways = (gemm_plan.PLAIN, gemm_plan.WXT, gemm_plan.OPENBLAS, gemm_plan.OPENBLAS_WXT, gemm_plan.OWN)
    return {int(n[1:]): dict(zip(ways, t)) for n, t in rows.items()}


def test_each_row_count_takes_its_measured_fastest_way():
    # a 2-core AMD EPYC, MKL on 2 threads (oscgen bench --batch's sweep, 2026-12-02, ms)
    amd = _times(n1=(60, 40, 90), n2=(67, 44, 93), n4=(109, 75, 69), n8=(139, 112, 68), n16=(150, 97, 75),
                 n32=(200, 150, 100))
    assert gemm_plan.choose_plan(amd) == {"openblas_rows": [4, 32], "openblas_wxt_rows": None, "own_rows": None, "wxt_rows": [[1, 3]], "pad_rows": []}
    # an Intel Xeon without OpenBLAS: x @ W.T for one take, (W @ x.T).T from 8 rows (RESULTS.md)
    intel = _times(n2=(125, 249), n4=(298, 331), n8=(523, 418), n16=(608, 384))
    assert gemm_plan.choose_plan(intel) == {"openblas_rows": None, "openblas_wxt_rows": None, "own_rows": None, "wxt_rows": [[8, 16]],
                                             "pad_rows": [[8, 15, 16]]}
    # within MARGIN: the default stays; OpenBLAS takes the one run of wins that saves the most
    close = _times(n1=(100, 100, 94), n2=(100, 97, 98), n4=(100, 120, 80), n8=(100, 70, 90), n16=(100, 120, 50),
                   n32=(100, 120, 60))
    assert gemm_plan.choose_plan(close) == {"openblas_rows": [16, 32], "openblas_wxt_rows": None, "own_rows": None, "wxt_rows": [[8, 15]],
                                             "pad_rows": [[1, 15, 16]]}
    assert gemm_plan.choose_plan(_times(n2=(10, 20, 30))) == {"openblas_rows": None, "openblas_wxt_rows": None, "own_rows": None, "wxt_rows": [], "pad_rows": []}


def test_rows_run_padded_to_a_larger_count_that_streams_faster():
    # a 2-core AMD EPYC (Zen 4), MKL on 2 threads (oscgen bench --batch's sweep, 2026-12-02, ms):
    # 8 rows are slowest in every way, 16 rows as (W @ x.T).T stream at 4 rows' speed
    epyc = _times(n2=(92.6, 67.4, 127.4), n4=(138.9, 98.3, 131.0), n8=(136.8, 165.4, 135.8), n16=(160.3, 98.8, 164.6))
    plan = gemm_plan.choose_plan(epyc)
    assert plan == {"openblas_rows": None, "openblas_wxt_rows": None, "own_rows": None, "wxt_rows": [[2, 7], [16, 16]], "pad_rows": [[8, 15, 16]]}
    record = {"plan_ms": {str(n): ways for n, ways in epyc.items()}, **plan}
    assert gemm_plan.pad_rows(record) == ((8, 15, 16),)
    assert gemm_plan.pass_ms(record, 8) == 98.8 and gemm_plan.pass_ms(record, 4) == 98.3  # what the rows run at
    assert "rows 8-15 padded to 16" in gemm_plan.describe(record)
    assert gemm_plan.pad_rows({"wxt_rows": []}) == ()  # a record from before padding: none


def test_openblas_takes_the_transposed_form_where_it_streams_fastest():
    # the same EPYC, a 256 MB probe (ms): OpenBLAS's (W @ x.T).T wins at 4 and 8 rows, and
    # 2 rows keep MKL's; one run of wins, x @ W.T on OpenBLAS nowhere
    epyc = _times(n2=(24.5, 19.6, 35.3, 36.4), n4=(36.1, 28.7, 35.7, 20.0), n8=(40.3, 42.8, 36.6, 25.5),
                  n16=(47.9, 26.5, 46.1, 40.7))
    plan = gemm_plan.choose_plan(epyc)
    assert plan == {"openblas_rows": None, "openblas_wxt_rows": [4, 15], "own_rows": None, "wxt_rows": [[2, 16]], "pad_rows": []}
    assert "rows 4-15 on OpenBLAS as (W @ x.T).T" in gemm_plan.describe({"plan_ms": {"2": {}}, **plan})
    # x @ W.T on OpenBLAS takes its run first; the transposed form only the counts left
    both = _times(n2=(30, 30, 10, 20), n4=(30, 30, 10, 20), n8=(30, 30, 30, 10))
    assert gemm_plan.choose_plan(both)["openblas_rows"] == [2, 7]
    assert gemm_plan.choose_plan(both)["openblas_wxt_rows"] == [8, 8]


def test_the_own_kernel_takes_the_row_counts_where_it_streams_fastest():
    # a 2-core Zen 1 EPYC, a 302 MB probe (ms, 2026-12-02): the kernel wins from 1 to 8 rows,
    # OpenBLAS's (W @ x.T).T at 16, MKL's (W @ x.T).T at 32
    zen1 = _times(n1=(17.2, 17.2, 40.4, 42.4, 13.1), n2=(28.6, 18.8, 47.6, 39.4, 13.1),
                  n4=(83.6, 28.8, 51.3, 43.2, 19.3), n8=(100.2, 40.1, 48.6, 50.0, 34.0),
                  n16=(116.2, 52.1, 64.8, 48.0, 62.8), n32=(150.1, 94.7, 96.6, 120.0, 125.0))
    plan = gemm_plan.choose_plan(zen1)
    assert plan == {"openblas_rows": None, "openblas_wxt_rows": [16, 31], "own_rows": [1, 15], "wxt_rows": [[16, 32]],
                    "pad_rows": []}
    assert "rows 1-15 on oscgen's kernel" in gemm_plan.describe({"plan_ms": {"2": {}}, **plan})
    # where the kernel was not measured (no AVX2), the plan is the libraries' alone
    assert gemm_plan.choose_plan(_times(n2=(67, 44, 93), n4=(109, 75, 69)))["own_rows"] is None


def test_a_padded_linear_is_each_rows_own_product(monkeypatch):
    from oscgen.musicgen import layers

    monkeypatch.setattr(layers, "PAD_ROWS", ((3, 5, 8),))
    rng = np.random.default_rng(0)
    w = mx.array(rng.standard_normal((48, 32)).astype(np.float32))
    for wxt in ((), ((8, 8),)):
        monkeypatch.setattr(layers, "WXT_ROWS", wxt)
        for shape in ((4, 32), (1, 5, 32), (2, 1, 32)):  # padded, padded, too few rows to pad
            x = mx.array(rng.standard_normal(shape).astype(np.float32))
            got = layers.matmul_t(x, w)
            assert got.shape == (*shape[:-1], 48)
            np.testing.assert_allclose(np.array(got), np.array(x) @ np.array(w).T, rtol=1e-5, atol=1e-5)
    assert layers.padded_rows(2) == 2 and layers.padded_rows(3) == 8 and layers.padded_rows(6) == 6


def test_a_measured_count_covers_the_rows_up_to_the_next():
    assert gemm_plan._spans([1, 2, 4, 8], [True, True, False, True]) == [[1, 3], [8, 8]]
    assert gemm_plan._spans([2, 4, 8], [False, True, True]) == [[4, 8]]
    assert gemm_plan._spans([2, 4], [False, False]) == []


@needs_mkl
def test_doctor_calibrate_measures_every_count_caches_and_shows_the_choice(tmp_path):
    env = _env(tmp_path)
    result = run_oscgen("doctor", "--calibrate", env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "calibrating on matmuls only" in result.stderr  # no musicgen-small in this cache
    path = run_python(WHERE, env=env).stdout.strip()
    record = json.loads(open(path).read())
    counts = calibrate.candidates(record["key"]["cores"])
    assert sorted(map(int, record["matmul_gbs"])) == counts
    assert all(v > 0 for v in record["matmul_gbs"].values())
    assert record["decode_threads"] == calibrate.choose({int(n): v for n, v in record["matmul_gbs"].items()})
    assert record["decided_by"] == "matmul bandwidth" and record["step_ms"] is None
    # every way at every planned row count (OpenBLAS too: setup.sh installs it beside MKL), and
    # the choice by choose_plan's rule
    assert _blas.router is not None, _blas.ROUTER_MISSING
    plan = {int(n): ways for n, ways in record["plan_ms"].items()}
    assert sorted(plan) == list(gemm_plan.PLAN_ROWS)
    ways_here = [gemm_plan.PLAIN, gemm_plan.WXT, gemm_plan.OPENBLAS, gemm_plan.OPENBLAS_WXT] + \
        ([gemm_plan.OWN] if _blas.router.own_supported() else [])  # the kernel needs AVX2 + FMA
    assert all(sorted(ways) == sorted(ways_here) and min(ways.values()) > 0
               for ways in plan.values())
    chosen = gemm_plan.choose_plan(plan)
    assert {k: record[k] for k in chosen} == chosen
    assert record["openblas_threads"] in counts
    if _blas.router.own_supported():  # the own kernel's pool is sized by its own measurement
        assert record["own_threads"] in counts
    # `doctor` (no flag) shows the cached choice and what each count reached
    shown = run_oscgen("doctor", env=env)
    line = next(line for line in shown.stdout.splitlines() if line[7:23].strip() == "calibration")
    assert f"{record['decode_threads']} decode thread(s), by matmul bandwidth" in line
    for n, v in record["matmul_gbs"].items():
        assert f"{n}: {v:.1f}" in line
    assert "x@Wt / (W@xt)t / openblas" in line
    rows = next(line for line in shown.stdout.splitlines() if line[7:23].strip() == "blas rows")
    for key, shown_as in (("openblas_rows", "on OpenBLAS"), ("openblas_wxt_rows", "on OpenBLAS as (W @ x.T).T"),
                          ("own_rows", "on oscgen's kernel")):
        if record[key]:
            assert f"rows {record[key][0]}-{record[key][1]} {shown_as}" in rows
    if record["own_rows"]:
        assert f"on oscgen's kernel ({record['own_threads']} threads)" in rows
    if not record["openblas_rows"] and not record["openblas_wxt_rows"] and not record["own_rows"]:
        assert "every row count on MKL" in rows
    blas = next(line for line in shown.stdout.splitlines() if line[7:23].strip() == "blas")
    assert "(calibrated)" in blas


@needs_mkl
def test_calibrating_on_a_model_times_its_decode_step(tmp_path):
    env = _env(tmp_path)
    result = run_oscgen("doctor", "--calibrate", "--model", "tiny-random", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    path = run_python(WHERE, env=env).stdout.strip()
    record = json.loads(open(path).read())
    assert record["decided_by"] == "decode step" and "tiny-random" in record["step_model"]
    steps = {int(n): v for n, v in record["step_ms"].items()}
    assert sorted(steps) == calibrate.candidates(record["key"]["cores"]) and all(v > 0 for v in steps.values())
    assert record["decode_threads"] == calibrate.choose({}, steps)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert "step ms by threads" in checks["calibration"]["detail"]


def test_model_without_calibrate_and_a_bad_model_are_usage_errors(tmp_path):
    result = run_oscgen("doctor", "--model", "tiny-random", env=_env(tmp_path))
    assert result.returncode == 2 and "--model goes with --calibrate" in result.stderr
    if HAS_MKL:
        result = run_oscgen("doctor", "--calibrate", "--model", str(tmp_path / "nowhere"), env=_env(tmp_path))
        assert result.returncode == 2 and "--model" in result.stderr


@needs_mkl
@pytest.mark.parametrize("chosen", ["one", "all"])
def test_a_fresh_process_decodes_at_the_cached_choice(tmp_path, chosen):
    env = _env(tmp_path)
    path = run_python(WHERE, env=env).stdout.strip()
    cores = int(run_python(THREADS, env=env).stdout.split()[1])
    threads = 1 if chosen == "one" else cores
    key = json.loads(run_python("import oscgen, json\nfrom oscgen import _blas\nprint(json.dumps(_blas.host_key()))",
                                env=env).stdout)
    (tmp_path / "cache" / "calibration").mkdir(parents=True)
    with open(path, "w") as f:
        json.dump({"key": key, "decode_threads": threads}, f)
    assert run_python(THREADS, env=env).stdout.split()[0] == str(threads)
    # another host, core count or BLAS: not this record
    with open(path, "w") as f:
        json.dump({"key": {**key, "cpu": "another CPU"}, "decode_threads": 1}, f)
    assert run_python(THREADS, env=env).stdout.split()[0] == str(cores)
    # the user's MKL_NUM_THREADS wins over any calibration
    assert run_python(THREADS, env={**env, "MKL_NUM_THREADS": "1"}).stdout.split()[0] == "1"


@needs_mkl
def test_the_first_model_load_calibrates_once(tmp_path):
    env = _env(tmp_path, OSCGEN_CALIBRATE="1")
    load = ("import oscgen\nfrom oscgen import api, _blas\nfrom oscgen.musicgen import layers\n"
            "api.load_model('tiny-random')\nprint(list(layers.WXT_ROWS))\nprint(_blas.calibration_file())\n")
    result = run_python(load, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    form, path = result.stdout.strip().splitlines()[-2:]
    record = json.loads(open(path).read())
    assert record["decided_by"] == "matmul bandwidth"
    assert form == str([tuple(r) for r in record["wxt_rows"]])  # the GEMM forms this host measured
    # cached: the next load does not measure again
    before = open(path).read()
    assert run_python(load, env=env, timeout=300).returncode == 0
    assert open(path).read() == before
    # and with OSCGEN_CALIBRATE=0 (as in this suite) nothing is measured
    env_off = _env(tmp_path / "off", OSCGEN_CALIBRATE="0")
    path_off = run_python(load, env=env_off, timeout=300).stdout.strip().splitlines()[-1]
    assert not (tmp_path / "off").joinpath("cache", "calibration").exists(), path_off



def test_record_problem_names_the_field_the_engine_would_trip_on():
    good = {"decode_threads": 2, "openblas_threads": 2, "own_threads": 2, "own_rows": [1, 31], "openblas_rows": None, "openblas_wxt_rows": [8, 15],
            "wxt_rows": [[2, 32]], "pad_rows": [[8, 15, 16]], "plan_ms": {"2": {"x@Wt": 32.2, "(W@xt)t": 24.1}}}
    assert _blas.record_problem(good) is None
    assert _blas.record_problem({"decode_threads": 1}) is None  # a record from before the plan
    for field, bad in (("decode_threads", 0), ("decode_threads", "2"), ("openblas_rows", [4]),
                       ("openblas_wxt_rows", [8, "15"]), ("wxt_rows", [[2]]), ("wxt_rows", "2-32"),
                       ("pad_rows", [[8, 15]]), ("pad_rows", [[8, 15, True]]), ("plan_ms", {"two": {"x@Wt": 1.0}}),
                       ("plan_ms", {"2": {"x@Wt": "fast"}}), ("own_threads", 0), ("own_rows", [1])):
        assert field in _blas.record_problem({**good, field: bad}), (field, bad)


@needs_mkl
def test_a_corrupt_cached_record_is_ignored_and_measured_again(tmp_path):
    """A hand-edited or damaged calibration must not stop a model from loading on stage: the
    load warns naming the field, decodes, and the calibration is measured and cached anew."""
    env = _env(tmp_path, OSCGEN_CALIBRATE="1")
    path = run_python(WHERE, env=env).stdout.strip()
    key = json.loads(run_python("import oscgen, json\nfrom oscgen import _blas\nprint(json.dumps(_blas.host_key()))",
                                env=env).stdout)
    (tmp_path / "cache" / "calibration").mkdir(parents=True)
    with open(path, "w") as f:
        json.dump({"key": key, "decode_threads": 1, "wxt_rows": [[2, 32]], "pad_rows": [[8, 15]]}, f)
    load = ("import oscgen\nfrom oscgen import api\nfrom oscgen.musicgen import layers\n"
            "result = oscgen.generate('x', duration=0.1, model='tiny-random', seed=1)\n"
            "print(result.audio.shape, list(layers.PAD_ROWS))\n")
    result = run_python(load, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ignoring the calibration" in result.stderr and "pad_rows" in result.stderr
    record = json.loads(open(path).read())
    assert _blas.record_problem(record) is None and record["decided_by"] == "matmul bandwidth"
    assert result.stdout.strip().splitlines()[-1] == f"(1, 3200) {[tuple(r) for r in record['pad_rows']]}"

def test_without_mkl_there_is_nothing_to_calibrate(tmp_path):
    result = run_oscgen("doctor", "--calibrate", env=_env(tmp_path, OSCGEN_BLAS="bundled"), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "calibration: no MKL under MLX" in result.stderr
