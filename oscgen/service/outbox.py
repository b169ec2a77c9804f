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

from oscgen.audio import atomic_write, write_audio

SLUG_CHARS = 40
STEM_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(text: str, limit: int = SLUG_CHARS) -> str:
    """'Upbeat Jazz — piano/solo!' -> 'upbeat-jazz-piano-solo' (ASCII letters, digits, dashes)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "untitled"


def file_stem(template: str, job_id: int, prompt: str, model: str, seed: int, when: float | None = None, *,
              bpm: float | None = None, bars: float | None = None, preset: str | None = None) -> str:
    """The file name (without extension) for a job, from the ``[output] name`` template;
    ``bpm`` and ``bars`` only for a take in bars ("" otherwise), ``preset`` its name or ""."""
    t = time.localtime(when if when is not None else time.time())
    stem = template.format(
        date=time.strftime("%Y%m%d", t),
        time=time.strftime("%H%M%S", t),
        id=f"{job_id:04d}",
        slug=slugify(prompt),
        model=slugify(model.rsplit("/", 1)[-1], 30),
        seed=seed,
        bpm="" if not bars or bpm is None else f"{bpm:g}",
        bars="" if not bars else f"{bars:g}",
        preset="" if not preset else slugify(preset, 30),
    )
    # Belt and braces: whatever the template made, the result is one plain name in the folder.
    stem = _UNSAFE.sub("-", stem).lstrip(".-")[:STEM_CHARS]
    return stem or f"oscgen-{job_id:04d}"


def save(folder: Path, stem: str, samples, sample_rate: int, subtype: str, sidecar: dict | None, tag: str = "",
         chunks=()) -> Path:
    """Write the WAV (with ``chunks``: its tempo and loop, ``Take.chunks()``) (and its sidecar, published first so that it is there when a watcher sees
    the WAV) as ``stem``, or ``stem-2``, ``stem-3``... when a name is taken: nothing is ever
    overwritten.  Returns the WAV's path.  Raises OSError (full disk, unwritable folder); no
    partial or temporary file is left behind."""
    folder.mkdir(parents=True, exist_ok=True)  # a folder removed while running comes back
    for n in range(1, 10_000):
        name = stem if n == 1 else f"{stem}-{n}"
        meta = folder / f"{name}.json"
        try:
            if sidecar is not None:
                atomic_write(meta, lambda f: f.write(_sidecar_bytes(sidecar)), overwrite=False, tag=tag)
            try:
                return write_audio(folder / f"{name}.wav", samples, sample_rate, subtype=subtype, overwrite=False, tag=tag,
                                   chunks=chunks)
            except BaseException:
                if sidecar is not None:
                    meta.unlink(missing_ok=True)
                raise
        except FileExistsError:
            continue
    raise FileExistsError(f"no free file name for {stem!r} in {folder}")


def _sidecar_bytes(sidecar: dict) -> bytes:
    return (json.dumps(sidecar, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
