"""Put a fast BLAS under MLX before MLX is imported.

MLX's Linux CPU wheel resolves ``cblas_sgemm`` at run time and ships a slow reference BLAS.
Loading Intel MKL (the PyPI ``mkl`` wheel puts ``libmkl_rt.so.*`` in the environment's ``lib/``)
with RTLD_GLOBAL first makes MLX's matmuls use it: ~5x the bandwidth on the decode step.
This module must be imported before ``mlx.core`` anywhere in the process; ``oscgen/__init__``
does that.  Set ``OSCGEN_BLAS=bundled`` to skip it.

Where numpy bundles OpenBLAS (its PyPI wheels do), batch-shaped calls (several takes) can go to
it instead: oscgen/_blas_rows.py, the row range measured per host by oscgen/calibrate.py.
``OSCGEN_BLAS=mkl`` keeps MKL alone.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: What is under MLX's matmuls in this process: "mkl (<path>)", "bundled", or why not MKL.
ACTIVE_BLAS = "bundled"
#: The MKL library loaded under MLX, when it is.
_mkl: ctypes.CDLL | None = None
#: MKL and OpenBLAS under MLX at once, by row count (_blas_rows.Router), when both load.
router = None
#: Why there is no router, for ``doctor``: OPTED_OUT, or what failed.
ROUTER_MISSING = ""
OPTED_OUT = "OSCGEN_BLAS=mkl"
#: Whether oscgen chooses MKL's thread count (the user did not fix it with MKL_NUM_THREADS).
_threads_are_ours = False
#: default_threads(), read once from the calibration (apply_calibration reads it again).
_decode_threads: int | None = None


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
    """MKL threads while decoding, unless MKL_NUM_THREADS fixes them: the count this host's
    calibration chose (oscgen/calibrate.py, cached per host + BLAS), else all of oscgen's cores.

    No fixed rule is right everywhere: on a 2-core AMD EPYC one MKL thread decoded faster
    (86 vs 94 ms a musicgen-small step: MLX's own thread competes with MKL's), on a 2-core Intel
    Xeon two did (~80 vs 135 ms).  All cores is the fallback because being wrong that way cost
    the least of the two."""
    global _decode_threads
    if _decode_threads is None:
        choice = calibrated_threads()
        _decode_threads = choice if choice is not None else oscgen_cores()
    return _decode_threads


def calibrated_threads() -> int | None:
    """The decode thread count this host's calibration chose, if there is one for this host,
    core count and BLAS (and it fits in oscgen's cores)."""
    record = read_calibration()
    if record is None:
        return None
    threads = record["decode_threads"]  # a count >= 1 (record_problem)
    return threads if threads <= oscgen_cores() else None


def host_key() -> dict:
    """What a calibration is valid for: the CPU, the cores oscgen may use and the BLAS."""
    version = ""
    if _mkl is not None:
        buf = ctypes.create_string_buffer(256)
        try:
            _mkl.MKL_Get_Version_String(buf, len(buf))
            version = buf.value.decode(errors="replace").strip()
        except AttributeError:  # an MKL without the call: the path still tells them apart
            pass
    key = {"cpu": cpu_model(), "cores": oscgen_cores(), "blas": ACTIVE_BLAS, "blas_version": version}
    if router is not None:  # the router's source: a changed kernel is measured again
        from oscgen import _blas_rows

        key["router"] = _blas_rows.shim_path().name
    return key


def calibration_file() -> Path:
    """<oscgen cache>/calibration/mkl-<hash of host_key>.json"""
    from oscgen.cache import cache_dir

    digest = hashlib.sha256(json.dumps(host_key(), sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "calibration" / f"mkl-{digest}.json"


def read_calibration() -> dict | None:
    """The cached calibration of this host + BLAS, or None (none yet, unreadable, another key)."""
    if _mkl is None:
        return None
    try:
        record = json.loads(calibration_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != host_key():
        return None
    problem = record_problem(record)
    if problem:  # hand-edited or from another oscgen: unused, and the next model load recalibrates
        _warn_once(f"oscgen: ignoring the calibration cached in {calibration_file()}: {problem}")
        return None
    return record


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _ints(value, length: int) -> bool:
    return isinstance(value, list) and len(value) == length and all(_count(v) for v in value)


def record_problem(record: dict) -> str | None:
    """What makes a cached calibration unusable (a field the engine reads with the wrong shape),
    or None: a bad record must not stop a model from loading."""
    if not _count(record.get("decode_threads")):
        return f"decode_threads is {record.get('decode_threads')!r}, not a thread count"
    for key in ("openblas_threads", "own_threads"):
        if record.get(key) is not None and not _count(record[key]):
            return f"{key} is {record.get(key)!r}, not a thread count"
    for key in ("openblas_rows", "openblas_wxt_rows", "own_rows"):
        if record.get(key) is not None and not _ints(record[key], 2):
            return f"{key} is {record[key]!r}, not null or [from, to]"
    for key, length, shape in (("wxt_rows", 2, "[from, to]"), ("pad_rows", 3, "[from, to, padded]")):
        value = record.get(key) or []
        if not isinstance(value, list) or not all(_ints(entry, length) for entry in value):
            return f"{key} is {value!r}, not a list of {shape}"
    plan = record.get("plan_ms") or {}
    if not isinstance(plan, dict) or not all(
            str(n).isdigit() and isinstance(ways, dict) and ways
            and all(isinstance(ms, (int, float)) for ms in ways.values()) for n, ways in plan.items()):
        return "plan_ms is not {rows: {way: ms}}"
    return None


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(message, file=sys.stderr)


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def set_threads(threads: int) -> None:
    """Set MKL's thread count now (calibration, the bench); a no-op without MKL."""
    if _mkl is not None:
        _mkl.MKL_Set_Num_Threads(int(threads))


def threads_are_ours() -> bool:
    """Whether oscgen chooses MKL's threads (MKL is loaded and MKL_NUM_THREADS is not set)."""
    return _mkl is not None and _threads_are_ours


def apply_calibration() -> None:
    """Decode at the count the (new) calibration chose, unless the user fixed it."""
    global _decode_threads
    _decode_threads = None
    if threads_are_ours():
        _mkl.MKL_Set_Num_Threads(default_threads())
    route_as_calibrated()


def oscgen_cores() -> int:
    """The cores oscgen may use: $OSCGEN_CPU_THREADS (the bench sets it), else every usable one."""
    try:
        return max(1, int(os.environ["OSCGEN_CPU_THREADS"]))
    except (KeyError, ValueError):
        return usable_cores()


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
    global _mkl, _threads_are_ours, router, ROUTER_MISSING
    paths = _candidate_paths()
    shim = openblas = None
    if os.environ.get("OSCGEN_BLAS", "").lower() == "mkl":  # MKL alone, as before the router
        ROUTER_MISSING = OPTED_OUT
    elif paths:  # the row router's cblas_sgemm must be in the global namespace before MKL's
        from oscgen import _blas_rows

        try:
            openblas = _blas_rows.load_openblas()
            shim = _blas_rows.load_shim()
        except OSError as exc:
            ROUTER_MISSING = str(exc)
    failures = []
    for path in paths:
        try:
            _mkl = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:  # a broken or foreign-arch MKL: try the next, say why in `doctor`
            failures.append(f"loading {path} failed: {exc}")
            continue
        # set through the library, not the environment: child processes (the daemon's worker)
        # must not mistake oscgen's choice for the user's MKL_NUM_THREADS
        _threads_are_ours = "MKL_NUM_THREADS" not in os.environ
        ACTIVE_BLAS = f"mkl ({path})"
        if shim is not None:
            router = _blas_rows.Router(shim, openblas, _mkl)
            ACTIVE_BLAS += f" + openblas ({openblas.path})"
            route_as_calibrated()
        if _threads_are_ours:
            _mkl.MKL_Set_Num_Threads(default_threads())
        return ACTIVE_BLAS
    if shim is not None:  # loaded for an MKL that then failed: OpenBLAS takes every call
        router = _blas_rows.Router(shim, openblas, None)
        ACTIVE_BLAS = f"openblas ({openblas.path}; MKL did not load: {'; '.join(failures)})"
    elif failures:
        ACTIVE_BLAS = f"bundled ({'; '.join(failures)})"
    else:
        ACTIVE_BLAS = "bundled (no libmkl_rt in this environment; pip install mkl)"
    return ACTIVE_BLAS


def route_as_calibrated() -> None:
    """The router's rows and OpenBLAS's threads as this host's calibration measured them (no
    rows, all cores, until it has)."""
    if router is None:
        return
    record = read_calibration() or {}  # its fields well-formed where present (record_problem)
    threads = record.get("openblas_threads")
    router.set_threads(threads if threads and threads <= oscgen_cores() else oscgen_cores())
    router.route(record.get("openblas_rows"), record.get("openblas_wxt_rows"))
    own = record.get("own_threads")  # a record from before it was measured: MKL's count
    router.own(record.get("own_rows"), threads=own if own and own <= oscgen_cores() else default_threads())


def mkl_threads() -> int | None:
    """MKL's thread count now (None where MKL is not under MLX)."""
    return _mkl.MKL_Get_Max_Threads() if _mkl is not None else None


def describe_threads() -> str:
    """How MKL's threads are set, for ``oscgen doctor``."""
    if _mkl is None:
        return ""
    plural = lambda n: f"{n} thread{'s' if n != 1 else ''}"
    if not _threads_are_ours:
        return f"{plural(mkl_threads())} (MKL_NUM_THREADS)"
    how = "calibrated" if calibrated_threads() is not None else "not calibrated yet: all cores"
    return (f"{plural(default_threads())} while decoding ({how}), {plural(oscgen_cores())} for EnCodec "
            "(MKL_NUM_THREADS fixes one count)")


@contextmanager
def all_cores() -> Iterator[None]:
    """MKL on all of oscgen's cores for the duration, then back to ``default_threads``: for work
    during which no other thread of oscgen's runs, unlike the decode steps (where the Python
    thread queues the next step).  EnCodec's 10 s decode: ~3.4 -> ~2.8 s on a 2-core host.
    Does nothing where MKL is not loaded or the user set MKL_NUM_THREADS."""
    if _mkl is None or not _threads_are_ours:
        yield
        return
    _mkl.MKL_Set_Num_Threads(oscgen_cores())
    try:
        yield
    finally:
        _mkl.MKL_Set_Num_Threads(default_threads())


preload()
