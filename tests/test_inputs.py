"""The daemon's read side: which files /oscgen/continue may read (service/inputs.py).  Hostile
names are refused with a reason; hypothesis throws arbitrary text and paths built from the
folder's own names at it, and nothing outside the allowed folders ever resolves."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings, strategies as st

from oscgen.service.inputs import InputRules, read_tail


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    out, loops, outside = root / "out", root / "loops", root / "outside"
    for folder in (out, loops, outside, out / "sub", out / ".hidden"):
        folder.mkdir()
    tone = (0.25 * np.sin(np.arange(32000) / 5)).astype(np.float32)
    for path in (out / "take.wav", loops / "loop.wav", outside / "secret.wav", out / "sub" / "deep.wav",
                 out / ".half.wav.tmp.wav", out / ".hidden" / "x.wav"):
        sf.write(path, tone, 32000)
    (out / "notes.txt").write_text("not audio")
    (out / "fake.wav").write_text("RIFF but not really")
    os.symlink(outside / "secret.wav", out / "escape.wav")
    os.symlink(loops / "loop.wav", out / "alias.wav")
    os.symlink(outside, out / "door")
    os.mkfifo(out / "pipe.wav")
    (out / "folder.wav").mkdir()
    return root, InputRules(out, (loops,))


def test_bare_names_are_looked_up_in_the_watched_folder_then_the_input_folders(tree):
    root, rules = tree
    assert rules.resolve("take.wav") == (root / "out" / "take.wav").resolve()
    assert rules.resolve("loop.wav") == (root / "loops" / "loop.wav").resolve()
    assert rules.resolve(str(root / "loops" / "loop.wav")) == (root / "loops" / "loop.wav").resolve()
    assert rules.resolve(b"take.wav") == (root / "out" / "take.wav").resolve()  # an OSC blob


@pytest.mark.parametrize(
    "name, reason",
    [
        ("secret.wav", "no such WAV"),
        ("escape.wav", "outside the folders"),  # a symlink out of the watched folder
        ("door/secret.wav", "bare file name"),
        ("{root}/out/door/secret.wav", "outside the folders"),
        ("{root}/outside/secret.wav", "outside the folders"),
        ("{root}/out/../outside/secret.wav", "'..'"),
        ("../outside/secret.wav", "bare file name"),
        ("sub/deep.wav", "bare file name"),
        ("..", "bare file name"),
        (".half.wav.tmp.wav", "hidden"),
        ("{root}/out/.hidden/x.wav", "hidden"),
        ("notes.txt", "only .wav"),
        ("pipe.wav", "not a regular file"),
        ("folder.wav", "not a regular file"),
        ("{root}/out", "outside the folders"),  # the folder itself
        ("/etc/passwd", "outside the folders"),
        ("take.wav\x00.txt", "control characters"),
        ("take\n.wav", "control characters"),
        ("", "WAV file name"),
        ("x" * 5000 + ".wav", "characters long"),
        (42, "WAV file name"),
    ],
)
def test_hostile_and_wrong_names_are_refused_with_a_reason(tree, name, reason):
    root, rules = tree
    if isinstance(name, str):
        name = name.replace("{root}", str(root))
    with pytest.raises(ValueError, match=reason):
        rules.resolve(name)


def _inside(path: Path, root: Path) -> bool:
    return any(path.is_relative_to((root / f).resolve()) for f in ("out", "loops"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(["..", ".", "out", "loops", "outside", "door", "sub", ".hidden", "take.wav",
                              "secret.wav", "escape.wav", "alias.wav", "pipe.wav", "", "/"]), max_size=6),
))
def test_nothing_outside_the_folders_ever_resolves(tree, parts):
    root, rules = tree
    name = parts if isinstance(parts, str) else "/".join(parts)
    if isinstance(parts, list) and parts[:1] == ["/"]:
        name = str(root) + name[1:]
    try:
        path = rules.resolve(name)
    except ValueError:
        return
    assert _inside(path, root) and path.is_file() and path.suffix == ".wav"
    assert not any(p.startswith(".") for p in path.relative_to(root).parts)


def test_read_tail_reads_only_the_last_seconds(tree, tmp_path):
    root, rules = tree
    samples, rate = read_tail(rules, rules.resolve("take.wav"), 0.25)
    assert rate == 32000 and samples.shape == (1, 8000)
    whole, _ = sf.read(root / "out" / "take.wav", dtype="float32")
    np.testing.assert_array_equal(samples[0], whole[-8000:])
    assert read_tail(rules, rules.resolve("take.wav"), 10.0)[0].shape == (1, 32000)  # shorter than asked: all of it


def test_read_tail_rechecks_and_refuses_what_is_not_a_wav(tree):
    root, rules = tree
    with pytest.raises(ValueError, match="cannot read"):
        read_tail(rules, root / "out" / "fake.wav", 1.0)
    with pytest.raises(ValueError, match="outside"):
        read_tail(rules, root / "outside" / "secret.wav", 1.0)
