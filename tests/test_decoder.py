"""MusicGen decoder parity with transformers' MusicgenForCausalLM: full-sequence logits, and the
cached single-step path against the full-sequence path."""

import mlx.core as mx
import numpy as np
import pytest
import torch

import _checkpoints as ckpt
from oscgen.musicgen import decoder as dec
from oscgen.musicgen import fused_heads


def _decoder_pair(**overrides):
    path = ckpt.tiny_checkpoint(**overrides)
    reference = ckpt.reference_from(path)
    decoder = dec.MusicgenDecoder(dec.DecoderConfig.from_dict(reference.config.decoder.to_dict()))
    flat = ckpt.load_flat(path)
    weights = {k[len("decoder.") :]: v for k, v in flat.items() if k.startswith("decoder.")}
    decoder.load_weights(list(dec.sanitize(weights).items()), strict=True)
    return reference, decoder


def _inputs(reference, length=37, enc_len=7, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    cfg = reference.config.decoder
    codes = rng.integers(0, cfg.vocab_size + 1, size=(batch, cfg.num_codebooks, length))  # incl. the pad id
    states = rng.standard_normal((batch, enc_len, cfg.hidden_size)).astype(np.float32)
    mask = np.ones((batch, enc_len), dtype=np.int64)
    mask[-1] = 0  # like the unconditional CFG row
    states[-1] = 0
    return codes, states, mask


@pytest.mark.parametrize(
    "overrides",
    [{}, {"num_hidden_layers": 3, "num_attention_heads": 6, "hidden_size": 36, "ffn_dim": 50}],
    ids=["tiny", "other-layers-heads"],
)
def test_logits_match_transformers(overrides):
    reference, decoder = _decoder_pair(**overrides)
    codes, states, mask = _inputs(reference)
    batch, K, length = codes.shape
    with torch.no_grad():
        expected = reference.decoder(
            input_ids=torch.tensor(codes.reshape(batch * K, length)),
            encoder_hidden_states=torch.tensor(states),
            encoder_attention_mask=torch.tensor(mask),
            use_cache=False,
        ).logits
    expected = ckpt.to_numpy(expected).reshape(batch, K, length, -1)
    got = decoder(mx.array(codes), mx.array(states), mx.array(mask))
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-4, atol=1e-4)


def test_cached_steps_equal_full_forward():
    """The cached step, across a window boundary (the cache grown), equals the causal full pass."""
    reference, decoder = _decoder_pair()
    codes, states, mask = _inputs(reference, length=21, batch=2)
    full = np.array(decoder(mx.array(codes), mx.array(states), mx.array(mask)))
    cache = decoder.new_cache(2, 8)  # a small window first, then grown to hold the rest
    table = dec.sinusoidal_positions(24, decoder.config.hidden_size)
    cross_kv = decoder.cross_kv(mx.array(states))
    cross_mask = dec.additive_mask(mx.array(mask))
    for t in range(codes.shape[-1]):
        if t == 8:
            cache = decoder.grow_cache(cache, 24)
        logits, cache = decoder.step(
            mx.array(codes[:, :, t], dtype=mx.int32), mx.array(t), table, cache, cross_kv, cross_mask
        )
        np.testing.assert_allclose(np.array(logits), full[:, :, t], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("overrides,dtype", [({}, "float32"), ({}, "float16"),
                                            ({"num_attention_heads": 2, "hidden_size": 192, "ffn_dim": 40}, "float32")],
                         ids=["tiny-heads", "tiny-heads-float16", "heads-of-96"])
def test_heads_padded_for_the_fused_gpu_attention_compute_the_same(overrides, dtype):
    """pad_heads_for_fused_attention: wider heads, no mask, unwritten keys marked in the cache;
    the full pass and the cached steps (across a grown window) give the same logits."""
    reference, decoder = _decoder_pair(**overrides)
    _, padded = _decoder_pair(**overrides)
    tol = 1e-4 if dtype == "float32" else 2e-2
    for d in (decoder, padded):
        d.set_dtype(getattr(mx, dtype))
    assert fused_heads.pad_heads_for_fused_attention(padded)
    assert not fused_heads.pad_heads_for_fused_attention(padded)  # once
    head_dim = padded.config.head_dim
    assert padded.padded_head_dim == next(n for n in fused_heads.FUSED_HEAD_DIMS if n > head_dim)
    codes, states, mask = _inputs(reference, length=21, batch=2)
    states = mx.array(states).astype(decoder.dtype)
    full = np.array(decoder(mx.array(codes), states, mx.array(mask)).astype(mx.float32))
    got = padded(mx.array(codes), states, mx.array(mask)).astype(mx.float32)
    np.testing.assert_allclose(np.array(got), full, rtol=tol, atol=tol)

    cache = padded.new_cache(2, 8)
    assert cache[0].shape[-1] == padded.padded_head_dim
    table = dec.sinusoidal_positions(24, padded.config.hidden_size)
    cross_kv = padded.cross_kv(states)
    cross_mask = mx.maximum(dec.additive_mask(mx.array(mask)), mx.finfo(padded.dtype).min).astype(padded.dtype)
    for t in range(codes.shape[-1]):
        if t == 8:
            cache = padded.grow_cache(cache, 24)
        logits, cache = padded.step(mx.array(codes[:, :, t], dtype=mx.int32), mx.array(t), table.astype(padded.dtype),
                                    cache, cross_kv, cross_mask)
        np.testing.assert_allclose(np.array(logits.astype(mx.float32)), full[:, :, t], rtol=tol, atol=tol)
    keys = np.array(cache[0][0].astype(mx.float32))
    assert (keys[..., codes.shape[-1]:, head_dim] == dec.EMPTY_KEY).all()  # the rest still marked empty
    assert (keys[..., : codes.shape[-1], head_dim] == 0).all()


def test_heads_are_not_padded_when_the_kernels_cannot_take_them():
    _, wide = _decoder_pair(num_attention_heads=1, hidden_size=128, ffn_dim=40)
    assert not fused_heads.pad_heads_for_fused_attention(wide) and wide.padded_head_dim is None


def test_positions_match_transformers():
    from transformers.models.musicgen.modeling_musicgen import MusicgenSinusoidalPositionalEmbedding

    length = 1600
    # transformers forms each angle as position * frequency in float32: the product's rounding
    # (half an ulp of the angle), the frequency's own rounding times the position (another half)
    # and torch's float32 exp (about one ulp, SIMD-kernel dependent) put its table within ~2 ulp
    # of the largest angle of the exact sinusoid, which oscgen computes in float64. sin/cos have
    # slope <= 1, so that is the bound on the table's difference, on every host.
    largest_angle = np.float32(length - 1)
    atol = 2 * float(np.spacing(largest_angle))
    for dim in (48, 1024, 37):
        expected = MusicgenSinusoidalPositionalEmbedding.get_embedding(length, dim).numpy()
        table = np.array(dec.sinusoidal_positions(length, dim))
        np.testing.assert_allclose(table, expected, rtol=0, atol=atol)
        # and it is the exact sinusoid to float32 rounding (no host-dependent float32 math)
        half = dim // 2
        angle = 37.0 * np.exp(-np.log(10000) / (half - 1) * 3)
        assert abs(table[37, 3] - np.cos(angle)) <= 6e-8 and abs(table[37, half + 3] - np.sin(angle)) <= 6e-8


def test_stereo_is_accepted_and_other_channel_counts_are_refused_clearly():
    assert dec.DecoderConfig.from_dict({"audio_channels": 2, "num_codebooks": 8}).audio_channels == 2
    with pytest.raises(ValueError, match="stereo"):
        dec.DecoderConfig.from_dict({"audio_channels": 3})
