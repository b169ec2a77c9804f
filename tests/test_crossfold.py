"""Folded cross-attention (oscgen.musicgen.crossfold) computes what the plain step computes."""

import mlx.core as mx
import numpy as np
import pytest

from oscgen.musicgen import crossfold, decoder as decoder_lib, pipeline
from oscgen.musicgen.pipeline import MusicGen


@pytest.fixture(scope="module")
def engine():
    return MusicGen.from_pretrained("tiny-random")


def _step_logits(engine, cross_kv, cross_mask, tokens, steps=5):
    dec = engine.decoder
    cache = dec.new_cache(tokens.shape[0], 16)
    table = decoder_lib.sinusoidal_positions(16, dec.config.hidden_size)
    out = []
    for t in range(steps):
        logits, cache = dec.step(tokens[:, :, t], mx.array(t, dtype=mx.int32), table, cache, cross_kv, cross_mask)
        out.append(logits)
    return np.array(mx.stack(out))


@pytest.mark.parametrize("guided", [True, False])
def test_folded_step_equals_plain_step(engine, guided):
    ids = mx.array([engine.tokenizer.encode("ambient synth pad, slow evolving textures")], dtype=mx.int32)
    states, mask = engine._conditioning(ids, guided)
    cross_kv = engine.decoder.cross_kv(states)
    cross_mask = decoder_lib.additive_mask(mask)
    folded = [crossfold.fold(layer.encoder_attn, k, v, cross_mask) for layer, (k, v) in zip(engine.decoder.layers, cross_kv)]
    rows = states.shape[0]
    tokens = mx.array(np.random.default_rng(1).integers(0, 2048, (rows, 4, 5)), dtype=mx.int32)
    plain = _step_logits(engine, cross_kv, cross_mask, tokens)
    fast = _step_logits(engine, folded, cross_mask, tokens)
    np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-5)
    # the folded matrices have heads x text rows, not hidden-size many
    heads, text = engine.decoder.config.num_attention_heads, states.shape[1]
    assert folded[0]["a"].shape == (heads * text, engine.decoder.config.hidden_size)


def test_greedy_generation_is_unchanged_by_folding(engine, monkeypatch):
    ids = mx.array([engine.tokenizer.encode("lo-fi hip hop beat")], dtype=mx.int32)
    monkeypatch.setattr(pipeline, "FOLD_CROSS_ATTENTION", False)
    engine._compiled_steps.clear()
    plain = np.array(engine.generate_codes(ids, 12, top_k=1))
    monkeypatch.setattr(pipeline, "FOLD_CROSS_ATTENTION", True)
    calls = []
    real_fold = crossfold.fold
    monkeypatch.setattr(crossfold, "fold", lambda *a, **kw: calls.append(1) or real_fold(*a, **kw))
    monkeypatch.setattr(crossfold, "worth_folding", lambda decoder, text, texts=1: True)  # tiny dims never pay
    monkeypatch.setattr(pipeline, "FOLD_MIN_STEPS", 1)
    engine._compiled_steps.clear()
    folded = np.array(engine.generate_codes(ids, 12, top_k=1))
    engine._compiled_steps.clear()
    np.testing.assert_array_equal(folded, plain)
    assert calls, "the folded path was not taken"


def test_worth_folding_at_the_real_sizes():
    from oscgen.musicgen import tiny

    for size in ("small", "medium"):
        config = decoder_lib.DecoderConfig.from_dict(tiny.musicgen_config(size)["decoder"])
        dec = decoder_lib.MusicgenDecoder(config)
        assert crossfold.worth_folding(dec, 16) and crossfold.worth_folding(dec, 32)
        assert not crossfold.worth_folding(dec, 64 if size == "small" else 96)
