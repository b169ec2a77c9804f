"""config.toml: the shipped file is the defaults, a user file merges over it, and every unknown
key or bad value is refused before anything starts, with the key, the value and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oscgen.config import ConfigError, default_text, load_config, with_overrides

REPO = Path(__file__).resolve().parent.parent


def _load(tmp_path, text: str):
    path = tmp_path / "my.toml"
    path.write_text(text)
    return load_config(path)


def test_the_shipped_config_is_the_packaged_default():
    assert default_text() == (REPO / "config.toml").read_text()
    assert (REPO / "oscgen" / "config.toml").read_text() == (REPO / "config.toml").read_text()
    c = load_config()
    assert (c.osc.host, c.osc.port, c.osc.reply_port) == ("127.0.0.1", 9000, 9001)
    assert c.defaults["model"] == "musicgen-small" and c.defaults["seed"] == -1 and c.defaults["top_k"] == 250
    assert c.queue_length == 8 and c.beats_per_bar == 4 and c.max_batch == 8 and c.defaults["variations"] == 1
    assert [p.name for p in c.presets] == ["ambient", "drums", "piano", "bass"]
    assert c.presets[0].overrides == {"bars": 8.0, "bpm": 70.0}
    assert c.midi.enabled is False


def test_every_key_of_the_shipped_config_is_documented_with_a_comment():
    lines = (REPO / "config.toml").read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#") and not line.startswith("["):
            documented = "#" in line or (i > 0 and lines[i - 1].lstrip().startswith("#"))
            in_presets = any(l.strip() == "[presets]" for l in lines[:i])
            assert documented or in_presets, f"config.toml line {i + 1} has no comment: {line}"


def test_a_user_file_needs_only_the_keys_it_changes(tmp_path):
    c = _load(tmp_path, '[osc]\nport = 9100\n[defaults]\ntemperature = 0.8\nduration = 4\n[output]\nfolder = "takes"\n')
    assert c.osc.port == 9100 and c.osc.reply_port == 9001
    assert c.defaults["temperature"] == 0.8 and c.defaults["duration"] == 4.0 and isinstance(c.defaults["duration"], float)
    assert c.output.folder == tmp_path / "takes"  # relative to the config file, not the cwd
    assert len(c.presets) == 4


def test_user_presets_replace_the_shipped_ones_in_their_order(tmp_path):
    c = _load(tmp_path, '[presets]\nzeta = { prompt = "z" }\nalpha = { prompt = "a", top_k = 50.0, seed = 7 }\n')
    assert [(p.name, p.prompt) for p in c.presets] == [("zeta", "z"), ("alpha", "a")]
    assert c.presets[1].overrides == {"top_k": 50, "seed": 7}


@pytest.mark.parametrize(
    "text, expect",
    [
        ("[oscc]\nport = 1\n", "unknown table or key [oscc]"),
        ("[osc]\nprot = 9000\n", "[osc]: unknown key 'prot' (allowed: host, port, reply_port, reply_targets, allowed_hosts)"),
        ("[osc]\nport = 70000\n", "[osc] port = 70000: must be an integer in [0, 65535]"),
        ("[osc]\nport = \"9000\"\n", "[osc] port = '9000': must be an integer"),
        ("[osc]\nreply_port = 0\n", "[osc] reply_port = 0: must be an integer in [1, 65535]"),
        ("[osc]\nreply_targets = [\"laptop\"]\n", "'laptop' must be \"host:port\""),
        ("[osc]\nallowed_hosts = [\"my-laptop\"]\n", "'my-laptop' must be an IP address"),
        ("[defaults]\ntemperature = 0\n", "[defaults] temperature = 0: temperature must be a number in (0, 10], got 0"),
        ("[defaults]\ntop_k = 12.5\n", "[defaults] top_k = 12.5: top_k must be an integer in [0, 2048]"),
        ("[defaults]\nduration = 45\n", "duration must be a number in (0, 30], got 45"),
        ("[defaults]\nduration = 400\n[long]\nmax_duration = 300\n", "duration must be a number in (0, 300], got 400"),
        ("[long]\nmax_duration = 301\n", "[long] max_duration = 301: must be seconds in (0, 300]"),
        ("[long]\nmax_duration = 20\n", "[long] max_duration = 20: must be seconds in [30, 300]"),
        ("[long]\nextend_stride = 30\n", "[long] extend_stride = 30: must be seconds in (0, 29.9]"),
        ("[long]\nwindow = 30\n", "[long]: unknown key 'window'"),
        ("[input]\nfolders = \"~/loops\"\n", "[input] folders = '~/loops': must be a list of folder paths"),
        ("[input]\nfolders = [\"loops\"]\n", "'loops' must be an absolute path"),
        ("[input]\nprompt_seconds = 30\n", "[input] prompt_seconds = 30: must be seconds in (0, 29.9]"),
        ("[defaults]\nseed = -2\n", "seed must be an integer in [0, 2147483647] or -1"),
        ("[defaults]\nbars = 16\nbpm = 60\n", "16 bars at 60 bpm is 64.0 s; the longest is 30 s"),
        ("[defaults]\ncfg_scale = 3\n", "[defaults]: unknown key 'cfg_scale'"),
        ("[defaults]\nmodel = \"\"\n", "[defaults] model = '': model must be a non-empty string"),
        ("[output]\nsubtype = \"MP3\"\n", "[output] subtype = 'MP3': must be one of PCM_16, PCM_24, FLOAT"),
        ("[output]\nname = \"{slug}\"\n", "must contain {id} or {time}"),
        ("[output]\nname = \"{id}_{prompt}\"\n", "unknown field {prompt}"),
        ("[output]\nname = \"../{id}\"\n", "a file name, not a path"),
        ("[output]\nsidecar = \"yes\"\n", "[output] sidecar = 'yes': must be true or false"),
        ("[queue]\nlength = -1\n", "[queue] length = -1: must be an integer in [0, 1000]"),
        ("[queue]\nmax_batch = 0\n", "my.toml:2: [queue] max_batch = 0: must be an integer in [1, 64]"),
        ("[queue]\nmax_batch = \"4\"\n", "[queue] max_batch = '4': must be an integer"),
        ("[defaults]\nvariations = 9\n", "[defaults] variations = 9: variations must be an integer in [1, 8], got 9"),
        ("[output]\nname = \"{id}_{takes}\"\n", "unknown field {takes}"),
        ("[midi]\nenabled = 1\n", "[midi] enabled = 1: must be true or false"),
        ("[midi]\nchannel = 1\n", "[midi]: unknown key 'channel'"),
        ("[presets]\nx = \"just a prompt\"\n", "[presets] x = 'just a prompt': must be a table"),
        ("[presets]\nx = { bars = 4 }\n", "[presets] x: needs a prompt"),
        ("[presets]\nx = { prompt = \"p\", temprature = 1 }\n", "[presets] x: unknown key 'temprature'"),
        ("[presets]\nx = { prompt = \"p\", bars = 32, bpm = 100 }\n", "[presets] x: 32 bars at 100 bpm is 76.8 s"),
        ("[osc\n", "not valid TOML"),
        ("[oscquery]\nport = -1\n", "my.toml:2: [oscquery] port = -1: must be an integer in [0, 65535]"),
        ("[oscquery]\nenabled = \"yes\"\n", "my.toml:2: [oscquery] enabled = 'yes': must be true or false"),
        ("[worker]\nidle_unload_minutes = -5\n", "my.toml:2: [worker] idle_unload_minutes = -5: must be a number of minutes in [0, 1440]"),
        ("[midi]\nclock_snap = 50\n", "my.toml:2: midi.clock_snap = 50: expected a number in [0, 10]"),
    ],
)
def test_bad_config_names_the_key_the_value_and_what_is_allowed(tmp_path, text, expect):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert expect in message
    assert str(tmp_path / "my.toml") in message  # and which file


def test_flags_override_the_file_and_are_checked_the_same_way(tmp_path):
    c = with_overrides(load_config(), port=0, reply_port=9555, out="rel", model="tiny-random", host="0.0.0.0")
    assert (c.osc.port, c.osc.reply_port, c.osc.host) == (0, 9555, "0.0.0.0")
    assert c.output.folder == Path.cwd() / "rel" and c.defaults["model"] == "tiny-random"
    with pytest.raises(ConfigError, match=r"--reply-port = 0: must be an integer in \[1, 65535\]"):
        with_overrides(load_config(), reply_port=0)
    with pytest.raises(ConfigError, match="--model"):
        with_overrides(load_config(), model=" ")


def _serve(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "oscgen", "serve", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_serve_refuses_a_bad_config_before_it_starts(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[defaults]\ntop_p = 2\n")
    done = _serve("--config", str(bad), "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"oscgen: error: {bad}:2: [defaults] top_p = 2: top_p must be a number in [0, 1], got 2"
    assert "listening" not in done.stderr
    missing = _serve("--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read config file" in missing.stderr


def test_serve_print_config_prints_the_shipped_file(tmp_path):
    done = _serve("--print-config", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == (REPO / "config.toml").read_text()


def test_every_mistake_is_reported_at_once_each_with_its_line(tmp_path):
    text = (
        "[osc]\n"                                  # 1
        "port = 70000\n"                           # 2
        "prot = 1\n"                               # 3
        "\n"                                       # 4
        "[defaults]\n"                             # 5
        "temperature = 0\n"                        # 6
        "\n"                                       # 7
        "[[midi.cc]]\n"                            # 8
        "cc = 70\n"                                # 9
        "knob = \"temprature\"\n"                  # 10
        "\n"                                       # 11
        "[[midi.cc]]\n"                            # 12
        "cc = 71\n"                                # 13
        "knob = \"cfg\"\n"                         # 14
        "curve = \"log\"\n"                        # 15
        "\n"                                       # 16
        "[presets]\n"                              # 17
        "x = { prompt = \"p\", bars = 32, bpm = 100 }\n"  # 18
        "y = { bars = 4 }\n"                       # 19
    )
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    f = tmp_path / "my.toml"
    assert list(info.value.problems) == [
        f"{f}:2: [osc] port = 70000: must be an integer in [0, 65535]",
        f"{f}:3: [osc]: unknown key 'prot' (allowed: host, port, reply_port, reply_targets, allowed_hosts)",
        f"{f}:6: [defaults] temperature = 0: temperature must be a number in (0, 10], got 0",
        f"{f}:10: midi.cc[0].knob = 'temprature': expected one of temperature, cfg, top_k, top_p, duration, bars, bpm, seed, loop, variations",
        f"{f}:15: midi.cc[1].curve = 'log': expected one of linear, exponential",
        f"{f}:18: [presets] x: 32 bars at 100 bpm is 76.8 s; the longest is 30 s",
        f"{f}:19: [presets] y: needs a prompt",
    ]
    assert str(info.value) == "\n".join(info.value.problems)


def test_a_toml_syntax_error_names_its_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "[osc]\nport = 9000\nhost = \n")
    assert str(info.value).startswith(f"{tmp_path / 'my.toml'}:3: not valid TOML")


def test_serve_prints_every_problem_on_its_own_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[defaults]\ntop_p = 2\ncfg = 0\n")
    done = _serve("--config", str(bad), "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"oscgen: error: {bad}:2: [defaults] top_p = 2: top_p must be a number in [0, 1], got 2",
        f"oscgen: error: {bad}:3: [defaults] cfg = 0: cfg must be a number in [1, 20], got 0",
    ]


def test_oscquery_worker_and_clock_snap_keys_reach_the_config(tmp_path):
    c = _load(tmp_path, "[oscquery]\nport = 9100\nname = \"stage left\"\n[worker]\nidle_unload_minutes = 2.5\n"
                        "[midi]\nclock_snap = 1\n")
    assert (c.oscquery.enabled, c.oscquery.port, c.oscquery.name, c.oscquery.mdns) == (True, 9100, "stage left", True)
    assert c.worker.idle_unload_minutes == 2.5 and c.midi.mappings.clock_snap == 1.0
    shipped = load_config()
    assert shipped.oscquery.port == 0 and shipped.worker.idle_unload_minutes == 0 and shipped.midi.mappings.clock_snap == 0
