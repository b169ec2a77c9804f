"""MIDI learn's mappings written back into the user's config.toml, keeping everything else.

Split from config.py (which reads and checks the file; this writes one table of it)."""

from __future__ import annotations

from oscgen.midi_map import CcMapping


def _conflicts(entry, mapping: CcMapping) -> bool:
    """Would this `[[midi.cc]]` entry fight with the learned mapping (same knob, or the same
    control on an overlapping channel)?  Mirrors what `MidiMapper._learn_from` drops."""
    if entry.get("knob") == mapping.knob:
        return True
    channel = entry.get("channel", 0)
    numbers = {entry.get("cc")} | ({entry.get("cc", -100) + 32} if entry.get("bits") == 14 else set())
    return (channel == 0 or mapping.channel == 0 or channel == mapping.channel) and mapping.cc in numbers


def save_learned(path, mapping: CcMapping, note: str = "learned over MIDI") -> None:
    """Write a learned mapping into the config file as a `[[midi.cc]]` entry, replacing the
    entries it supersedes.  tomlkit keeps every comment, key and blank line it does not touch;
    the file is replaced atomically (temp file + rename), so a crash never leaves half a config."""
    import os
    import tempfile

    import tomlkit  # round-trips comments and layout; tomllib only reads

    with open(path, encoding="utf-8") as f:
        doc = tomlkit.parse(f.read())
    midi = doc.get("midi")
    if midi is None:
        midi = tomlkit.table()
        doc.append("midi", midi)
    if "cc" not in midi:
        midi.append("cc", tomlkit.aot())
    entries = midi["cc"]
    for i in reversed(range(len(entries))):
        if _conflicts(entries[i], mapping):
            del entries[i]
    table = tomlkit.table()
    table.add(tomlkit.comment(note))
    for key, value in mapping.to_table().items():
        table.add(key, value)
    table.add(tomlkit.nl())
    entries.append(table)

    text = tomlkit.dumps(doc)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
