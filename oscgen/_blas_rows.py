"""MLX's matmuls on two BLAS libraries and a kernel of oscgen's own, chosen per call by the row count.

MKL streams a one-take decode matmul (2 rows: the take and its unconditional twin) at the
memory's speed on Intel hosts, but on AMD hosts it slows down from 4 rows, where OpenBLAS stays
at about the 2-row time up to 16 rows (8 guided takes), and on a Zen 1 EPYC its best form reads
2 rows at 0.7x the speed of a kernel that streams them (18.8 against 13.1 ms a 302 MB pass):
see _gemm_rows.c.  So MLX gets a small ``cblas_sgemm``
(_gemm_rows.c, compiled once into the oscgen cache with the C compiler) that sends the calls of a
measured row range to OpenBLAS (the one numpy's wheels bundle: built for every x86-64 core,
ILP64, symbols prefixed), those of another to its own AVX2 kernel (each weight row read once for
every row of x, on a small thread pool), and everything else to MKL.  The ranges are empty until
the calibration (oscgen/calibrate.py) has measured every way on this host; where OpenBLAS or the
compiler is missing, MKL alone stays under MLX and ``doctor`` says why.

This module must run before ``mlx.core`` is imported (oscgen/_blas.py calls it).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).with_name("_gemm_rows.c")
#: the shim's sources: the router and its kernels, the decode attention kernel, their pool's header
SOURCES = (SOURCE, SOURCE.with_name("_attention.c"), SOURCE.with_name("_pool.h"))


class OpenBlas:
    """An OpenBLAS library and the names its build gives its entry points: numpy's bundled one
    is ILP64 with prefixed, suffixed symbols (``scipy_cblas_sgemm64_``; numpy 1.26:
    ``cblas_sgemm64_``), so it clashes with none of MKL's."""

    PREFIXES = (("scipy_", "64_"), ("", "64_"), ("", ""))

    def __init__(self, lib: ctypes.CDLL, path: Path):
        self.lib, self.path = lib, path
        for prefix, suffix in self.PREFIXES:
            if hasattr(lib, f"{prefix}cblas_sgemm{suffix}"):
                self.prefix, self.suffix = prefix, suffix
                break
        else:
            raise OSError(f"{path} has no cblas_sgemm")
        self.ilp64 = self.suffix == "64_"

    def function(self, name: str):
        """``cblas_sgemm``, ``openblas_set_num_threads``... under this build's names."""
        return getattr(self.lib, f"{self.prefix}{name}{self.suffix}")


class Router:
    """The loaded shim and OpenBLAS: ``route((from_rows, to_rows), wxt)`` sends calls of that
    many rows to OpenBLAS (``route(None)``: none), and with ``wxt`` (from, to) also the
    (W @ xᵀ)ᵀ form's calls over that many rows of x (the GEMM's columns, with a weight of 1024+
    on both sides as A); ``own((from_rows, to_rows), threads)`` sends plain x @ W.T calls of
    that many rows to the shim's kernel; ``set_threads`` sizes OpenBLAS's pool.  ``narrow`` is MKL's
    ``cblas_sgemm`` (or, where MKL did not load, OpenBLAS's own)."""

    def __init__(self, shim: ctypes.CDLL, openblas: OpenBlas, mkl: ctypes.CDLL | None):
        self.shim, self.openblas, self.openblas_path = shim, openblas, openblas.path
        wide = ctypes.cast(openblas.function("cblas_sgemm"), ctypes.c_void_p)
        self._ends = ((ctypes.cast(mkl.cblas_sgemm, ctypes.c_void_p), 0) if mkl is not None else
                      (wide, int(openblas.ilp64))) + (wide, int(openblas.ilp64))
        self.rows: tuple[int, int] | None = None
        self.wxt_rows: tuple[int, int] | None = None
        self.own_rows: tuple[int, int] | None = None
        self.own_threads = 1
        self.route(None)
        self.own(None)

    def route(self, rows: tuple[int, int] | None, wxt: tuple[int, int] | None = None) -> None:
        self.rows, self.wxt_rows = (tuple(rows) if rows else None), (tuple(wxt) if wxt else None)
        self.shim.oscgen_gemm_rows_route(*self._ends, *(self.rows or (1, 0)), *(self.wxt_rows or (1, 0)))

    def own(self, rows: tuple[int, int] | None, threads: int | None = None) -> None:
        """Sends plain x @ W.T calls of that many rows over a weight of 256+ a side (a decoder's
        linears, the folded cross-attention's matrices), and while any rows are routed
        attention's per-head products, to the shim's own kernel (AVX2 + FMA; ``None``: none) on
        ``threads`` threads (default: as before)."""
        self.own_rows = (tuple(rows) if rows and self.own_supported() else None)
        self.own_threads = int(threads or self.own_threads)
        self.shim.oscgen_gemm_own_route(*(self.own_rows or (1, 0)), self.own_threads)

    @contextlib.contextmanager
    def kept(self) -> Iterator["Router"]:
        """The routes and the own kernel's rows and threads as they are now, put back afterwards
        (OpenBLAS's thread count is the caller's to set)."""
        before = self.rows, self.wxt_rows, self.own_rows, self.own_threads
        try:
            yield self
        finally:
            self.route(*before[:2])
            self.own(before[2], threads=before[3])

    def own_supported(self) -> bool:
        """Whether this CPU runs the own kernel (AVX2 and FMA)."""
        return bool(self.shim.oscgen_gemm_own_supported())

    def wide(self, rows: int, columns: int = 1 << 20, depth: int = 1 << 20) -> bool:
        """Whether a call of ``rows`` x ``columns`` (over ``depth``) goes to OpenBLAS now."""
        return bool(self.shim.oscgen_gemm_rows_wide(rows, columns, depth))

    def calls(self) -> tuple[int, int, int]:
        """(to MKL, to OpenBLAS, to the own kernel): the calls routed so far in this process."""
        return tuple(self.shim.oscgen_gemm_rows_calls(way) for way in range(3))

    def set_threads(self, threads: int) -> None:
        setter = self.openblas.function("openblas_set_num_threads")
        setter(ctypes.c_longlong(int(threads)) if self.openblas.ilp64 else ctypes.c_int(int(threads)))

    def version(self) -> str:
        try:
            get = self.openblas.function("openblas_get_config")
            get.restype = ctypes.c_char_p
            return get().decode(errors="replace").strip()
        except AttributeError:
            return str(self.openblas_path)


def openblas_path() -> Path | None:
    """numpy's bundled OpenBLAS (numpy.libs/libscipy_openblas64_-*.so in its wheels), found
    without importing numpy; None where numpy was built against another BLAS.  Its wheels build
    it for every x86-64 core (DYNAMIC_ARCH: Haswell kernels on an AVX2 host, SkylakeX on
    AVX-512), which cmeel-openblas (SKYLAKEX only: SIGILL on AVX2-only AMD EPYC hosts) is not."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(next(iter(spec.submodule_search_locations))).parent / "numpy.libs"
    found = sorted(libs.glob("libscipy_openblas*.so")) or sorted(libs.glob("libopenblas*.so"))
    return found[0] if found else None


def shim_path() -> Path:
    """<oscgen cache>/blas/gemm_rows-<hash of the sources>.so"""
    from oscgen.cache import cache_dir

    digest = hashlib.sha256(b"".join(source.read_bytes() for source in SOURCES)).hexdigest()[:12]
    return cache_dir() / "blas" / f"gemm_rows-{digest}.so"


def build_shim() -> Path:
    """The compiled shim, built now if this source has not been (atomically: concurrent
    processes each write their own file and the last rename wins)."""
    from oscgen.cache import compile_into, compiler as find_compiler

    path = shim_path()
    if path.exists():
        return path
    compiler = find_compiler("CC", ("cc", "gcc"), "C compiler (cc) to build the BLAS row router")
    sources = [str(source) for source in SOURCES[:2]]
    return compile_into(path, lambda tmp: [compiler, "-O2", "-shared", "-fPIC", "-o", str(tmp), *sources, "-lpthread"],
                        "the BLAS row router", path.parent.glob("gemm_rows-*.so"))


def load_shim() -> ctypes.CDLL:
    """The shim, loaded RTLD_GLOBAL: call before MKL and MLX are loaded, so its ``cblas_sgemm``
    is the one MLX binds to."""
    shim = ctypes.CDLL(str(build_shim()), mode=ctypes.RTLD_GLOBAL)
    shim.oscgen_gemm_rows_route.restype = None
    shim.oscgen_gemm_rows_route.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    shim.oscgen_gemm_rows_wide.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    shim.oscgen_gemm_rows_calls.argtypes, shim.oscgen_gemm_rows_calls.restype = [ctypes.c_int], ctypes.c_ulong
    shim.oscgen_gemm_own_route.restype = None
    shim.oscgen_gemm_own_route.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    shim.oscgen_gemm_own_supported.restype = ctypes.c_int
    shim.oscgen_attention_supported.restype = ctypes.c_int
    shim.oscgen_attention_decode.restype = None
    shim.oscgen_attention_decode.argtypes = [ctypes.c_int] * 4 + [ctypes.c_void_p] * 2 + [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_float, ctypes.c_void_p]
    return shim


def load_openblas() -> OpenBlas:
    """numpy's OpenBLAS (the same library numpy loads itself); its symbols are prefixed, so
    neither it nor MKL takes the other's ``sgemm_`` or ``xerbla_``."""
    path = openblas_path()
    if path is None:
        raise OSError("no OpenBLAS bundled with numpy in this environment (numpy built against another BLAS)")
    # its idle threads spin ~2^28 cycles by default, taking a core from MKL and MLX between calls
    # (read when it loads: numpy, if imported already, loaded it with the environment it had)
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    try:
        lib = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL)
    except OSError as exc:
        raise OSError(f"loading {path} failed: {exc}") from None
    openblas = OpenBlas(lib, path)
    sgemm = openblas.function("cblas_sgemm")
    sgemm.restype = None
    return openblas
