"""`oscgen doctor` run as a real subprocess: one line per check, exit 0 when the engine can run."""

import json
import shutil

import pytest

from oscgen.musicgen import tiny
from tests._io_fixtures import run_oscgen


def _doctor(tmp_path, *args, env=None):
    full = {"OSCGEN_CACHE": str(tmp_path / "oscgen-cache"), "HF_HUB_CACHE": str(tmp_path / "hf-hub")}
    return run_oscgen("doctor", *args, env={**full, **(env or {})})


def test_reports_every_area_and_exits_zero(tmp_path):
    result = _doctor(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = {line[7:23].strip() for line in lines if line.startswith("[")}
    for expected in ("python", "mlx", "blas", "numpy", "sentencepiece", "oscgen cache", "tiny-random",
                     "hf cache", "musicgen-small", "musicgen-medium", "torch", "transformers",
                     "oscsend", "jackd", "pd", "websockets", "zeroconf", "soxr", "pyloudnorm"):
        assert expected in names, expected
    import mlx.core as mx

    assert any(line.startswith("[ok  ] mlx") and mx.__version__ in line for line in lines)
    assert str(tmp_path / "oscgen-cache") in result.stdout
    assert str(tmp_path / "hf-hub") in result.stdout  # where hub weights would be found
    assert "oscgen fetch musicgen-small" in result.stdout  # how to get them
    assert lines[-1] == "engine: ready"


def test_json_output(tmp_path):
    result = _doctor(tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine_can_run"] is True
    blas = next(c for c in report["checks"] if c["name"] == "blas")
    from oscgen import _blas

    assert blas["detail"].split(" ")[0] == _blas.ACTIVE_BLAS.split(" ")[0]


def test_cached_models_are_found(tmp_path):
    commit = "0" * 40
    repo = tmp_path / "hf-hub" / "models--facebook--musicgen-small"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    tiny.write_tiny_model(repo / "snapshots" / commit)
    result = _doctor(tmp_path)
    assert result.returncode == 0, result.stderr
    small = next(line for line in result.stdout.splitlines() if " musicgen-small " in line)
    assert small.startswith("[ok  ]") and str(repo / "snapshots" / commit) in small
    medium = next(line for line in result.stdout.splitlines() if " musicgen-medium " in line)
    assert medium.startswith("[warn]")


def test_missing_tools_say_how_to_install_them(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = _doctor(tmp_path, env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr  # tools are optional for the engine
    oscsend = next(line for line in result.stdout.splitlines() if " oscsend " in line)
    assert oscsend.startswith("[warn]") and "apt-get install liblo-tools" in oscsend
    pd = next(line for line in result.stdout.splitlines() if " pd " in line)
    assert "puredata-core" in pd


def test_unwritable_cache_means_the_engine_cannot_run(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = _doctor(tmp_path, env={"OSCGEN_CACHE": str(blocker / "cache")})
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if " oscgen cache " in line)
    assert line.startswith("[FAIL]") and "OSCGEN_CACHE" in line
    assert result.stdout.splitlines()[-1].startswith("engine: CANNOT RUN")


def test_bundled_blas_is_explained(tmp_path):
    result = _doctor(tmp_path, env={"OSCGEN_BLAS": "bundled"})
    assert result.returncode == 0
    blas = next(line for line in result.stdout.splitlines() if " blas " in line)
    assert "OSCGEN_BLAS=bundled" in blas


@pytest.mark.skipif(shutil.which("jackd") is None, reason="needs the jackd2 package")
def test_found_tools_are_listed_with_their_path(tmp_path):
    result = _doctor(tmp_path)
    jackd = next(line for line in result.stdout.splitlines() if " jackd " in line)
    assert jackd.startswith("[ok  ]") and shutil.which("jackd") in jackd
