"""config.toml's ``[input]`` (what /oscgen/continue may read) and ``[long]`` (takes past the
model's 30 s), validated like the rest of config.py (which calls ``parse``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from oscgen.knobs import LONG_MAX_DURATION, MAX_DURATION

INPUT_KEYS = ("folders", "prompt_seconds")
LONG_KEYS = ("max_duration", "extend_stride")


@dataclass(frozen=True)
class InputConfig:
    folders: tuple[Path, ...] = ()  # absolute; read besides the watched [output] folder
    prompt_seconds: float = 10.0  # a continuation is prompted by at most the WAV's last this many seconds


@dataclass(frozen=True)
class LongConfig:
    max_duration: float = MAX_DURATION  # the longest take a patch may ask for; > 30 s: windowed
    extend_stride: float = 18.0  # seconds each window after the first adds


def parse(input_t: dict, long_t: dict, where, error) -> tuple[InputConfig, LongConfig]:
    """The two tables → their configs; ``where(table, key)`` names a key in messages and
    ``error`` is the ConfigError class."""
    for table, keys, name in ((input_t, INPUT_KEYS, "input"), (long_t, LONG_KEYS, "long")):
        for key in table:
            if key not in keys:
                raise error(f"{where(name)}: unknown key {key!r} (allowed: {', '.join(keys)})")
    folders = input_t.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) and f.strip() for f in folders):
        raise error(f"{where('input', 'folders')} = {folders!r}: must be a list of folder paths")
    resolved = []
    for f in folders:
        path = Path(f).expanduser()
        if not path.is_absolute():  # strict like the output side: no folder that depends on where the daemon starts
            raise error(f"{where('input', 'folders')}: {f!r} must be an absolute path (or start with ~)")
        resolved.append(path)

    def seconds(table, key, default, low, high, name):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low < value <= high:
            raise error(f"{where(name, key)} = {value!r}: must be seconds in ({low:g}, {high:g}]")
        return float(value)

    prompt = seconds(input_t, "prompt_seconds", InputConfig.prompt_seconds, 0.0, MAX_DURATION - 0.1, "input")
    longest = seconds(long_t, "max_duration", LongConfig.max_duration, 0.0, LONG_MAX_DURATION, "long")
    if longest < MAX_DURATION:
        raise error(f"{where('long', 'max_duration')} = {longest:g}: must be seconds in "
                    f"[{MAX_DURATION:g}, {LONG_MAX_DURATION:g}] (30 = no long takes)")
    stride = seconds(long_t, "extend_stride", LongConfig.extend_stride, 0.0, MAX_DURATION - 0.1, "long")
    return InputConfig(tuple(resolved), prompt), LongConfig(longest, stride)
