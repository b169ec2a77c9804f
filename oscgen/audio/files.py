"""Writing audio files (soundfile), atomically: a file appears under its final name only when it
is complete, so a DAW watching the folder never picks up half a WAV."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from oscgen.audio import riff

DEFAULT_SUBTYPE = "PCM_16"  # what every DAW, Max, Pd and TouchDesigner read


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None], *, overwrite: bool = True,
                 tag: str = "") -> Path:
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


def remove_temps(folder: str | os.PathLike, tag: str) -> list[Path]:
    """Remove the temporary files that a killed ``atomic_write(..., tag=tag)`` left in ``folder``."""
    pattern = re.compile(rf"^\..+\.{re.escape(tag)}[0-9a-f]{{8}}\.tmp$")
    removed = []
    try:
        leftovers = [p for p in Path(folder).iterdir() if pattern.match(p.name)]
    except OSError:
        return removed
    for path in leftovers:
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


def sound_format(path: str | os.PathLike) -> str:
    """soundfile's format name for ``path``'s extension (WAV, FLAC, OGG, AIFF, ...)."""
    suffix = Path(path).suffix.lstrip(".").upper()
    formats = sf.available_formats()
    if suffix == "AIF":
        suffix = "AIFF"
    if suffix not in formats:
        known = ", ".join(f".{name.lower()}" for name in ("WAV", "FLAC", "OGG", "AIFF") if name in formats)
        raise ValueError(f"cannot tell the audio format of {str(path)!r}: use one of {known}")
    return suffix


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    overwrite: bool = True,
    tag: str = "",
    chunks: Sequence[tuple[bytes, bytes]] = (),
) -> Path:
    """Write ``audio`` (channels, samples) float to ``path`` atomically; the format comes from
    the extension (``.wav`` → 16-bit PCM WAV unless ``subtype`` says otherwise).  ``chunks``:
    extra RIFF chunks (fourcc, body) for a WAV, e.g. ``Take.chunks()`` (tempo and loop); other
    formats have no place for them and get none."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")
    fmt = sound_format(path)
    if subtype is None and fmt == "WAV":
        subtype = DEFAULT_SUBTYPE

    def write(file):
        # Encode in memory, then write with plain file I/O: soundfile swallows OSError inside its
        # virtual-I/O callbacks, so a full disk would surface as a bare AssertionError.
        encoded = io.BytesIO()
        sf.write(encoded, audio.T, sample_rate, format=fmt, subtype=subtype)
        if chunks and fmt == "WAV":
            file.write(riff.append_chunks(encoded.getvalue(), list(chunks)))
        else:
            file.write(encoded.getbuffer())

    return atomic_write(path, write, overwrite=overwrite, tag=tag)
