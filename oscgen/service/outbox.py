"""The watched folder: safe file names, the WAV and its JSON sidecar, published atomically.

Nothing received over OSC becomes a path: the name is built from a config template, the job
number, the time and a slug of the prompt reduced to ``[a-z0-9-]``; the folder comes from config
or the command line only.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from pathlib import Path

from oscgen.audio import fsync_dir, publish, write_temp, write_wav

SLUG_CHARS = 40
STEM_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(text: str, limit: int = SLUG_CHARS) -> str:
    """'Upbeat Jazz — piano/solo!' -> 'upbeat-jazz-piano-solo' (ASCII letters, digits, dashes)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "untitled"


def file_stem(template: str, job_id: int, prompt: str, model: str, seed: int, when: float | None = None) -> str:
    """The file name (without extension) for a job, from the ``[output] name`` template."""
    t = time.localtime(when if when is not None else time.time())
    stem = template.format(
        date=time.strftime("%Y%m%d", t),
        time=time.strftime("%H%M%S", t),
        id=f"{job_id:04d}",
        slug=slugify(prompt),
        model=slugify(model.rsplit("/", 1)[-1], 30),
        seed=seed,
    )
    # Belt and braces: whatever the template made, the result is one plain name in the folder.
    stem = _UNSAFE.sub("-", stem).lstrip(".-")[:STEM_CHARS]
    return stem or f"oscgen-{job_id:04d}"


def save(folder: Path, stem: str, samples, sample_rate: int, subtype: str, sidecar: dict | None, tag: str = "") -> Path:
    """Write the WAV (and the sidecar, published first so that it is there when a watcher sees
    the WAV) under ``stem``, or ``stem-2``, ``stem-3``... if taken.  Returns the WAV's path.
    Raises OSError (full disk, unwritable folder) with no file left behind."""
    folder.mkdir(parents=True, exist_ok=True)  # a folder removed while running comes back
    temps = [write_temp(folder, lambda f: write_wav(f, samples, sample_rate, subtype), ".wav", tag)]
    try:
        if sidecar is not None:
            temps.append(write_temp(folder, lambda f: f.write(_sidecar_bytes(sidecar)), ".json", tag))
        for n in range(1, 10_000):
            name = stem if n == 1 else f"{stem}-{n}"
            wav = folder / f"{name}.wav"
            if sidecar is not None:
                meta = folder / f"{name}.json"
                if not publish(temps[1], meta):
                    continue
                if not publish(temps[0], wav):
                    meta.unlink(missing_ok=True)
                    continue
            elif not publish(temps[0], wav):
                continue
            fsync_dir(folder)
            return wav
        raise FileExistsError(f"no free file name for {stem!r} in {folder}")
    finally:
        for path in temps:
            path.unlink(missing_ok=True)


def _sidecar_bytes(sidecar: dict) -> bytes:
    return (json.dumps(sidecar, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
