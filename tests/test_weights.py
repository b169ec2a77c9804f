"""Finding checkpoints (aliases, hub cache, local folders, tiny-random), reading them, and the
converted-weights cache."""

import json
import os
import shutil
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from oscgen.musicgen import tiny, weights
from oscgen.musicgen.weights import ModelNotFoundError
from tests._io_fixtures import run_oscgen


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny.write_tiny_model(tmp_path_factory.mktemp("w") / "model")


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty huggingface_hub cache of our own (the hub itself is offline in every test)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def _put_in_hf_cache(cache, repo_id, source, commit="0123456789abcdef0123456789abcdef01234567"):
    """Lay a checkpoint out as huggingface_hub's cache does (refs/main -> snapshots/<commit>)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(source, repo / "snapshots" / commit)
    return repo / "snapshots" / commit


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_model_not_found_is_a_value_error():
    assert issubclass(ModelNotFoundError, ValueError)


@pytest.mark.parametrize("name, repo", [("musicgen-small", "facebook/musicgen-small"),
                                        ("musicgen-medium", "facebook/musicgen-medium"),
                                        ("someone/their-musicgen", "someone/their-musicgen")])
def test_uncached_hub_model_offline_says_repo_where_and_how(name, repo, hf_cache):
    with pytest.raises(ModelNotFoundError) as err:
        weights.resolve_model_dir(name)
    message = str(err.value)
    assert repo in message
    assert str(hf_cache) in message  # where it looked
    assert "--model /path/to/folder" in message  # how to point at a local folder
    assert "tiny-random" in message


def test_cached_hub_snapshot_is_used_offline(hf_cache, tiny_dir):
    snapshot = _put_in_hf_cache(hf_cache, "facebook/musicgen-small", tiny_dir)
    assert weights.resolve_model_dir("musicgen-small") == snapshot
    snapshot = _put_in_hf_cache(hf_cache, "someone/custom", tiny_dir)
    assert weights.resolve_model_dir("someone/custom") == snapshot
    assert weights.cached_hub_snapshot("facebook/musicgen-medium") is None


def test_incomplete_cached_snapshot_is_not_used(hf_cache, tiny_dir):
    snapshot = _put_in_hf_cache(hf_cache, "facebook/musicgen-small", tiny_dir)
    (snapshot / "spiece.model").unlink()
    assert weights.cached_hub_snapshot("facebook/musicgen-small") is None
    with pytest.raises(ModelNotFoundError, match="facebook/musicgen-small"):
        weights.resolve_model_dir("musicgen-small")


def test_local_folder(tiny_dir):
    assert weights.resolve_model_dir(str(tiny_dir)) == tiny_dir
    config = weights.load_config(tiny_dir)
    assert config["decoder"]["num_codebooks"] == 4


def test_local_folder_with_tilde(tiny_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tiny_dir.parent))
    assert weights.resolve_model_dir("~/model") == tiny_dir


@pytest.mark.parametrize("missing, named", [
    ("config.json", "config.json"),
    ("model.safetensors", "model.safetensors"),
    ("spiece.model", "spiece.model"),
])
def test_malformed_local_folder_names_the_file(missing, named, tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path / "broken")
    (folder / missing).unlink()
    with pytest.raises(ModelNotFoundError, match=named):
        weights.resolve_model_dir(str(folder))


def test_missing_shard_is_named(tmp_path):
    folder = tiny.write_tiny_model(tmp_path / "sharded", shards=2)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="model-00002-of-00002.safetensors"):
        weights.resolve_model_dir(str(folder))


def test_torch_only_weights_are_explained(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path / "bin")
    os.rename(folder / "model.safetensors", folder / "pytorch_model.bin")
    with pytest.raises(ModelNotFoundError, match="pytorch_model.bin.*safetensors"):
        weights.resolve_model_dir(str(folder))


def test_not_a_musicgen_config(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path / "t5")
    (folder / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ModelNotFoundError, match="audio_encoder"):
        weights.resolve_model_dir(str(folder))
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelNotFoundError, match="not valid JSON"):
        weights.load_config(folder)


def test_truncated_weights_file_is_named(tiny_dir, tmp_path):
    folder = _copy(tiny_dir, tmp_path / "trunc")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelNotFoundError, match="model.safetensors"):
        weights.load_weights(folder)


@pytest.mark.parametrize("model, message", [
    ("/no/such/folder", "does not exist"),
    ("./relative/missing", "does not exist"),
    ("a/b/c", "does not exist"),
    ("musicgen-large-typo", "unknown model"),
    ("", "non-empty"),
])
def test_bad_model_names(model, message):
    with pytest.raises(ModelNotFoundError, match=message) as err:
        weights.resolve_model_dir(model)
    if message == "unknown model":
        for name in weights.known_model_names():
            assert name in str(err.value)


def test_a_folder_may_be_a_path(tiny_dir):
    assert weights.resolve_model_dir(Path(tiny_dir)) == Path(tiny_dir)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        weights.resolve_model_dir(Path("/no/such/folder"))


def test_a_file_is_not_a_folder(tiny_dir):
    with pytest.raises(ModelNotFoundError, match="is a file"):
        weights.resolve_model_dir(str(tiny_dir / "config.json"))


def test_shards_must_hold_every_indexed_tensor(tmp_path):
    folder = tiny.write_tiny_model(tmp_path / "sharded", shards=2)
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["decoder.lm_heads.9.weight"] = "model-00001-of-00002.safetensors"
    index_path.write_text(json.dumps(index))
    with pytest.raises(ModelNotFoundError, match="decoder.lm_heads.9.weight"):
        weights.load_weights(folder)


def test_load_weights_gives_the_checkpoint_tensors(tiny_dir):
    from safetensors.numpy import load_file

    ours = weights.load_weights(tiny_dir)
    reference = load_file(str(tiny_dir / "model.safetensors"))
    assert ours.keys() == reference.keys()
    for key in ("decoder.lm_heads.0.weight", "text_encoder.shared.weight"):
        np.testing.assert_array_equal(np.array(ours[key]), reference[key])


class _Converter:
    def __init__(self, model_dir):
        self.model_dir, self.calls = model_dir, 0

    def __call__(self):
        self.calls += 1
        w = weights.load_weights(self.model_dir)
        return {"head_t": w["decoder.lm_heads.0.weight"].T, "scaled": w["text_encoder.shared.weight"] * 2}


def test_cached_conversion_converts_once(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path / "cache"))
    convert = _Converter(tiny_dir)
    first = weights.cached_conversion(tiny_dir, "mlx-v1", convert)
    second = weights.cached_conversion(tiny_dir, "mlx-v1", convert)
    assert convert.calls == 1
    assert first.keys() == second.keys() == {"head_t", "scaled"}
    for key in first:
        np.testing.assert_array_equal(np.array(first[key]), np.array(second[key]))
    entries = list((tmp_path / "cache" / "converted").iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".safetensors"  # no temp files left behind
    weights.cached_conversion(tiny_dir, "mlx-v2", convert)  # a new tag converts again
    assert convert.calls == 2


def test_cached_conversion_notices_changed_sources(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path / "cache"))
    folder = _copy(tiny_dir, tmp_path / "model")
    convert = _Converter(folder)
    weights.cached_conversion(folder, "t", convert)
    stat = (folder / "model.safetensors").stat()
    os.utime(folder / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    weights.cached_conversion(folder, "t", convert)
    assert convert.calls == 2
    # one cache file per folder and tag: the stale entry was replaced, not kept
    assert len(list((tmp_path / "cache" / "converted").iterdir())) == 1


def test_corrupt_cache_entry_is_reconverted(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path / "cache"))
    convert = _Converter(tiny_dir)
    weights.cached_conversion(tiny_dir, "t", convert)
    weights.converted_cache_path(tiny_dir, "t").write_bytes(b"garbage")
    result = weights.cached_conversion(tiny_dir, "t", convert)
    assert convert.calls == 2 and "head_t" in result
    assert weights.cached_conversion(tiny_dir, "t", convert)["scaled"].shape == result["scaled"].shape
    assert convert.calls == 2


def test_unwritable_cache_still_loads(tiny_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("OSCGEN_CACHE", str(blocker))
    result = weights.cached_conversion(tiny_dir, "t", _Converter(tiny_dir))
    assert isinstance(result["head_t"], mx.array)


def test_fetch_offline_without_cache_fails_clearly(tmp_path):
    result = run_oscgen("fetch", "musicgen-small", env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert result.returncode == 2
    assert "facebook/musicgen-small" in result.stderr and str(tmp_path / "hub") in result.stderr
    assert "--model /path/to/folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_fetch_copies_a_cached_model_into_a_plain_folder(tmp_path, tiny_dir, monkeypatch):
    hub = tmp_path / "hub"
    hub.mkdir()
    _put_in_hf_cache(hub, "facebook/musicgen-small", tiny_dir)
    result = run_oscgen("fetch", "musicgen-small", "--to", str(tmp_path / "carry"),
                         env={"HF_HUB_CACHE": str(hub)})
    assert result.returncode == 0, result.stderr
    dest = tmp_path / "carry" / "musicgen-small"
    assert result.stdout.strip() == f"musicgen-small: {dest}"
    assert not any(p.is_symlink() for p in dest.iterdir())  # real files, safe to copy elsewhere
    assert weights.resolve_model_dir(str(dest)) == dest
    assert (dest / "model.safetensors").read_bytes() == (tiny_dir / "model.safetensors").read_bytes()
