"""/oscgen/model over OSC: built-in names, the start-up model and config's [models] only; one
answer for everything else that says nothing about the disk; downloads only where config allows.
The CLI and the Python API still load any folder (test_api / test_daemon_jobs cover those)."""

from __future__ import annotations

import json
import shutil

import pytest

from oscgen.config import ConfigError, load_config
from oscgen.service.models import ModelRules, builtin_names

from _osc_helpers import DaemonProcess, replies  # noqa: F401 (replies: fixture)


def test_the_builtin_names_are_the_engines_aliases():
    from oscgen.musicgen import weights

    assert builtin_names() == (*weights.KNOWN_MODELS, weights.TINY_MODEL)


def _rules(tmp_path, extra: str = "") -> ModelRules:
    path = tmp_path / "c.toml"
    path.write_text(f'[models]\nbass = "./models/bass"\nhub = "someone/musicgen-hub"\n{extra}')
    return ModelRules.from_config(load_config(path))


def test_config_models_map_names_to_folders_relative_to_the_file_and_repo_ids(tmp_path):
    rules = _rules(tmp_path)
    assert rules.target("bass") == str(tmp_path / "models" / "bass")
    assert rules.target("hub") == "someone/musicgen-hub"
    assert rules.target("musicgen-small") == "musicgen-small"
    assert rules.check_osc(" bass ") == "bass" and rules.check_osc("tiny-random") == "tiny-random"
    assert not rules.allow_download and rules.may_download("musicgen-small")  # the start-up model
    assert not rules.may_download("musicgen-medium") and not rules.may_download("hub")
    assert _rules(tmp_path, "allow_download = true").may_download("hub")


@pytest.mark.parametrize("bad, message", [
    ('allow_download = "yes"', "allow_download = 'yes': must be true or false"),
    ('"../x" = "a/b"', "a model name is letters, digits"),
    ("empty = \"\"", "must be a hub repo id"),
])
def test_bad_models_tables_are_refused_naming_the_key(tmp_path, bad, message):
    path = tmp_path / "c.toml"
    path.write_text(f"[models]\n{bad}\n")
    with pytest.raises(ConfigError, match="models") as err:
        load_config(path)
    assert message in str(err.value)


def test_every_other_name_gets_the_same_answer_whatever_is_on_the_disk(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    rules = _rules(tmp_path)
    answers = set()
    for name in ("/etc", "/no/such/thing", str(tmp_path / "a-file"), str(tmp_path / "a-folder"), "../..", "~",
                 "owner/name", "facebook/musicgen-melody", "tmp", "a-folder", "BASS", ""):
        with pytest.raises(ValueError) as err:
            rules.check_osc(name)
        answers.add(str(err.value))
    assert len(answers) == 1
    (answer,) = answers
    assert "tiny-random" in answer and "bass" in answer and "[models]" in answer
    assert str(tmp_path) not in answer and "exist" not in answer and "config.json" not in answer


def test_over_osc_a_config_name_loads_its_folder_and_paths_are_refused(tmp_path, replies):
    from oscgen.musicgen import weights

    folder = tmp_path / "checkpoints" / "my-tiny"
    shutil.copytree(weights.tiny_model_dir(), folder)
    config = f'[models]\nmine = "{folder}"\n'
    with DaemonProcess(tmp_path, replies, config=config) as daemon:
        daemon.wait_ready()
        for probe in ("/etc", str(folder), str(tmp_path / "nothing"), "owner/name"):
            since = replies.mark()
            daemon.client.send("/oscgen/model", probe)
            error = replies.wait_for("/oscgen/error", since=since)
            assert error[1].startswith("/oscgen/model: model must be one of musicgen-small") and probe not in error[1]
            assert replies.received("/oscgen/param/model", since=since) == []  # nothing loaded, knob unchanged

        since = replies.mark()
        daemon.client.send("/oscgen/model", "mine")
        assert replies.wait_for("/oscgen/ready", since=since, timeout=180)[0] == "mine"
        daemon.client.send("/oscgen/generate", "named", "model")
        job, path, _ = replies.wait_for("/oscgen/done", since=since, timeout=180)
        sidecar = json.loads((daemon.out / path).with_suffix(".json").read_text())
        assert sidecar["model"] == str(folder)  # what regenerates it

        # a built-in name whose weights are not here: no download, and the answer says why
        since = replies.mark()
        daemon.client.send("/oscgen/model", "musicgen-medium")
        error = replies.wait_for("/oscgen/error", lambda a: "did not load" in a[1], since=since, timeout=60)
        assert "allow_download = false" in error[1] and "staying with mine" in error[1]
        assert daemon.stop() == 0
