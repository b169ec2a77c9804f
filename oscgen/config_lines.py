"""Line numbers for config errors, and what to fall back to so the next error can be found too.

tomllib (the reader) keeps no positions, and tomlkit's are not public, so the lines are found by
reading the file the way a person does: the table headers (``[osc]``, ``[[midi.cc]]``, counted)
and the ``key =`` lines under them.  Error messages name their key in a few fixed shapes
(``[osc] port = ...``, ``[osc]: unknown key 'prot'``, ``midi.cc[2].curve = ...``,
``[presets] ambient bars ...``); ``locate`` reads the key back out of a message.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[tuple, int]:
    """(table, entry, key) -> 1-based line: ``("osc", None, "port")``, ``("osc", None, None)`` for
    the header, ``("midi.cc", 2, "curve")`` for the third ``[[midi.cc]]``, and inline tables'
    keys as ``("presets", None, "ambient.bars")``."""
    lines: dict[tuple, int] = {}
    table, entry = "", None
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            table = header.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if header.group(1) == "[[":
                entry = counts.get(table, 0)
                counts[table] = entry + 1
            else:
                entry = None
            lines.setdefault((table, entry, None), number)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1).strip('"')
            lines.setdefault((table, entry, name), number)
            rest = line[key.end():]
            if rest.lstrip().startswith("{"):
                for inner in _INLINE_KEY.findall(rest):
                    lines.setdefault((table, entry, f"{name}.{inner}"), number)
    return lines


# (table, entry index or None, key or None, sub-key or None) read out of a message
_SHAPES = (
    (re.compile(r"^midi\.(cc|note)\[(\d+)\](?:\.(\w+))?"), lambda m: ("midi." + m[1], int(m[2]), m[3], None)),
    (re.compile(r"^midi\.(program)(?:\.(\w+))?"), lambda m: ("midi.program", None, m[2], None)),
    (re.compile(r"^midi\.(clock|\w+)\b"), lambda m: ("midi", None, m[1], None)),
    (re.compile(r"^\[(\w+)\]: unknown key '([^']+)'"), lambda m: (m[1], None, m[2], None)),
    (re.compile(r"^\[(\w+)\] ([\w\-]+)(?: (\w+))?"), lambda m: (m[1], None, m[2], m[3])),
    (re.compile(r"^\[(\w+)\]"), lambda m: (m[1], None, None, None)),
    (re.compile(r"^unknown table or key \[(\w+)\]"), lambda m: (m[1], None, None, None)),
    (re.compile(r"^(\w+) = .*must be a table"), lambda m: (m[1], None, None, None)),
)


def locate(message: str) -> tuple | None:
    """The key a message (without its ``FILE: `` prefix) is about, or None."""
    for pattern, shape in _SHAPES:
        m = pattern.match(message)
        if m:
            return shape(m)
    return None


def line_of(lines: dict[tuple, int], where: tuple | None, message: str) -> int | None:
    """The line to point at: the key's, else its inline table's or its table's header."""
    m = re.search(r"at line (\d+)", message)  # tomllib's own syntax errors
    if m:
        return int(m.group(1))
    if where is None:
        return None
    table, entry, key, sub = where
    if table == "presets" and key and sub:
        candidates = [("presets", None, f"{key}.{sub}"), ("presets", None, key)]
    else:
        candidates = [(table, entry, key)] if key else []
    candidates.append((table, entry, None))
    if entry is not None:
        candidates.append((table, None, None))
    if "." in table:  # [[midi.cc]] entries under a [midi] written as midi.cc = [...]
        parent, child = table.rsplit(".", 1)
        candidates += [(parent, None, child), (parent, None, None)]
    for c in candidates:
        if c in lines:
            return lines[c]
    return None


def fall_back(raw: dict, builtin: dict, where: tuple) -> bool:
    """Put the built-in value (or nothing) where the bad one was, so validation can go on to the
    next problem.  False when it cannot (the problem spans keys): stop collecting there."""
    table, entry, key, _ = where
    if table.startswith("midi.") and table != "midi.program":
        entries = raw.get("midi", {}).get(table[5:])
        if isinstance(entries, list) and entry is not None and entry < len(entries):
            entries[entry] = None  # a hole keeps the other entries' numbers; dropped before parsing
            return True
        return False
    if table == "midi.program":
        raw.get("midi", {}).pop("program", None)
        return True
    if key is None:
        if table in builtin and isinstance(builtin[table], dict):
            if raw.get(table) == builtin[table]:
                return False
            raw[table] = dict(builtin[table])
            return True
        return raw.pop(table, None) is not None
    section = raw.get(table)
    if not isinstance(section, dict) or key not in section:
        return False
    if table != "presets" and key in builtin.get(table, {}):
        if section[key] == builtin[table][key]:
            return False
        section[key] = builtin[table][key]
    else:
        del section[key]
    return True


MAX_PROBLEMS = 50


def collect(build, raw: dict, builtin: dict, source: str, text: str):
    """Run ``build()`` until it passes, putting the built-in value where each bad one was, so one
    start-up reports every mistake in the file.  Returns (the result or None, the problems as
    ``FILE:LINE: what`` lines in file order)."""
    lines = key_lines(text)
    problems: list[str] = []
    while len(problems) < MAX_PROBLEMS:
        try:
            result = build()
        except ValueError as exc:  # config.ConfigError
            message = str(exc).removeprefix(f"{source}: ")
            where = locate(message)
            line = line_of(lines, where, message)
            entry = f"{source}:{line}: {message}" if line else f"{source}: {message}"
            if entry in problems:
                break
            problems.append(entry)
            if where is None or not fall_back(raw, builtin, where):
                break
            continue
        if not problems:
            return result, []
        break
    problems.sort(key=_line_number)  # in the order of the file, as an editor shows them
    return None, problems


def _line_number(problem: str) -> int:
    number = problem.split(": ", 1)[0].rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else 0
