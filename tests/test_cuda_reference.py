"""The CUDA step's algorithm (oscgen/musicgen/cuda/reference.py, the kernels' data flow in
numpy) computes what the portable step computes, on the CPU.  The kernels themselves are
checked against the portable step on the GPU by benchmarks/cuda_check.py."""

import mlx.core as mx
import numpy as np
import pytest

from oscgen.musicgen import crossfold, decoder as decoder_lib
from oscgen.musicgen.cuda import reference
from oscgen.musicgen.cuda.step import FusedStep, score_rows
from oscgen.musicgen.pipeline import MusicGen
from oscgen.musicgen.sampling import sample


@pytest.fixture(scope="module")
def engine():
    return MusicGen.from_pretrained("tiny-random")


def _np(a):
    return np.array(a.astype(mx.float32))


def _layer_weights(layer):
    return {"ln1_w": _np(layer.self_attn_layer_norm.weight), "ln1_b": _np(layer.self_attn_layer_norm.bias),
            "w_qkv": _np(layer.self_attn.qkv_proj.weight), "w_o": _np(layer.self_attn.out_proj.weight),
            "ln2_w": _np(layer.encoder_attn_layer_norm.weight), "ln2_b": _np(layer.encoder_attn_layer_norm.bias),
            "ln3_w": _np(layer.final_layer_norm.weight), "ln3_b": _np(layer.final_layer_norm.bias),
            "w_fc1": _np(layer.fc1.weight), "w_fc2": _np(layer.fc2.weight)}


def _folded(engine, prompt, guided):
    ids = mx.array([engine.tokenizer.encode(prompt)], dtype=mx.int32)
    states, mask = engine._conditioning(ids, guided)
    cross_mask = decoder_lib.additive_mask(mask)
    return [crossfold.fold(layer.encoder_attn, k, v, cross_mask)
            for layer, (k, v) in zip(engine.decoder.layers, engine.decoder.cross_kv(states))], cross_mask


@pytest.mark.parametrize("splits", [1, 3])
def test_layer_algorithm_gives_the_portable_steps_logits(engine, splits):
    """Embed, every layer as the kernel computes it (cache written in place, attention over the
    written positions only, split softmax states combined, folded cross-attention), final norm
    and heads: the portable step's logits over several positions, to float32 rounding (1e-4
    relative: different summation orders over at most 4·hidden terms, values of order 1)."""
    dec = engine.decoder
    config = dec.config
    folded, cross_mask = _folded(engine, "warm analog bass, slow", guided=True)
    cross = [{"a": _np(f["a"]), "bt": _np(f["bt"]), "mask": _np(f["mask"]).reshape(-1),
              "cond": np.array(f["conditional"]).reshape(-1)} for f in folded]
    weights = [_layer_weights(layer) for layer in dec.layers]
    window, rows = 8, 2
    table = decoder_lib.sinusoidal_positions(window, config.hidden_size)
    tokens = np.random.default_rng(0).integers(0, config.vocab_size, (rows, config.num_codebooks, 5))
    cache = dec.new_cache(rows, window)
    ref_cache = [np.zeros((2, rows, config.num_attention_heads, window, config.head_dim), np.float32)
                 for _ in dec.layers]
    embeds = [_np(e.weight) for e in dec.embed_tokens]
    for t in range(tokens.shape[-1]):
        logits, cache = dec.step(mx.array(tokens[:, :, t], dtype=mx.int32), mx.array(t, dtype=mx.int32), table,
                                 cache, folded, cross_mask)
        x = sum(e[tokens[:, k, t]] for k, e in enumerate(embeds)) + _np(table)[t]
        for w, c, cr in zip(weights, ref_cache, cross):
            x = reference.layer(x, t, w, c, cr, config.num_attention_heads, splits)
        ref = reference.layer_norm(x, _np(dec.layer_norm.weight), _np(dec.layer_norm.bias)) @ _np(dec.lm_head.weight).T
        got = _np(logits).reshape(rows, -1)
        assert np.linalg.norm(ref - got) / np.linalg.norm(got) < 1e-4
        # what the kernel leaves in the cache is what the portable step attended over
        for c, kv in zip(ref_cache, cache):
            np.testing.assert_allclose(c[:, :, :, : t + 1], _np(kv)[:, :, :, : t + 1], rtol=1e-4, atol=1e-5)


def test_split_states_combine_to_the_softmax():
    rng = np.random.default_rng(1)
    q, keys, values = rng.normal(size=64), rng.normal(size=(40, 64)), rng.normal(size=(40, 64))
    for n, splits in [(1, 4), (7, 4), (40, 3), (40, 1)]:
        scores = keys[:n] @ q
        p = np.exp(scores - scores.max())
        want = (p / p.sum()) @ values[:n]
        got = reference.combine_partials(reference.attention_partials(q, keys, values, n, splits))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_threshold_search_finds_the_kth_largest():
    rng = np.random.default_rng(2)
    rows = [rng.normal(size=2048).astype(np.float32) * 5,
            np.round(rng.normal(size=2048) * 2).astype(np.float32),  # many ties
            np.concatenate([np.full(100, -np.inf), rng.normal(size=1948)]).astype(np.float32),
            -np.abs(rng.normal(size=2048)).astype(np.float32)]  # all negative
    for values in rows:
        keys = reference.order_keys(values)
        assert (np.argsort(keys, kind="stable") == np.argsort(values, kind="stable")).all()
        for k in (1, 2, 250, 2047, 2048):
            assert reference.kth_largest_key(keys, k) == np.sort(keys)[-k]


@pytest.mark.parametrize("top_k", [1, 50, 250, 0])
def test_draw_matches_the_portable_sampler(top_k):
    """Same key → same noise → the same codes as sampling.sample (no ties in random floats)."""
    logits = mx.random.normal((3, 4, 2048), key=mx.random.key(5)) * 3
    for seed in range(4):
        key = mx.random.key(seed)
        want = np.array(sample(logits, key, mx.array(0.8), top_k))
        noise = np.array(mx.random.gumbel(shape=logits.shape, key=key))
        np.testing.assert_array_equal(reference.draw(np.array(logits), noise, 0.8, top_k), want)


@pytest.mark.parametrize("guided", [True, False])
def test_head_gives_the_portable_steps_tokens(engine, guided):
    """Final norm, heads, guidance, draw and the delay pattern against the pipeline's compiled
    step on the same decoder output: the hidden states come from the portable decoder, so only
    the head's maths is compared (guided logits to 1e-5, then identical codes)."""
    dec = engine.decoder
    folded, cross_mask = _folded(engine, "jazz", guided)
    rows = 2 if guided else 1
    table = decoder_lib.sinusoidal_positions(8, dec.config.hidden_size)
    weights = {"lnf_w": _np(dec.layer_norm.weight), "lnf_b": _np(dec.layer_norm.bias), "w_head": _np(dec.lm_head.weight)}
    captured = []
    real_logits = dec._logits

    def logits(x):  # the decoder's output, the head kernel's input
        captured.append(x)
        return real_logits(x)

    dec._logits = logits
    mx.disable_compile()  # so the step's intermediate values can be captured
    try:
        for position, frames in [(0, 5), (2, 5), (6, 3)]:  # codebooks inside, partly and wholly past the frames
            engine._compiled_steps.clear()
            tokens = mx.array([[3, 1, 4, 1]], dtype=mx.int32)
            key = mx.random.key(position)
            knobs = mx.array([3.0, 0.9, 0.0], dtype=mx.float32)
            # the step takes per-take keys, knobs and lengths (one take here)
            got, _ = engine._step(250, False, guided)(tokens, mx.array(position, dtype=mx.int32), key[None], knobs[None],
                                                      mx.array([frames], dtype=mx.int32), table, dec.new_cache(rows, 8),
                                                      folded, cross_mask)
            x = _np(captured[-1])[:, 0]
            noise = np.array(mx.random.gumbel(shape=(1, 4, dec.config.vocab_size), key=key))
            want, _ = reference.head(x, weights, noise, 3.0, 0.9, 250, position, frames, engine.start_token_id, guided,
                                     engine.codebook_delays)
            np.testing.assert_array_equal(np.array(got), want)
    finally:
        dec._logits = real_logits
        mx.enable_compile()
        engine._compiled_steps.clear()


def test_portable_step_on_a_cpu(engine):
    """The CUDA step never selects itself without MLX's CUDA backend."""
    assert not FusedStep.usable(engine.decoder)
    engine._fit_to_device()
    assert engine._fused is None


def test_the_kernels_take_one_folded_text_only(engine):
    """The layer kernel reads the fold's (heads·text, hidden) score rows; a fold with a text per
    take (a leading axis) or an unfolded cross-attention is left to the portable step."""
    folded, _ = _folded(engine, "jazz", guided=True)
    hidden = engine.decoder.config.hidden_size
    rows = score_rows(folded[0], hidden)
    assert rows is folded[0]["a"] and rows.shape[1] == hidden
    assert score_rows({**folded[0], "a": mx.stack([rows, rows])}, hidden) is None  # a text per take
    assert score_rows((rows, rows), hidden) is None  # not folded


@pytest.mark.parametrize("rows, k, batch", [(48, 304, 13), (32, 1024, 16), (16, 64, 2)])
def test_the_tensor_core_gemv_layout_computes_the_product(rows, k, batch):
    """gemv_mma feeds each lane's contiguous values into fragment slots of a permuted K: the same
    permutation on both sides must give W @ x exactly (float64 here), ragged tiles included."""
    rng = np.random.default_rng(rows + k + batch)
    W, xs = rng.standard_normal((rows, k)), rng.standard_normal((batch, k))
    np.testing.assert_allclose(reference.gemv_mma(W, xs), W @ xs.T, rtol=1e-12, atol=1e-12)


def test_tensor_cores_take_two_takes_up_and_fit_shared_memory(monkeypatch):
    from oscgen.musicgen.cuda import kernels
    from oscgen.musicgen.cuda.step import MAX_SHARED_BYTES

    monkeypatch.setattr(kernels, "TENSOR_CORE_ROWS", None)  # OSCGEN_CUDA_MMA_ROWS=0: CUDA cores only
    assert not kernels.tensor_cores(16, mx.float16)
    monkeypatch.setattr(kernels, "TENSOR_CORE_ROWS", 4)  # the default, measured on an H200
    assert kernels.tensor_cores(16, mx.float16) and kernels.tensor_cores(4, mx.float16)
    assert not kernels.tensor_cores(2, mx.float16)  # one take stays on the CUDA cores (faster there)
    assert not kernels.tensor_cores(16, mx.float32)  # no 32-bit mma path: the CUDA cores
    # musicgen-small, 8 takes with guidance: staged activations + the partial tiles
    assert kernels.layer_shared_bytes(16, 1024, 4096, 16 * 19, 64, 512, 2, True) <= MAX_SHARED_BYTES
    warps = 132 * 16  # an H200's blocks x warps
    for tiles in (192, 64, 256, 512, 20):  # q/k/v, out_proj, fc1, heads, cross scores of small
        ks = kernels.split_k(tiles * 16, 132)  # the K split fills the grid's warps, no more
        assert 16 % ks == 0 and (tiles * ks <= warps or ks == 1) and (ks == 16 or tiles * ks * 2 > warps)
