"""MLX's matmuls on two BLAS libraries at once, chosen per call by the row count.

MKL streams a one-take decode matmul (2 rows: the take and its unconditional twin) at the
memory's speed on every host measured, but on AMD hosts it slows down from 4 rows, where
OpenBLAS stays at about the 2-row time up to 16 rows (8 guided takes): see _gemm_rows.c.  So
MLX gets a small ``cblas_sgemm`` (_gemm_rows.c, compiled once into the oscgen cache with the C
compiler) that sends the calls of a measured row range to OpenBLAS (PyPI ``cmeel-openblas``)
and everything else to MKL.  The range is empty until the calibration (oscgen/calibrate.py) has
measured both libraries on this host; where either library, the compiler or OpenBLAS's
``libgfortran.so.5`` is missing, MKL alone stays under MLX and ``doctor`` says why.

This module must run before ``mlx.core`` is imported (oscgen/_blas.py calls it).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("_gemm_rows.c")


class Router:
    """The loaded shim and OpenBLAS: ``route(from_rows, to_rows)`` sends calls of that many rows
    to OpenBLAS (``route(None)``: none), ``set_threads`` sizes OpenBLAS's pool."""

    def __init__(self, shim: ctypes.CDLL, openblas: ctypes.CDLL, openblas_path: Path, mkl: ctypes.CDLL):
        self.shim, self.openblas, self.openblas_path = shim, openblas, openblas_path
        self._narrow = ctypes.cast(mkl.cblas_sgemm, ctypes.c_void_p)
        self._wide = ctypes.cast(openblas.cblas_sgemm, ctypes.c_void_p)
        self.rows: tuple[int, int] | None = None
        self.route(None)

    def route(self, rows: tuple[int, int] | None) -> None:
        self.rows = tuple(rows) if rows else None
        lo, hi = self.rows or (1, 0)
        self.shim.oscgen_gemm_rows_route(self._narrow, self._wide, lo, hi)

    def wide(self, rows: int) -> bool:
        """Whether a call of ``rows`` rows goes to OpenBLAS now."""
        return bool(self.shim.oscgen_gemm_rows_wide(rows))

    def calls(self) -> tuple[int, int]:
        """(to MKL, to OpenBLAS): the calls routed so far in this process."""
        return self.shim.oscgen_gemm_rows_calls(0), self.shim.oscgen_gemm_rows_calls(1)

    def set_threads(self, threads: int) -> None:
        self.openblas.openblas_set_num_threads(ctypes.c_int(int(threads)))

    def version(self) -> str:
        try:
            get = self.openblas.openblas_get_config
            get.restype = ctypes.c_char_p
            return get().decode(errors="replace").strip()
        except AttributeError:
            return str(self.openblas_path)


def openblas_path() -> Path | None:
    """cmeel-openblas's libopenblas in this environment, if installed."""
    for prefix in {Path(sys.prefix), Path(sys.base_prefix)}:
        for site in (prefix / "lib").glob("python3*/site-packages"):
            lib = site / "cmeel.prefix" / "lib" / "libopenblas.so.0"
            if lib.exists():
                return lib
    return None


def shim_path() -> Path:
    """<oscgen cache>/blas/gemm_rows-<hash of the source>.so"""
    from oscgen.cache import cache_dir

    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    return cache_dir() / "blas" / f"gemm_rows-{digest}.so"


def build_shim() -> Path:
    """The compiled shim, built now if this source has not been (atomically: concurrent
    processes each write their own file and the last rename wins)."""
    path = shim_path()
    if path.exists():
        return path
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler (cc) to build the BLAS row router")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    proc = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(SOURCE)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise OSError(f"building the BLAS row router failed: {proc.stderr.strip()[-300:]}")
    os.replace(tmp, path)
    for old in path.parent.glob("gemm_rows-*.so"):  # earlier sources' builds (a mapped one stays valid)
        if old != path:
            old.unlink(missing_ok=True)
    return path


def load_shim() -> ctypes.CDLL:
    """The shim, loaded RTLD_GLOBAL: call before MKL and MLX are loaded, so its ``cblas_sgemm``
    is the one MLX binds to."""
    shim = ctypes.CDLL(str(build_shim()), mode=ctypes.RTLD_GLOBAL)
    shim.oscgen_gemm_rows_route.restype = None
    shim.oscgen_gemm_rows_route.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    shim.oscgen_gemm_rows_wide.argtypes = [ctypes.c_int]
    shim.oscgen_gemm_rows_calls.argtypes, shim.oscgen_gemm_rows_calls.restype = [ctypes.c_int], ctypes.c_ulong
    return shim


def load_openblas() -> tuple[ctypes.CDLL, Path]:
    """OpenBLAS, kept out of the global namespace (RTLD_LOCAL) and bound to its own symbols
    first (RTLD_DEEPBIND), so neither it nor MKL takes the other's ``sgemm_`` or ``xerbla_``."""
    path = openblas_path()
    if path is None:
        raise OSError("no OpenBLAS in this environment (pip install cmeel-openblas)")
    # its idle threads spin ~2^28 cycles by default, taking a core from MKL and MLX between calls
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    try:
        return ctypes.CDLL(str(path), mode=os.RTLD_LOCAL | os.RTLD_DEEPBIND), path
    except OSError as exc:
        hint = " (apt install libgfortran5)" if "libgfortran" in str(exc) else ""
        raise OSError(f"loading {path} failed: {exc}{hint}") from None
