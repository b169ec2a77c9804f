"""The watched folder: safe file names, the WAV and its JSON sidecar, published atomically, WAV
first, and what a killed writer left half-published finished or removed (``recover``).

Nothing received over OSC becomes a path: the name is built from a config template, the job
number, the time and a slug of the prompt reduced to ``[a-z0-9-]``; the folder comes from config
or the command line only.
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
import uuid
from pathlib import Path

from oscgen.audio import write_audio
from oscgen.audio.files import _fsync_folder  # the same durable rename as every atomic write

SLUG_CHARS = 40
STEM_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(text: str, limit: int = SLUG_CHARS) -> str:
    """'Upbeat Jazz — piano/solo!' -> 'upbeat-jazz-piano-solo' (ASCII letters, digits, dashes)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "untitled"


def file_stem(template: str, job_id: int, prompt: str, model: str, seed: int, when: float | None = None, *,
              bpm: float | None = None, bars: float | None = None, preset: str | None = None,
              take: int | None = None) -> str:
    """The file name (without extension) for a job, from the ``[output] name`` template;
    ``bpm`` and ``bars`` only for a take in bars ("" otherwise), ``preset`` its name or "",
    ``take`` the take's number in a job of several (None: the job's only take).  A template
    without {take} gets "_take<n>" appended for a job of several, so its takes never share a name."""
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
        take="" if take is None else str(take),
    )
    suffix = f"_take{take}" if take is not None and "{take}" not in template else ""
    # Belt and braces: whatever the template made, the result is one plain name in the folder.
    stem = _UNSAFE.sub("-", stem).lstrip(".-")[:STEM_CHARS - len(suffix)]
    return (stem or f"oscgen-{job_id:04d}") + suffix


def save(folder: Path, stem: str, samples, sample_rate: int, subtype: str, sidecar: dict | None, tag: str = "",
         chunks=()) -> Path:
    """Write the WAV (with ``chunks``: its tempo and loop, ``Take.chunks()``) and its sidecar
    as ``stem``, or ``stem-2``, ``stem-3``... when a name is taken: nothing is ever
    overwritten.  Returns the WAV's path.  Raises OSError (full disk, unwritable folder); no
    partial or temporary file is left behind.

    Power-cut safe: the sidecar is written to a hidden temp file first, then the WAV is
    published (atomically), then the sidecar (atomically).  So the folder never shows a
    sidecar without its WAV; a kill between the two publishes leaves the WAV and the
    sidecar's temp file, which ``recover`` (run when the daemon starts and when a worker
    dies) publishes."""
    folder.mkdir(parents=True, exist_ok=True)  # a folder removed while running comes back
    for n in range(1, 10_000):
        name = stem if n == 1 else f"{stem}-{n}"
        wav, meta = folder / f"{name}.wav", folder / f"{name}.json"
        if wav.exists() or (sidecar is not None and meta.exists()):
            continue
        pending = _write_temp(meta, _sidecar_bytes(sidecar), tag) if sidecar is not None else None
        try:
            write_audio(wav, samples, sample_rate, subtype=subtype, overwrite=False, tag=tag, chunks=chunks)
        except FileExistsError:
            _discard(pending)
            continue
        except BaseException:
            _discard(pending)
            raise
        if pending is None:
            return wav
        try:
            _publish(pending, meta)
        except BaseException:  # all or nothing: a take without its sidecar is not announced
            _discard(pending)
            wav.unlink(missing_ok=True)
            raise
        return wav
    raise FileExistsError(f"no free file name for {stem!r} in {folder}")


#: A temp file of atomic_write / _write_temp: ".<final name>.<tag><8 hex>.tmp", tag "oscgen<pid>-".
TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.(?P<tag>oscgen(?P<pid>\d+)-)[0-9a-f]{8}\.tmp$")


def recover(folder: Path, owned) -> list[str]:
    """Finish or undo what a killed writer left half-published in ``folder``: for every temp
    file whose tag ``owned(tag, pid)`` accepts (a dead daemon's, or this daemon's after its
    worker died).  A complete sidecar whose WAV was published is published too; every other
    temp file is removed, and so is a sidecar an older oscgen published before a WAV that
    never came (its WAV's temp file is the evidence).  Returns what was done, for the log."""
    try:
        leftovers = sorted(p for p in folder.iterdir() if TEMP_NAME.match(p.name))
    except OSError:
        return []
    done = []
    for tmp in leftovers:
        m = TEMP_NAME.match(tmp.name)
        if not owned(m["tag"], int(m["pid"])):
            continue
        final = folder / m["final"]
        try:
            if final.suffix == ".json" and final.with_suffix(".wav").exists() and not final.exists() and _is_sidecar(tmp):
                _publish(tmp, final)
                done.append(f"published {final.name} (its WAV was written before the writer stopped)")
                continue
            tmp.unlink(missing_ok=True)
            done.append(f"removed {tmp.name}")
            orphan = final.with_suffix(".json")
            if final.suffix == ".wav" and not final.exists() and orphan.exists() and _is_sidecar(orphan):
                orphan.unlink()
                done.append(f"removed {orphan.name} (a sidecar whose WAV was never finished)")
        except (OSError, FileExistsError):
            continue
    return done


def _is_sidecar(path: Path) -> bool:
    """An oscgen sidecar, complete: JSON with the keys worker._sidecar writes."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "oscgen" in data and "generate" in data


def _write_temp(path: Path, data: bytes, tag: str) -> Path:
    tmp = path.with_name(f".{path.name}.{tag}{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _publish(tmp: Path, path: Path) -> None:
    """Move a complete temp file to its name in one step, never over an existing file."""
    os.link(tmp, path)
    tmp.unlink()
    _fsync_folder(path.parent)


def _discard(tmp: Path | None) -> None:
    if tmp is not None:
        tmp.unlink(missing_ok=True)


def _sidecar_bytes(sidecar: dict) -> bytes:
    return (json.dumps(sidecar, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
