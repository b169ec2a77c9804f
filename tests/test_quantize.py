"""Lower-precision decoders (oscgen.musicgen.quantize): the right layers converted, logits close
to float32's on the same codes, and whole generations that run and stay finite."""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from oscgen.musicgen import quantize
from oscgen.musicgen.pipeline import MusicGen

# relative L2 error of the decoder's logits against float32, per variant (tiny random weights)
TOLERANCE = {("float16", None): 3e-3, ("bfloat16", None): 2e-2, ("float32", 8): 3e-2, ("float32", 4): 0.3}


@pytest.fixture(scope="module")
def reference():
    engine = MusicGen.from_pretrained("tiny-random")
    ids = mx.array([engine.tokenizer.encode("lo-fi hip hop beat")], dtype=mx.int32)
    codes = mx.array(np.random.default_rng(0).integers(0, 2048, (2, 4, 12)), dtype=mx.int32)
    states, mask = engine._conditioning(ids, guided=True)
    return ids, codes, states, mask, engine.decoder(codes, states, mask)


@pytest.mark.parametrize("dtype,bits", list(TOLERANCE))
def test_converted_decoder_matches_float32(reference, dtype, bits):
    ids, codes, states, mask, logits32 = reference
    engine = quantize.convert_decoder(MusicGen.from_pretrained("tiny-random"), dtype=dtype, bits=bits)
    decoder = engine.decoder
    assert decoder.dtype == getattr(mx, dtype)
    quantized = {name for name, m in decoder.named_modules() if isinstance(m, nn.QuantizedLinear)}
    if bits:
        # every per-step linear, and nothing else: cross-attention k/v run once per job
        assert "layers.0.self_attn.qkv_proj" in quantized and "layers.0.fc2" in quantized and "lm_head" in quantized
        assert not any("encoder_attn.k_proj" in n or "encoder_attn.v_proj" in n for n in quantized)
        assert decoder.layers[0].fc1.bits == bits
    else:
        assert not quantized
    logits = decoder(codes, states.astype(decoder.dtype), mask).astype(mx.float32)
    error = float(mx.sqrt(mx.sum((logits - logits32) ** 2)) / mx.sqrt(mx.sum(logits32**2)))
    assert error < TOLERANCE[(dtype, bits)]
    assert error > 0  # it really changed precision

    # a whole sampled job runs in that precision: finite audio, valid codes
    codes_out = engine.generate_codes(ids, 10, seed=3)
    assert codes_out.shape == (1, 4, 10) and int(codes_out.max()) < 2048 and int(codes_out.min()) >= 0
    audio = engine.decode_audio(codes_out)
    assert np.isfinite(np.array(audio)).all()


def test_convert_rejects_bad_arguments():
    engine = MusicGen.from_pretrained("tiny-random")
    with pytest.raises(ValueError, match="dtype"):
        quantize.convert_decoder(engine, dtype="float64")
    with pytest.raises(ValueError, match="bits"):
        quantize.convert_decoder(engine, bits=3)


# ------------------------------------------------------------------ loading at a lower precision


def _flat(module) -> dict:
    from mlx.utils import tree_flatten

    return dict(tree_flatten(module.parameters()))


def _converted_after_load(model, dtype, bits):
    engine = quantize.convert_decoder(MusicGen.from_pretrained(model), dtype=dtype, bits=bits)
    quantize.convert_text_encoder(engine, dtype)
    return engine


@pytest.mark.parametrize("model,dtype,bits", [
    ("transformers-tiny", "float16", None),
    ("tiny-random", "bfloat16", None),
    ("tiny-random", "float16", 8),
    ("tiny-random", "float32", 4),
])
def test_loading_at_a_precision_equals_converting_after_load(model, dtype, bits, tmp_path):
    if model == "transformers-tiny":  # written by transformers' save_pretrained, plus a tokenizer
        pytest.importorskip("transformers")
        import shutil

        from oscgen.musicgen import weights
        from tests._checkpoints import tiny_checkpoint

        model = str(shutil.copytree(tiny_checkpoint(), tmp_path / "model"))
        shutil.copy(weights.tiny_model_dir() / weights.SPM_FILE, model)
    loaded = MusicGen.from_pretrained(model, dtype=dtype, bits=bits)
    converted = _converted_after_load(model, dtype, bits)
    assert loaded.decoder_precision == converted.decoder_precision == quantize.describe(dtype, bits)

    ours, theirs = _flat(loaded), _flat(converted)
    assert ours.keys() == theirs.keys()
    for name, value in ours.items():
        assert value.dtype == theirs[name].dtype, name
        assert mx.array_equal(value, theirs[name]).item(), name
    half = getattr(mx, dtype)
    assert loaded.decoder.layer_norm.weight.dtype == half
    assert loaded.text_encoder.blocks[0].attention.q.weight.dtype == half
    assert all(v.dtype == mx.float32 for v in _flat(loaded.audio_decoder).values())  # EnCodec as it was

    # teacher-forced logits and a greedy job: the same, bit for bit
    ids = mx.array([[5, 17, 3, 42, 1]], dtype=mx.int32)  # inside both text vocabularies
    states, mask = loaded._conditioning(ids, guided=True)
    codes = mx.array(np.random.default_rng(1).integers(0, loaded.vocab_size, (2, 4, 9)), dtype=mx.int32)
    states = states.astype(loaded.decoder.dtype)
    assert mx.array_equal(loaded.decoder(codes, states, mask), converted.decoder(codes, states, mask)).item()
    greedy = dict(top_k=1, cfg_scale=3.0, seed=0)
    assert mx.array_equal(loaded.generate_codes(ids, 12, **greedy), converted.generate_codes(ids, 12, **greedy)).item()


def test_text_encoder_stored_in_half_computes_in_float32():
    """T5's activations can leave float16's range (its known float16 overflow); stored in float16
    but computed in float32 it gives the float32 model's states to float16 weight rounding."""
    reference = MusicGen.from_pretrained("tiny-random")
    half = MusicGen.from_pretrained("tiny-random", dtype="float16")
    ids = mx.array([reference.tokenizer.encode("driving techno kick, acid bassline")], dtype=mx.int32)
    for engine in (reference, half):  # blow up one feed-forward so activations pass 65504
        dense = engine.text_encoder.blocks[0].dense
        dense.wi.weight, dense.wo.weight = dense.wi.weight * 50, dense.wo.weight * 2000
    x = reference.text_encoder.embed_tokens(ids)
    bias = reference.text_encoder.blocks[0].attention.position_bias(ids.shape[1])
    assert mx.abs(reference.text_encoder.blocks[0](x, bias)).max().item() > 65504  # float16 max

    expected, states = reference.encode_text(ids), half.encode_text(ids)
    assert states.dtype == mx.float32 and np.isfinite(np.array(states)).all()
    error = float(mx.sqrt(mx.sum((states - expected) ** 2)) / mx.sqrt(mx.sum(expected**2)))
    assert 0 < error < 3e-3


def _wide_checkpoint(folder):
    """tiny-random with a decoder at musicgen-small's width (1024, ffn 4096, 2 layers): ~200 MB
    of float32 weights, enough for a peak to tell float32 from float16 (~100 MB) apart."""
    import json
    import shutil

    from safetensors.numpy import save_file

    from oscgen.musicgen import tiny, weights

    shutil.copytree(weights.tiny_model_dir(), folder)
    config = json.loads((folder / "config.json").read_text())
    config["decoder"].update(hidden_size=1024, ffn_dim=4096, num_hidden_layers=2, num_attention_heads=16)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tiny.random_weights(config), str(folder / "model.safetensors"))
    return folder


def _load_peak(model, dtype):
    """MLX's peak memory over one load, above what was in use before it (bytes)."""
    import gc

    gc.collect()
    before = mx.get_active_memory()
    mx.reset_peak_memory()
    engine = MusicGen.from_pretrained(model, dtype=dtype)
    return mx.get_peak_memory() - before, engine


def test_a_float16_load_never_holds_the_float32_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("OSCGEN_CACHE", str(tmp_path / "cache"))  # the first load converts
    model = str(_wide_checkpoint(tmp_path / "wide"))
    first_peak, engine = _load_peak(model, "float16")  # converts and fills the cache
    cached_peak, engine = _load_peak(model, "float16")
    final = sum(v.nbytes for v in _flat(engine).values())
    del engine
    peak32, engine32 = _load_peak(model, "float32")
    float32_bytes = sum(v.nbytes for v in _flat(engine32).values())
    del engine32
    assert float32_bytes > 190e6 and final < 0.55 * float32_bytes
    # peak = the float16 weights plus about one group's float32 sources, never the float32 model
    for peak in (first_peak, cached_peak):
        assert peak < 0.75 * float32_bytes, (peak, final, float32_bytes)
    assert peak32 >= float32_bytes
