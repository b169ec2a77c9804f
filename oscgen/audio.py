"""WAV writing and the atomic-file helpers used wherever a file appears in a watched folder.

A watcher (a DAW, a sampler, a script) must never see a half-written file, and nothing may be
overwritten: files are written under a hidden temporary name in the destination folder, fsynced,
then hard-linked to their final name (``link`` fails if the name exists, where ``rename`` would
silently replace it).
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

import numpy as np

TMP_PREFIX = ".oscgen-tmp-"


def write_wav(file, samples, sample_rate: int, subtype: str = "PCM_16") -> None:
    """``samples`` shaped (channels, frames) or (frames,), float in [-1, 1], to a WAV ``file``
    (a path or a binary file object).  Integer formats are clipped first: libsndfile would wrap
    an out-of-range float around instead."""
    import soundfile as sf

    data = np.asarray(samples, dtype=np.float32)
    data = data.T if data.ndim == 2 else data  # soundfile wants (frames, channels)
    if subtype.startswith("PCM"):
        data = np.clip(data, -1.0, 1.0)
    sf.write(file, data, sample_rate, subtype=subtype, format="WAV")


def write_temp(folder: Path, write, suffix: str, tag: str = "") -> Path:
    """Call ``write(fileobj)`` on a new hidden file in ``folder``, flush and fsync it; return its
    path.  The caller publishes it (``publish``) or removes it.  ``tag`` goes in the name so a
    process can find and remove its own leftovers (``remove_temps``)."""
    path = folder / f"{TMP_PREFIX}{tag}{uuid.uuid4().hex[:12]}{suffix}"
    try:
        with open(path, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def publish(tmp: Path, final: Path) -> bool:
    """Give ``tmp`` the name ``final`` unless that name exists; True if it did.  ``tmp`` stays
    (remove it after).  Falls back to check-then-rename on filesystems without hard links
    (exFAT, SMB), where a racing writer could still slip in between."""
    try:
        os.link(tmp, final)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    if final.exists():
        return False
    os.rename(tmp, final)
    return True


def fsync_dir(folder: Path) -> None:
    """Make the new directory entries durable (a power cut after 'done' keeps the file)."""
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


def remove_temps(folder: Path, tag: str = "") -> list[Path]:
    """Remove this process's (``tag``) leftover temporary files from ``folder``."""
    removed = []
    try:
        entries = list(folder.glob(f"{TMP_PREFIX}{tag}*"))
    except OSError:
        return removed
    for path in entries:
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
