"""The built-in tiny random checkpoint: deterministic, torch-free, exactly what transformers expects."""

import json

import numpy as np
import pytest

from oscgen.musicgen import tiny, weights
from tests._io_fixtures import child_env, run_python

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny.write_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def sharded_dir(tmp_path_factory):
    return tiny.write_tiny_model(tmp_path_factory.mktemp("tiny-sharded") / "model", shards=2)


def _load_with_transformers(path):
    from transformers import MusicgenForConditionalGeneration

    return MusicgenForConditionalGeneration.from_pretrained(str(path), output_loading_info=True)


@pytest.mark.parametrize("which", ["single", "sharded"])
def test_transformers_loads_every_key_and_nothing_else(which, tiny_dir, sharded_dir):
    path = tiny_dir if which == "single" else sharded_dir
    model, info = _load_with_transformers(path)
    assert info["missing_keys"] == set()
    assert info["unexpected_keys"] == set()
    assert info["mismatched_keys"] == set()
    assert not info["error_msgs"]
    # the values are the file's, not transformers' fresh init
    stored = weights.load_weights(path)
    head = model.decoder.lm_heads[2].weight.detach().numpy()
    np.testing.assert_array_equal(head, np.array(stored["decoder.lm_heads.2.weight"]))


def test_real_structure(tiny_dir):
    config = weights.load_config(tiny_dir)
    audio, decoder = config["audio_encoder"], config["decoder"]
    assert decoder["num_codebooks"] == 4 and decoder["vocab_size"] == 2048
    assert decoder["num_hidden_layers"] == 2
    assert audio["sampling_rate"] == 32000 and audio["upsampling_ratios"] == [8, 5, 4, 4]
    assert tiny.num_quantizers(audio) == 4
    assert audio["sampling_rate"] / np.prod(audio["upsampling_ratios"]) == 50
    # text d_model differs from the decoder width, so the enc_to_dec projection is exercised
    assert "enc_to_dec_proj.weight" in weights.load_weights(tiny_dir)
    assert all(np.isfinite(np.array(v)).all() for v in weights.load_weights(tiny_dir).values())


def test_writing_is_deterministic_and_seeded(tmp_path, tiny_dir):
    again = tiny.write_tiny_model(tmp_path / "again")
    for name in ("config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"):
        assert (again / name).read_bytes() == (tiny_dir / name).read_bytes(), name
    other = tiny.write_tiny_model(tmp_path / "other", seed=1)
    assert (other / "model.safetensors").read_bytes() != (tiny_dir / "model.safetensors").read_bytes()
    assert (other / "spiece.model").read_bytes() == (tiny_dir / "spiece.model").read_bytes()


def test_sharded_and_single_hold_the_same_tensors(tiny_dir, sharded_dir):
    index = json.loads((sharded_dir / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == [
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert not (sharded_dir / "model.safetensors").exists()
    single, sharded = weights.load_weights(tiny_dir), weights.load_weights(sharded_dir)
    assert single.keys() == sharded.keys()
    for key in single:
        np.testing.assert_array_equal(np.array(single[key]), np.array(sharded[key]))


def test_written_without_torch(tmp_path):
    # torch is blocked from importing in the child: the writer must not need it
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from oscgen.musicgen.tiny import write_tiny_model\n"
        f"write_tiny_model({str(tmp_path / 'm')!r})\n"
        "assert 'transformers' not in sys.modules\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m" / "model.safetensors").is_file()


def test_says_it_is_noise(tiny_dir):
    assert weights.is_random_weights(tiny_dir)
    assert "NOISE" in (tiny_dir / "README.md").read_text()
    marker = json.loads((tiny_dir / tiny.MARKER_FILE).read_text())
    assert marker["random_weights"] is True and "noise" in marker["warning"]


def test_tiny_random_is_written_once_into_the_oscgen_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path / "cache"))
    path = weights.resolve_model_dir("tiny-random")
    assert path == tmp_path / "cache" / "models" / "tiny-random"
    weights.check_model_dir(path)
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert weights.resolve_model_dir("tiny-random") == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rewritten
    assert [p.name for p in path.parent.iterdir()] == ["tiny-random"]  # no temp folders left


def test_tiny_random_from_an_older_oscgen_is_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path))
    path = weights.resolve_model_dir("tiny-random")
    marker = path / tiny.MARKER_FILE
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "version": 0}))
    (path / "model.safetensors").write_bytes(b"stale")
    assert weights.resolve_model_dir("tiny-random") == path
    assert json.loads(marker.read_text())["version"] == tiny.TINY_VERSION
    weights.load_weights(path)  # readable again


def test_encodec_of_the_tiny_model_matches_transformers_and_is_audible(tiny_dir):
    import mlx.core as mx

    from oscgen.musicgen.encodec import EncodecDecoder, sanitize

    model, _ = _load_with_transformers(tiny_dir)
    stored = weights.load_weights(tiny_dir)
    ours = EncodecDecoder(weights.load_config(tiny_dir)["audio_encoder"])
    audio_weights = {k[len("audio_encoder."):]: v for k, v in stored.items() if k.startswith("audio_encoder.")}
    ours.load_weights(list(sanitize(audio_weights).items()), strict=True)
    codes = np.random.default_rng(0).integers(0, 2048, size=(1, 4, 500)).astype(np.int32)  # 10 s
    audio = np.array(ours.decode(mx.array(codes)))
    with torch.no_grad():
        expected = model.audio_encoder.decode(torch.from_numpy(codes).long()[None], [None]).audio_values.numpy()
    assert audio.shape == (1, 1, 320000)
    np.testing.assert_allclose(audio, expected, rtol=1e-4, atol=1e-5)
    peak, rms = np.abs(audio).max(), np.sqrt(np.mean(audio**2))
    assert 0.01 < rms and peak < 1.0  # audible noise that does not clip


@pytest.mark.parametrize("size", ["small", "medium", "large", "stereo-small"])
def test_real_size_configs_have_transformers_shapes(size):
    """Every parameter name and shape of the real musicgen-small/-medium structure, as computed by
    tiny.musicgen_shapes, equals transformers' (built on the meta device: no memory, no weights)."""
    from transformers import MusicgenConfig, MusicgenForConditionalGeneration

    config = tiny.musicgen_config(size)
    with torch.device("meta"):
        model = MusicgenForConditionalGeneration(MusicgenConfig(**config))
    expected = {}
    for name, tensor in model.state_dict().items():
        name = name.replace("parametrizations.weight.original0", "weight_g")
        expected[name.replace("parametrizations.weight.original1", "weight_v")] = tuple(tensor.shape)
    ours = tiny.musicgen_shapes(config)
    # transformers keeps the T5 embedding twice in memory (tied); checkpoints store it once
    tied = {k for k in expected.keys() - ours.keys() if k.endswith("embed_tokens.weight")}
    assert {k: v for k, v in expected.items() if k not in tied} == ours
    assert config["decoder"]["num_hidden_layers"] == {"small": 24, "medium": 48, "large": 48, "stereo-small": 24}[size]


def test_concurrent_first_use_gives_one_complete_model(tmp_path):
    # four processes ask for tiny-random at once (the daemon's worker, CLI runs): all succeed and
    # the cache ends with one complete model and no temporary folders
    code = (
        "from oscgen.musicgen import weights\n"
        "path = weights.resolve_model_dir('tiny-random')\n"
        "weights.load_weights(path); print(path)\n"
    )
    import subprocess
    import sys

    env = child_env({"OSCGEN_CACHE": str(tmp_path)})
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {str(tmp_path / "models" / "tiny-random")}
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny-random"]
    weights.check_model_dir(tmp_path / "models" / "tiny-random")
