"""Put a fast BLAS under MLX before MLX is imported.

MLX's Linux CPU wheel resolves ``cblas_sgemm`` at run time and ships a slow reference BLAS.
Loading Intel MKL (the PyPI ``mkl`` wheel puts ``libmkl_rt.so.*`` in the environment's ``lib/``)
with RTLD_GLOBAL first makes MLX's matmuls use it: ~5x the bandwidth on the decode step.
This module must be imported before ``mlx.core`` anywhere in the process; ``oscgen/__init__``
does that.  Set ``OSCGEN_BLAS=bundled`` to skip it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

#: What is under MLX's matmuls in this process: "mkl (<path>)", "bundled", or why not MKL.
ACTIVE_BLAS = "bundled"


def _candidate_paths() -> list[Path]:
    prefixes = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    found = []
    for prefix in prefixes:
        lib = prefix / "lib"
        for name in ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"):
            if (lib / name).exists():
                found.append(lib / name)
    return found


def default_threads() -> int:
    """MKL threads when MKL_NUM_THREADS is unset: the usable cores minus one.

    MLX computes on its own stream thread (which is one of MKL's threads) while the Python
    thread enqueues the next decode step; with every core given to MKL its spinning workers
    compete with that thread.  Measured on a 2-core x86-64 host: 86 ms per musicgen-small step
    with 1 MKL thread, 94 ms with 2 (benchmarks/RESULTS.md)."""
    return max(1, usable_cores() - 1)


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def preload() -> str:
    global ACTIVE_BLAS
    if "mlx.core" in sys.modules:
        ACTIVE_BLAS = "bundled (mlx was imported before oscgen)"
        return ACTIVE_BLAS
    if os.environ.get("OSCGEN_BLAS", "").lower() == "bundled":
        ACTIVE_BLAS = "bundled (OSCGEN_BLAS=bundled)"
        return ACTIVE_BLAS
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        ACTIVE_BLAS = "bundled"
        return ACTIVE_BLAS
    failures = []
    # read by MKL when it initialises: must be set before the library is loaded
    os.environ.setdefault("MKL_NUM_THREADS", str(default_threads()))
    for path in _candidate_paths():
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:  # a broken or foreign-arch MKL: try the next, say why in `doctor`
            failures.append(f"loading {path} failed: {exc}")
            continue
        ACTIVE_BLAS = f"mkl ({path})"
        return ACTIVE_BLAS
    if failures:
        ACTIVE_BLAS = f"bundled ({'; '.join(failures)})"
    else:
        ACTIVE_BLAS = "bundled (no libmkl_rt in this environment; pip install mkl)"
    return ACTIVE_BLAS


preload()
