"""Which files the daemon may read as audio prompts (/oscgen/continue), and reading them.

Nothing received over OSC may make the daemon read outside the folders it was given: the
watched output folder and config's ``[input] folders``.  A request names a WAV either by its
bare file name (looked up in those folders, in that order) or by an absolute path; either way
the real path (symlinks resolved) must lie inside one of the folders and be a regular,
non-hidden ``.wav`` file.  Everything else is refused with a reason: relative paths with
folders in them, ``..``, hidden files (the outbox's half-written temporaries are hidden),
devices and FIFOs (reading one would hang the worker), other extensions, control characters,
absurd lengths.  The worker checks again right before it reads (the folder may have changed
since the request), then reads only the WAV's last seconds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

MAX_NAME = 1024  # characters in a requested path
SUFFIXES = (".wav", ".wave")


class InputRules:
    def __init__(self, output_folder: Path, input_folders: tuple[Path, ...] = ()):
        folders = [Path(output_folder), *map(Path, input_folders)]
        # real paths, so a symlinked folder compares by what it points at
        self.folders = tuple(dict.fromkeys(Path(os.path.realpath(f)) for f in folders))

    def resolve(self, name) -> Path:
        """The real path of the WAV ``name`` refers to; ValueError saying why not."""
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("expects a WAV file name or an absolute path (s)")
        if len(name) > MAX_NAME:
            raise ValueError(f"path is {len(name)} characters long; at most {MAX_NAME}")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError("path contains control characters")
        path = Path(name)
        if path.is_absolute():
            candidates = [path]
        elif len(path.parts) == 1 and name not in (".", ".."):
            candidates = [folder / name for folder in self.folders]
        else:
            raise ValueError(f"{name!r}: give a bare file name (looked up in {self._where()}) or an absolute path")
        if any(part == ".." for part in path.parts):
            raise ValueError(f"{name!r}: '..' is not allowed")
        for candidate in candidates:
            if os.path.lexists(candidate):
                return self.check(candidate)
        raise ValueError(f"{name!r}: no such WAV in {self._where()}")

    def check(self, path: Path) -> Path:
        """``path``'s real path if it is a readable prompt under the rules; ValueError if not."""
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(folder) and real != folder for folder in self.folders):
            raise ValueError(f"{str(path)!r} is outside the folders the daemon reads ({self._where()})")
        relative = next(real.relative_to(f) for f in self.folders if real.is_relative_to(f))
        if any(part.startswith(".") for part in relative.parts):
            raise ValueError(f"{str(path)!r}: hidden files and folders are not read")
        if real.suffix.lower() not in SUFFIXES:
            raise ValueError(f"{str(path)!r}: only .wav files are read")
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            raise ValueError(f"{str(path)!r}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            raise ValueError(f"{str(path)!r} is not a regular file")
        return real

    def _where(self) -> str:
        return ", ".join(str(f) for f in self.folders)


def read_tail(rules: InputRules, path, seconds: float) -> tuple[np.ndarray, int]:
    """The last ``seconds`` of the WAV at ``path`` (re-checked against ``rules``), as float32
    (channels, samples) and its rate.  Opened without following a symlink swapped in since
    the check; a file that is not a readable WAV is a ValueError."""
    import soundfile as sf

    real = rules.check(Path(path))
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ValueError(f"{str(path)!r}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise ValueError(f"{str(path)!r} is not a regular file")
        try:
            with sf.SoundFile(file) as sound:
                if sound.format not in ("WAV", "WAVEX", "RF64"):
                    raise ValueError(f"{str(path)!r} is {sound.format}, not a WAV")
                keep = min(sound.frames, max(1, int(round(seconds * sound.samplerate))))
                sound.seek(sound.frames - keep)
                data = sound.read(keep, dtype="float32", always_2d=True)
                rate = sound.samplerate
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise ValueError(f"cannot read {str(path)!r} as a WAV: {exc}") from None
    if data.shape[0] == 0:
        raise ValueError(f"{str(path)!r} holds no audio")
    return np.ascontiguousarray(data.T), int(rate)
