"""``oscgen doctor``: what this machine has, what is missing, and how to fix it — one line each.

Checks never download, never import torch/transformers (only look them up) and never open
audio or MIDI devices, so the command is fast and safe to run on stage.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

OK, INFO, WARN, FAIL = "ok", "info", "warn", "FAIL"


@dataclass
class Check:
    status: str  # ok / info / warn / FAIL (FAIL: the engine cannot run)
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.status:<4}] {self.name:<16} {self.detail}"
        return f"{text}  -> {self.fix}" if self.fix else text


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_python() -> list[Check]:
    ok = sys.version_info >= (3, 11)
    return [Check(OK if ok else FAIL, "python", f"{platform.python_version()} ({sys.executable})",
                  "" if ok else "oscgen needs Python 3.11 or newer")]


def check_mlx() -> list[Check]:
    try:
        import oscgen  # noqa: F401  (puts MKL under MLX before mlx.core loads)
        import mlx.core as mx
    except Exception as exc:  # missing wheel, missing system library, wrong platform
        fix = "pip install 'mlx[cpu]'" if sys.platform == "linux" else "pip install mlx"
        return [Check(FAIL, "mlx", f"cannot import mlx.core: {exc}", fix)]
    device = mx.default_device()
    gpus = []
    if mx.metal.is_available():
        gpus.append("metal")
    cuda = getattr(mx, "cuda", None)
    if cuda is not None and cuda.is_available():
        gpus.append("cuda")
    detail = f"{mx.__version__}, default device {device.type.name}" + (f" (GPU backends: {', '.join(gpus)})" if gpus else " (CPU only)")
    return [Check(OK, "mlx", detail)]


def check_blas() -> list[Check]:
    from oscgen import _blas

    active = _blas.ACTIVE_BLAS
    if active.startswith("mkl"):
        return [Check(OK, "blas", f"{active}, {_blas.describe_threads()}"), check_router(), check_attention(),
                check_calibration()]
    wants_mkl = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
    if not wants_mkl:
        return [Check(OK, "blas", f"{active} (MLX's own; MKL is only used on x86-64 Linux)")]
    if "OSCGEN_BLAS=bundled" in active:
        return [Check(INFO, "blas", active, "unset OSCGEN_BLAS to use MKL (faster decoding)")]
    return [Check(WARN, "blas", f"{active}: MLX's reference BLAS is several times slower",
                  "pip install mkl (oscgen preloads it automatically)")]


def check_router() -> Check:
    """Whether decode matmuls can go to OpenBLAS or the router's own kernel (oscgen/_blas_rows.py),
    and which do."""
    from oscgen import _blas

    if _blas.router is None:
        if _blas.ROUTER_MISSING == _blas.OPTED_OUT:
            return Check(INFO, "blas rows", f"MKL takes every row count ({_blas.OPTED_OUT})")
        return Check(INFO, "blas rows", f"MKL takes every row count: {_blas.ROUTER_MISSING}",
                     "several takes at once may decode faster on OpenBLAS; see the message")
    rows, wxt, own = _blas.router.rows, _blas.router.wxt_rows, _blas.router.own_rows
    routed = ([f"rows {own[0]}-{own[1]} on oscgen's kernel ({_blas.router.own_threads} threads)"] if own else []) + \
        ([f"rows {rows[0]}-{rows[1]} on OpenBLAS"] if rows else []) + \
        ([f"rows {wxt[0]}-{wxt[1]} on OpenBLAS as (W @ x.T).T"] if wxt else [])
    where = ", ".join(routed) or "every row count on MKL (calibration chose so, or has not run)"
    return Check(OK, "blas rows", f"{where}; {_blas.router.version()}")


def check_attention() -> Check:
    """Whether the decode step's attention and layer norms run on oscgen's CPU primitives
    (oscgen/_mlx_ext.py; this builds them, once per source and MLX, ~15 s) or on MLX's own ops."""
    from oscgen import _mlx_ext

    if _mlx_ext.decode_attention() is not None:
        return Check(OK, "attention", "decode steps on oscgen's kernel (an MLX extension, on the shim's pool), "
                     "and their layer norms one op each")
    return Check(INFO, "attention", f"MLX's own attention and layer norms (slower on a CPU): {_mlx_ext.MISSING}",
                 "a C++ compiler (g++) and the BLAS shim make it faster")


def check_calibration() -> Check:
    """What the decode thread count calibration chose and what each count reached."""
    from oscgen import _blas, calibrate

    record = _blas.read_calibration()
    fix = "" if record else "oscgen doctor --calibrate"
    return Check(OK if record else INFO, "calibration", calibrate.describe(record), fix)


def calibration_model(model: str | None) -> str | None:
    """The checkpoint ``--calibrate`` times the real step of: ``model``, else a cached
    musicgen-small, else the bench's random musicgen-small if it was written; None if none."""
    from oscgen.musicgen import weights

    if model is not None:
        return str(weights.resolve_model_dir(model))
    snapshot = weights.cached_hub_snapshot(weights.KNOWN_MODELS["musicgen-small"])
    if snapshot is not None:
        return str(snapshot)
    from oscgen.bench.common import checkpoint_dir

    random_small = checkpoint_dir("small")
    return str(random_small) if (random_small / "config.json").is_file() else None


def recalibrate(model: str | None = None, out=None) -> dict:
    """``oscgen doctor --calibrate``: measure again and cache the choice (see oscgen.calibrate)."""
    import oscgen  # noqa: F401  (MKL before mlx)
    from oscgen import calibrate
    from oscgen.musicgen.layers import on_gpu

    out = out or sys.stderr
    calibrate.AUTO = False  # loading the model below must not calibrate first
    path = calibration_model(model)
    engine = None
    if on_gpu():
        path = None  # MKL is only under the CPU's matmuls
    elif path is None:
        print("calibrating on matmuls only: no musicgen-small here to time the real step "
              "(oscgen bench --model small writes random weights; or pass --model)", file=out)
    else:
        from oscgen.musicgen.pipeline import MusicGen

        print(f"calibrating with the decode step of {path}", file=out)
        engine = MusicGen.from_pretrained(path, "float32")
    record = calibrate.calibrate(engine, model=path)
    print(f"calibration: {calibrate.describe(record)}", file=out)
    return record


#: (import name, distribution, why it is needed, required for the engine)
_PACKAGES = [
    ("numpy", "numpy", "arrays", True),
    ("soundfile", "soundfile", "WAV files", True),
    ("sentencepiece", "sentencepiece", "the T5 tokenizer", True),
    ("safetensors", "safetensors", "the tiny model writer", True),
    ("huggingface_hub", "huggingface_hub", "fetching weights", True),
    ("pythonosc", "python-osc", "the OSC daemon", False),
    ("mido", "mido", "MIDI input", False),
    ("rtmidi", "python-rtmidi", "MIDI ports", False),
    ("tomlkit", "tomlkit", "saving learned MIDI mappings", False),
    ("websockets", "websockets", "OSCQuery (HTTP and LISTEN over WebSocket)", False),
    ("zeroconf", "zeroconf", "mDNS / Bonjour discovery of the daemon", False),
    ("soxr", "soxr", "resampling (44.1/48 kHz output, audio prompts at other rates)", False),
    ("pyloudnorm", "pyloudnorm", "loudness normalisation (BS.1770)", False),
]


def check_packages() -> list[Check]:
    checks = []
    for module, dist, why, required in _PACKAGES:
        version = _version(dist)
        if _present(module) and version:
            checks.append(Check(OK, dist, version))
        else:
            checks.append(Check(FAIL if required else WARN, dist, f"missing (needed for {why})",
                                f"pip install {dist}"))
    try:
        import soundfile

        checks.append(Check(OK, "libsndfile", soundfile.__libsndfile_version__))
    except Exception as exc:  # soundfile installed but its C library is not
        checks.append(Check(FAIL, "libsndfile", f"cannot load: {exc}", "apt-get install libsndfile1"))
    return checks


def check_test_extra() -> list[Check]:
    checks = []
    for module, dist in (("torch", "torch"), ("transformers", "transformers")):
        version = _version(dist) if _present(module) else None
        detail = f"{version} (test extra: parity reference only, never used at run time)" if version else \
            "absent (fine: only the tests' parity reference needs it)"
        checks.append(Check(INFO, dist, detail, "" if version else "pip install -e '.[test]' to run the tests"))
    return checks


def check_weights() -> list[Check]:
    from oscgen.musicgen import tiny, weights

    checks = []
    cache = weights.cache_dir()
    writable = _writable(cache)
    checks.append(Check(OK if writable else FAIL, "oscgen cache",
                        f"{cache} ({'writable' if writable else 'NOT writable'})",
                        "" if writable else "set OSCGEN_CACHE to a writable folder"))
    tiny_dir = cache / "models" / weights.TINY_MODEL
    marker = tiny_dir / tiny.MARKER_FILE
    checks.append(Check(INFO, "tiny-random", f"present at {tiny_dir}" if marker.is_file()
                        else "not written yet (oscgen writes it on first use, no download)"))
    converted = cache / "converted"
    if converted.is_dir():
        files = [p for p in converted.glob("*.safetensors") if not p.name.startswith(".")]
        size = sum(p.stat().st_size for p in files)
        checks.append(Check(INFO, "converted", f"{len(files)} converted checkpoint(s), {size / 2**20:.0f} MiB in {converted}"))

    hf = weights.hf_cache_dir()
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    checks.append(Check(INFO, "hf cache", f"{hf}" + (" (HF_HUB_OFFLINE set: no downloads)" if offline else "")))
    any_real = False
    for alias, repo in weights.KNOWN_MODELS.items():
        snapshot = weights.cached_hub_snapshot(repo)
        if snapshot is not None:
            any_real = True
            checks.append(Check(OK, alias, f"cached: {snapshot}"))
        else:
            checks.append(Check(WARN, alias, f"{repo} not in the HF cache",
                                f"oscgen fetch {alias} (on a connected machine), or pass --model /path/to/folder"))
    if not any_real:
        checks.append(Check(INFO, "engine", "no real weights here: generation works with tiny-random (NOISE)"))
    return checks


def _writable(path: Path) -> bool:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


#: (program, what uses it, Debian package)
_TOOLS = [
    ("oscsend", "sending OSC from a shell / tests", "liblo-tools"),
    ("oscdump", "watching OSC replies", "liblo-tools"),
    ("jackd", "MIDI without hardware (JACK)", "jackd2"),
    ("pd", "the Pure Data patch (headless)", "puredata-core"),
]


def check_tools() -> list[Check]:
    checks = []
    for program, why, package in _TOOLS:
        found = shutil.which(program)
        checks.append(Check(OK, program, found) if found else
                      Check(WARN, program, f"not found (used for {why})", f"apt-get install {package}"))
    checks.extend(check_midi())
    return checks


def check_midi() -> list[Check]:
    if not _present("rtmidi"):
        return []
    try:
        import rtmidi

        apis = [rtmidi.get_api_display_name(api) for api in rtmidi.get_compiled_api()]
    except Exception as exc:  # a broken rtmidi build
        return [Check(WARN, "midi", f"python-rtmidi unusable: {exc}", "pip install --force-reinstall python-rtmidi")]
    detail = f"rtmidi APIs: {', '.join(apis) or 'none'}"
    if sys.platform == "linux" and not os.path.exists("/dev/snd/seq"):
        return [Check(WARN, "midi", f"{detail}; no ALSA sequencer (/dev/snd/seq)",
                      "sudo modprobe snd-seq, or start jackd and use JACK MIDI")]
    return [Check(OK, "midi", detail)]


def run_checks() -> list[Check]:
    checks = check_python() + check_mlx()
    if checks[-1].status != FAIL:
        checks += check_blas()
    checks += check_packages()
    if all(c.status != FAIL for c in checks):
        checks += check_weights()
    checks += check_test_extra() + check_tools()
    return checks


def engine_can_run(checks: list[Check]) -> bool:
    return all(c.status != FAIL for c in checks)


def report(as_json: bool = False, out=None) -> int:
    """Print every check (text lines or one JSON object); 0 when the engine can run, else 1."""
    import json

    out = out or sys.stdout
    checks = run_checks()
    ok = engine_can_run(checks)
    if as_json:
        json.dump({"engine_can_run": ok, "checks": [asdict(c) for c in checks]}, out, indent=2)
        out.write("\n")
    else:
        for check in checks:
            print(check.line(), file=out)
        failed = [c.name for c in checks if c.status == FAIL]
        print("engine: ready" if ok else f"engine: CANNOT RUN (fix: {', '.join(failed)})", file=out)
    return 0 if ok else 1
