"""Where oscgen keeps what it writes for itself: the tiny model, converted weights, the bench's
random checkpoints and the BLAS calibration.  A leaf module (no mlx), so ``oscgen._blas`` can
read the calibration before MLX is imported."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """oscgen's own cache: $OSCGEN_CACHE, else ~/.cache/oscgen."""
    root = os.environ.get("OSCGEN_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "oscgen"
