"""config_lines finds the line of every key the way a reader does; hypothesis writes the files
(tables, arrays of tables, inline tables, comments and blank lines in any order) and tomllib
confirms each one is the TOML it claims to be."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from oscgen.config_lines import key_lines, locate

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
values = st.one_of(st.integers(-1000, 1000), st.booleans(), st.from_regex(r"[a-z #=\[\]{}]{0,12}", fullmatch=True))
noise = st.lists(st.sampled_from(["", "# a comment", "   # indented = comment", "#[not.a.table]"]), max_size=2)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value + '"'


@st.composite
def documents(draw):
    """(text, expected {(table, entry, key): line}) for a random config-shaped document."""
    lines, expected = [], {}

    def add(line, where=None):
        lines.append(line)
        if where is not None:
            expected.setdefault(where, len(lines))

    def keys(table, entry):
        for key in draw(st.lists(names, unique=True, max_size=4)):
            for extra in draw(noise):
                add(extra)
            if draw(st.booleans()):
                inner = draw(st.lists(names, unique=True, min_size=1, max_size=3))
                body = ", ".join(f"{k} = {_toml(draw(values))}" for k in inner)
                add(f"{key} = {{ {body} }}", (table, entry, key))
                for k in inner:
                    expected.setdefault((table, entry, f"{key}.{k}"), len(lines))
            else:
                add(f"{key} = {_toml(draw(values))}", (table, entry, key))

    tables = draw(st.lists(names, unique=True, min_size=1, max_size=3))
    for table in tables:
        for extra in draw(noise):
            add(extra)
        add(f"[{table}]", (table, None, None))
        keys(table, None)
        for entry in range(draw(st.integers(0, 2))):
            add(f"[[{table}.items]]", (f"{table}.items", entry, None))
            keys(f"{table}.items", entry)
    return "\n".join(lines) + "\n", expected


@settings(max_examples=150, deadline=None)
@given(documents())
def test_every_key_and_header_is_found_on_its_line(doc):
    text, expected = doc
    tomllib.loads(text)  # the generator writes real TOML
    found = key_lines(text)
    for where, line in expected.items():
        assert found.get(where) == line, (where, text)


def test_messages_name_their_key_in_every_shape_config_uses():
    assert locate("[osc] port = 70000: must be ...") == ("osc", None, "port", None)
    assert locate("[osc]: unknown key 'prot' (allowed: ...)") == ("osc", None, "prot", None)
    assert locate("midi.cc[2].curve = 'log': expected ...") == ("midi.cc", 2, "curve", None)
    assert locate("midi.note[0].preset = 1: only preset 0 exists") == ("midi.note", 0, "preset", None)
    assert locate("[presets] x bars = 99: ...") == ("presets", None, "x", "bars")
    assert locate("[defaults]: 16 bars at 60 bpm is 64.0 s") == ("defaults", None, None, None)
    assert locate("unknown table or key [oscc] (allowed: ...)") == ("oscc", None, None, None)
    assert locate("something else entirely") is None
