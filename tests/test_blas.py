"""MKL goes under MLX's matmuls when the environment has it, and falls back cleanly."""

import platform
import sys

import pytest

from oscgen import _blas
from tests._io_fixtures import run_python

WANTS_MKL = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
HAS_MKL = bool(_blas._candidate_paths())

# What these tests probe is how oscgen sets up the BLAS in a clean environment, so the knobs a
# user (or CI's host-variant run) may have set in this process's environment are dropped from
# the child's unless a test sets them: unset means "absent", not "inherited".
BLAS_KNOBS = ("OSCGEN_BLAS", "MKL_NUM_THREADS", "OSCGEN_CPU_THREADS")


def _clean_env(env=None) -> dict:
    return {**{knob: None for knob in BLAS_KNOBS}, **(env or {})}

# a matmul MLX sends to cblas_sgemm, checked against numpy, and which BLAS the process reports
PROBE = """
import numpy as np
import oscgen, mlx.core as mx
a = np.random.default_rng(0).standard_normal((64, 96)).astype(np.float32)
b = np.random.default_rng(1).standard_normal((96, 32)).astype(np.float32)
np.testing.assert_allclose(np.array(mx.array(a) @ mx.array(b)), a @ b, rtol=1e-4, atol=1e-4)
maps = open('/proc/self/maps').read() if __import__('os').path.exists('/proc/self/maps') else ''
print(oscgen._blas.ACTIVE_BLAS)
print('libmkl_rt mapped' if 'libmkl_rt' in maps else 'no libmkl_rt')
"""


def _probe(env=None, prefix=""):
    result = run_python(prefix + PROBE, env=_clean_env(env))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.skipif(not WANTS_MKL, reason="MKL is only preloaded on x86-64 Linux")
def test_mkl_is_active_when_the_environment_has_it():
    active, mapped = _probe()
    if HAS_MKL:
        assert active.startswith("mkl (") and "libmkl_rt" in active
        assert mapped == "libmkl_rt mapped"
    else:  # no mkl wheel: the report says so and how to fix it
        assert active.startswith("bundled (no libmkl_rt") and "pip install mkl" in active


def test_oscgen_blas_bundled_falls_back_cleanly():
    active, mapped = _probe(env={"OSCGEN_BLAS": "bundled"})
    assert active == "bundled (OSCGEN_BLAS=bundled)"
    assert mapped == "no libmkl_rt"


def test_mlx_imported_first_is_reported():
    active, _ = _probe(prefix="import mlx.core\n")
    assert active == "bundled (mlx was imported before oscgen)"


@pytest.mark.skipif(not WANTS_MKL, reason="MKL is only preloaded on x86-64 Linux")
def test_a_broken_mkl_library_falls_back_and_says_why(tmp_path):
    fake = tmp_path / "libmkl_rt.so.3"
    fake.write_text("not a shared library")
    code = (  # import with the preload off, then run it again against only the broken file
        "import os, pathlib, oscgen._blas as b\n"
        "del os.environ['OSCGEN_BLAS']\n"
        f"b._candidate_paths = lambda: [pathlib.Path({str(fake)!r})]\n"
        "b.preload()\n"
    )
    active, mapped = _probe(env={"OSCGEN_BLAS": "bundled"}, prefix=code)
    assert f"loading {fake} failed" in active and mapped == "no libmkl_rt"
    from oscgen import _blas_rows

    if _blas_rows.openblas_path() is not None:  # the row router was loaded first: OpenBLAS takes every call
        assert active.startswith(f"openblas ({_blas_rows.openblas_path()}; MKL did not load")
    else:
        assert active.startswith("bundled (")


def test_import_oscgen_does_not_import_mlx():
    result = run_python("import sys, oscgen; print('mlx.core' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


THREADS_PROBE = """
import oscgen, mlx.core
from oscgen import _blas
before = _blas.mkl_threads()
with _blas.all_cores():
    inside = _blas.mkl_threads()
print(before, inside, _blas.mkl_threads(), _blas.usable_cores(), _blas.default_threads())
"""


@pytest.mark.skipif(not (WANTS_MKL and HAS_MKL), reason="needs MKL under MLX")
def test_every_core_goes_to_mkl_only_inside_all_cores():
    before, inside, after, cores, default = map(int, run_python(THREADS_PROBE, env=_clean_env()).stdout.split())
    assert (before, inside, after) == (default, cores, default)


@pytest.mark.skipif(not (WANTS_MKL and HAS_MKL), reason="needs MKL under MLX")
def test_a_user_thread_count_is_left_alone():
    result = run_python(THREADS_PROBE, env=_clean_env({"MKL_NUM_THREADS": "1"}))
    before, inside, after, _, _ = map(int, result.stdout.split())
    assert before == inside == after == 1
