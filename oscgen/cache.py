"""Where oscgen keeps what it writes for itself: the tiny model, converted weights, the bench's
random checkpoints and the BLAS calibration.  A leaf module (no mlx), so ``oscgen._blas`` can
read the calibration before MLX is imported."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path


def cache_dir() -> Path:
    """oscgen's own cache: $OSCGEN_CACHE, else ~/.cache/oscgen."""
    root = os.environ.get("OSCGEN_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "oscgen"


def compiler(variable: str, names: tuple[str, ...], what: str) -> str:
    """The compiler to build with: ``$variable``, else the first of ``names`` on PATH; an OSError
    saying there is no ``what`` otherwise."""
    found = os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)
    if found is None:
        raise OSError(f"no {what}")
    return found


def compile_into(path: Path, command: Callable[[Path], list[str]], what: str, stale: Iterable[Path]) -> Path:
    """Run ``command(tmp)`` (a compiler writing ``tmp``) and rename its output to ``path``,
    atomically: concurrent processes each write their own file and the last rename wins; then
    remove ``stale`` files (earlier sources' builds; one already loaded stays mapped).  A failed
    build raises OSError naming ``what`` with the compiler's last words."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    proc = subprocess.run(command(tmp), capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise OSError(f"building {what} failed: {proc.stderr.strip()[-300:]}")
    os.replace(tmp, path)
    for old in stale:
        if old != path:
            old.unlink(missing_ok=True)
    return path
