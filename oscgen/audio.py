"""Writing audio files (soundfile), atomically: a file appears under its final name only when it
is complete, so a DAW watching the folder never picks up half a WAV."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

DEFAULT_SUBTYPE = "PCM_16"  # what every DAW, Max, Pd and TouchDesigner read


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None], *, overwrite: bool = True, tag: str = "") -> Path:
    """Call ``write(file)`` on a hidden temporary file in ``path``'s folder, fsync it, then move it
    to ``path`` in one step.

    ``overwrite=False`` never replaces an existing file (FileExistsError instead): the final
    name is claimed with a hard link, which fails atomically if the name is taken.  On any
    error the temporary file is removed.  ``tag`` (letters, digits, dashes) goes into the
    temporary name so that a supervisor can remove what a killed writer left (``remove_temps``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{tag}{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def temp_files(folder: str | os.PathLike, tag: str = "") -> list[Path]:
    """Temporary files of ``atomic_write`` (with ``tag``) in ``folder``."""
    pattern = re.compile(rf"^\..+\.{re.escape(tag)}[0-9a-f]{{8}}\.tmp$")
    try:
        return sorted(p for p in Path(folder).iterdir() if pattern.match(p.name))
    except OSError:
        return []


def remove_temps(folder: str | os.PathLike, tag: str) -> list[Path]:
    """Remove the temporary files a killed writer with ``tag`` left in ``folder``."""
    removed = []
    for path in temp_files(folder, tag):
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform/filesystem allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    overwrite: bool = True,
    tag: str = "",
) -> Path:
    """Write ``audio`` (channels, samples) float to the WAV ``path`` atomically (16-bit PCM
    unless ``subtype`` says otherwise; libsndfile clips out-of-range floats for PCM)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")

    def write(file):
        sf.write(file, audio.T, sample_rate, format="WAV", subtype=subtype or DEFAULT_SUBTYPE)

    return atomic_write(path, write, overwrite=overwrite, tag=tag)
