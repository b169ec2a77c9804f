"""The batched generation core (MusicGen.generate_takes) against transformers' batched and
audio-prompted ``generate``, and each row against the same take generated alone."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest
import torch

import _checkpoints as ckpt
from oscgen.musicgen import batch as batch_lib
from oscgen.musicgen import codebooks, crossfold, pipeline
from oscgen.musicgen.batch import Stop, Take

# texts of different lengths (ids < the tiny text vocabulary, each ending in </s>)
TEXTS = [(17, 5, 88, 41, 9, 1), (3, 1), (44, 2, 7, 1)]


STEREO = dict(num_codebooks=8, audio_channels=2)


@pytest.fixture(scope="module")
def pair():
    return ckpt.mlx_pair()


def _reference_codes(reference, texts, new_steps, guidance_scale, decoder_input_ids=None):
    """transformers' greedy batched generate on right-padded, masked texts → codes (batch, K, frames)."""
    calls = []
    decode = reference.audio_encoder.decode

    def spy(audio_codes, *args, **kwargs):
        calls.append(ckpt.to_numpy(audio_codes[0]))
        return decode(audio_codes, *args, **kwargs)

    reference.audio_encoder.decode = spy
    width = max(len(t) for t in texts)
    ids = torch.tensor([list(t) + [0] * (width - len(t)) for t in texts])
    mask = torch.tensor([[1] * len(t) + [0] * (width - len(t)) for t in texts])
    extra = {} if decoder_input_ids is None else {"decoder_input_ids": decoder_input_ids}
    try:
        with torch.no_grad():
            reference.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                               guidance_scale=guidance_scale, max_new_tokens=new_steps, **extra)
    finally:
        reference.audio_encoder.decode = decode
    if len(calls) == 1:
        return calls[0]
    left, right = calls  # stereo: each channel decoded alone; the decoder interleaves them
    return np.stack([left, right], axis=2).reshape(left.shape[0], -1, left.shape[-1])


@pytest.mark.parametrize("guidance_scale,layout", [(3.0, {}), (1.0, {}), (3.0, STEREO)],
                         ids=["cfg3", "no-guidance", "stereo"])
def test_greedy_batch_matches_transformers_batched_generate(guidance_scale, layout):
    reference, model = ckpt.mlx_pair(**layout)
    frames, K = 30, model.num_codebooks
    expected = _reference_codes(reference, TEXTS, frames + max(model.codebook_delays), guidance_scale)
    takes = [Take(text, frames, seed, cfg_scale=guidance_scale) for seed, text in enumerate(TEXTS)]
    codes = model.generate_takes(takes, top_k=1)
    assert expected.shape == (len(TEXTS), K, frames)
    for row, got in enumerate(codes):
        np.testing.assert_array_equal(np.array(got), expected[row])


@pytest.mark.parametrize("layout", [{}, STEREO], ids=["mono", "stereo"])
def test_prompt_codes_are_placed_as_transformers_audio_prompted_generate_does(layout):
    """decoder_input_ids (the codes of an audio prompt) through the delay pattern: transformers
    forces them at every step; so does the core, and the greedy continuation is the same."""
    reference, model = ckpt.mlx_pair(**layout)
    K, P, frames = model.num_codebooks, 9, 30
    prompts = np.random.default_rng(5).integers(0, 64, (len(TEXTS), K, P))
    expected = _reference_codes(reference, TEXTS, frames - P + max(model.codebook_delays), 3.0,
                                decoder_input_ids=torch.tensor(prompts.reshape(-1, P)))
    takes = [Take(text, frames, prompt_codes=prompt) for text, prompt in zip(TEXTS, prompts)]
    codes = [np.array(c) for c in model.generate_takes(takes, top_k=1)]
    assert expected.shape == (len(TEXTS), K, frames)
    for row, got in enumerate(codes):
        np.testing.assert_array_equal(got[:, :P], prompts[row])
        np.testing.assert_array_equal(got, expected[row])


@pytest.mark.parametrize("audio_channels", [1, 2], ids=["mono", "stereo"])
def test_forced_positions_are_transformers_delay_pattern(audio_channels):
    """The forced-code table is transformers' build_delay_pattern_mask for an audio prompt
    (stereo: left/right codebooks interleaved, each pair delayed alike)."""
    from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

    K, P, length = 4 * audio_channels, 5, 20
    config = MusicgenDecoderConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                   ffn_dim=16, num_codebooks=K, audio_channels=audio_channels)
    decoder = MusicgenForCausalLM(config)
    prompt = np.random.default_rng(2).integers(0, 64, (2, K, P))
    start = np.full((2, K, 1), 64)
    ids = torch.tensor(np.concatenate([start, prompt], axis=-1).reshape(2 * K, -1))
    _, pattern = decoder.build_delay_pattern_mask(ids, pad_token_id=64, max_length=length)
    pattern = pattern.numpy().reshape(2, K, length)
    delay = codebooks.delays(K, audio_channels)
    frames = length - 1 - max(delay)
    takes = [Take((1,), frames, prompt_codes=p) for p in prompt]
    table = np.array(batch_lib.forced_table(takes, delay, length - 1))
    # transformers' pattern: position j forced to the prompt where it holds a code (< 64) at j >= 1
    forced = np.where((pattern[..., 1:] >= 0) & (pattern[..., 1:] < 64), pattern[..., 1:], batch_lib.FREE)
    np.testing.assert_array_equal(table, forced)


def test_each_row_equals_the_same_take_alone(pair):
    """Different texts, seeds and lengths in one batch: each take's codes are what it makes by
    itself.  Tolerance: a row's logits differ from the take alone only by float rounding (the
    same ops over more rows; a GEMM may block them differently), ~1e-6 of logits of order 1, and
    a Gumbel-max draw changes only if two perturbed scores fall that close, ~1e-6 per draw (here
    ~700 draws): so codes are asserted equal, and audio to float32 rounding."""
    _, model = pair
    takes = [Take(TEXTS[0], 50, 3), Take(TEXTS[1], 23, 7), Take(TEXTS[2], 41, 11), Take(TEXTS[0], 50, 4)]
    # the same batch with knobs per take: no guidance, top-p, another temperature, the defaults
    mixed = [replace(takes[0], cfg_scale=1.0), replace(takes[1], top_p=0.8), replace(takes[2], temperature=0.6),
             takes[3]]
    for batch_takes, top_k in ((takes, 20), (mixed, 0), (mixed, 30)):
        batch = model.generate_takes(batch_takes, top_k=top_k)
        for take, got in zip(batch_takes, batch):
            (alone,) = model.generate_takes([take], top_k=top_k)
            assert got.shape == (4, take.frames)
            np.testing.assert_array_equal(np.array(got), np.array(alone))
    audio = model.decode_takes(batch)
    for take, codes, wave in zip(takes, batch, audio):
        assert wave.shape == (1, take.frames * 640)
        np.testing.assert_allclose(np.array(wave), np.array(model.decode_audio(codes[None])[0]), rtol=1e-5, atol=1e-6)


def test_variations_share_the_text_and_differ_by_seed(pair, monkeypatch):
    """n takes of one prompt: the text is encoded and folded once for all rows; the folded and
    the plain cross-attention give the same codes, and seeds give different takes."""
    _, model = pair
    takes = [Take(TEXTS[0], 30, seed) for seed in range(3)]
    plain = [np.array(c) for c in model.generate_takes(takes, top_k=20)]
    assert not np.array_equal(plain[0], plain[1])
    calls = []
    real_fold = crossfold.fold
    monkeypatch.setattr(crossfold, "fold", lambda *a, **kw: calls.append(kw) or real_fold(*a, **kw))
    monkeypatch.setattr(crossfold, "worth_folding", lambda *a: True)  # tiny dims never pay
    monkeypatch.setattr(pipeline, "FOLD_MIN_STEPS", 1)
    model._compiled_steps.clear()
    folded = [np.array(c) for c in model.generate_takes(takes, top_k=20)]
    assert calls and calls[0] == {"conditional": 3, "texts": 1}
    for a, b in zip(plain, folded):
        np.testing.assert_array_equal(a, b)
    # different texts fold per text
    mixed = [Take(text, 30, 1) for text in TEXTS]
    folded_mixed = model.generate_takes(mixed, top_k=1)
    assert calls[-1] == {"conditional": 3, "texts": 3}
    monkeypatch.setattr(pipeline, "FOLD_CROSS_ATTENTION", False)
    model._compiled_steps.clear()
    for a, b in zip(folded_mixed, model.generate_takes(mixed, top_k=1)):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    model._compiled_steps.clear()


def test_stop_one_take_returns_its_complete_frames_and_leaves_the_others(pair):
    _, model = pair
    takes = [Take(TEXTS[0], 40, 1), Take(TEXTS[1], 40, 2)]
    full = [np.array(c) for c in model.generate_takes(takes, top_k=20)]
    stop = Stop()
    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == 10:
            stop.stop(1)

    got = [np.array(c) for c in model.generate_takes(takes, top_k=20, progress=progress, stop=stop)]
    np.testing.assert_array_equal(got[0], full[0])
    # stopped after step 11 was queued: 11 positions made, frames complete in every codebook: 11 - 3
    assert got[1].shape == (4, 8)
    np.testing.assert_array_equal(got[1], full[1][:, :8])


def test_stop_everything_ends_decoding_early(pair):
    _, model = pair
    stop = Stop()
    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == 5:
            stop.stop()

    takes = [Take(TEXTS[0], 200, 1, prompt_codes=np.zeros((4, 3), dtype=np.int64)), Take(TEXTS[2], 150, 2)]
    got = model.generate_takes(takes, top_k=20, progress=progress, stop=stop)
    assert len(seen) == 6  # five steps' callbacks, then the final one
    assert [c.shape for c in got] == [(4, 3), (4, 3)]
    np.testing.assert_array_equal(np.array(got[0]), 0)  # the prompt frames, made by then


def test_bad_takes_are_refused_naming_the_take(pair):
    _, model = pair
    with pytest.raises(ValueError, match="at least one take"):
        model.generate_takes([])
    with pytest.raises(ValueError, match="take 1: frames"):
        model.generate_takes([Take((1,), 5), Take((1,), 0)])
    with pytest.raises(ValueError, match=r"take 0: prompt_codes must be \(4, frames\)"):
        model.generate_takes([Take((1,), 5, prompt_codes=np.zeros((3, 2), dtype=np.int64))])
    with pytest.raises(ValueError, match="needs 1 .. frames-1"):
        model.generate_takes([Take((1,), 5, prompt_codes=np.zeros((4, 5), dtype=np.int64))])
    with pytest.raises(ValueError, match="take 0: needs temperature > 0"):
        model.generate_takes([Take((1,), 5, temperature=0.0)])
    with pytest.raises(ValueError, match=r"codes in \[0, 64\)"):
        model.generate_takes([Take((1,), 5, prompt_codes=np.full((4, 2), 64))])


def test_warm_up_for_variations_compiles_what_the_batch_runs(pair, monkeypatch):
    _, model = pair
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)
    model._compiled_steps.clear()
    traces = []
    step = model.decoder.step
    monkeypatch.setattr(model.decoder, "step", lambda *args: traces.append(1) or step(*args))
    model.warm_up(40, top_k=5, takes=3, audio_frames=4)
    warmed = len(traces)
    model.generate_takes([Take(TEXTS[0], 40, seed) for seed in range(3)], top_k=5)
    assert len(traces) == warmed
    model._compiled_steps.clear()


@pytest.mark.parametrize("wxt, pad", [(((1, 1 << 20),), ()), ((), ((1, 63, 64),)), (((1, 1 << 20),), ((1, 63, 64),))],
                         ids=["wxt", "padded", "wxt-padded"])
def test_the_rows_gemm_form_keeps_transformers_greedy_codes(monkeypatch, wxt, pad):
    """Every linear as (W @ xᵀ)ᵀ and/or run on 64 rows, zeros below the batch's (the forms
    layers.WXT_ROWS' and PAD_ROWS' row counts use on a CPU): the same codes as transformers."""
    from oscgen.musicgen import layers

    reference, model = ckpt.mlx_pair()
    expected = _reference_codes(reference, TEXTS, 20 + 3, 3.0)
    monkeypatch.setattr(layers, "WXT_ROWS", wxt)
    monkeypatch.setattr(layers, "PAD_ROWS", pad)
    monkeypatch.setattr(crossfold, "worth_folding", lambda *a: True)
    monkeypatch.setattr(pipeline, "FOLD_MIN_STEPS", 1)
    codes = model.generate_takes([Take(text, 20, cfg_scale=3.0) for text in TEXTS], top_k=1)
    for row, got in enumerate(codes):
        np.testing.assert_array_equal(np.array(got), expected[row])


def test_memory_needed_covers_what_a_batch_takes_and_grows_with_it(pair, monkeypatch):
    """The estimate a batch is refused by errs high against MLX's measured peak (memory, not
    time: deterministic)."""
    _, model = pair
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)
    for takes in ([Take(TEXTS[0], 60)], [Take(text, 60, seed) for seed, text in enumerate(TEXTS)] * 2):
        mx.clear_cache()
        base = mx.get_active_memory()
        mx.reset_peak_memory()
        model.decode_takes(model.generate_takes(takes, top_k=5))
        assert model.memory_needed(takes) >= mx.get_peak_memory() - base
    need = lambda n, frames, per_pass=None: model.memory_needed([Take(TEXTS[0], frames)] * n, per_pass)
    # (tiny's EnCodec outweighs its cache: takes add memory where EnCodec decodes them together)
    assert need(1, 500) <= need(2, 500) <= need(4, 500) < need(4, 500, 4)
    assert need(1, 500) < need(1, 1000)


def test_decode_takes_groups_by_length(pair):
    _, model = pair
    codes = [mx.array(np.random.default_rng(i).integers(0, 64, (4, n)), dtype=mx.int32) for i, n in enumerate((7, 3, 7, 0))]
    audio = model.decode_takes(codes, takes_per_pass=2)
    assert [a.shape for a in audio] == [(1, 7 * 640), (1, 3 * 640), (1, 7 * 640), (1, 0)]
    for c, a in zip(codes[:3], audio):
        np.testing.assert_allclose(np.array(a), np.array(model.decode_audio(c[None])[0]), rtol=1e-5, atol=1e-6)


def test_prompt_steps_are_prefilled_in_one_pass_with_what_the_steps_would_make(pair, monkeypatch):
    """Takes that all carry prompt codes skip the steps whose tokens are all known: the cache is
    filled by forward passes (decoder.prefill, chunked) and decoding starts at the shortest
    prompt.  Against the same batch decoded step by step (prefill off): the same codes, sampled
    (tolerance as in test_each_row_equals_the_same_take_alone: the cache differs by float
    rounding of the batched matmuls, ~1e-6, far from flipping a draw), with prompts of different
    lengths, a prompt longer than a chunk and with and without guidance."""
    _, model = pair
    rng = np.random.default_rng(9)
    prompts = [rng.integers(0, 64, (4, p)) for p in (7, 12, 19)]
    takes = [Take(text, 40, seed, prompt_codes=prompt) for seed, (text, prompt) in enumerate(zip(TEXTS, prompts))]
    assert batch_lib.prefill_steps(takes) == 7 and batch_lib.prefill_steps([*takes, Take(TEXTS[0], 9)]) == 0
    known = batch_lib.known_positions(takes[:1], model.codebook_delays, model.start_token_id, 7)[0]
    start = model.start_token_id
    assert known[:, 0].tolist() == [start] * 4 and known[3, :4].tolist() == [start] * 4  # delays 0..3
    np.testing.assert_array_equal(known[2, 3:], prompts[0][2, :5])  # frame f of codebook 2 at f + 3
    for cfg_scale in (3.0, 1.0):
        batch = [replace(t, cfg_scale=cfg_scale) for t in takes]
        prefilled = [np.array(c) for c in model.generate_takes(batch, top_k=20)]
        monkeypatch.setattr(batch_lib, "prefill_steps", lambda takes: 0)
        stepped = [np.array(c) for c in model.generate_takes(batch, top_k=20)]
        monkeypatch.undo()
        for got, want, prompt in zip(prefilled, stepped, prompts):
            np.testing.assert_array_equal(got[:, : prompt.shape[1]], prompt)
            np.testing.assert_array_equal(got, want)
    # chunked: a 300-frame prompt is two chunks of the 256-position cache block
    long = Take(TEXTS[0], 310, 2, prompt_codes=rng.integers(0, 64, (4, 300)))
    (prefilled,) = model.generate_takes([long], top_k=20)
    monkeypatch.setattr(batch_lib, "prefill_steps", lambda takes: 0)
    (stepped,) = model.generate_takes([long], top_k=20)
    np.testing.assert_array_equal(np.array(prefilled), np.array(stepped))


def test_prefill_writes_the_cache_the_steps_write(pair):
    _, model = pair
    decoder, codes = model.decoder, mx.array(np.random.default_rng(3).integers(0, 64, (2, 4, 11)), dtype=mx.int32)
    states = mx.array(np.random.default_rng(4).standard_normal((2, 5, decoder.config.hidden_size)), dtype=mx.float32)
    cross_kv, table = decoder.cross_kv(states), model._positions_table(16)
    cache = decoder.new_cache(2, 16)
    for t in range(11):
        _, cache = decoder.step(codes[:, :, t], mx.array(t, dtype=mx.int32), table, cache, cross_kv, None)
    filled = decoder.prefill(codes, table, decoder.new_cache(2, 16), cross_kv, None, chunk=4)
    for got, want in zip(filled, cache):
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="cache longer"):
        decoder.prefill(codes, table, decoder.new_cache(2, 11), cross_kv, None)
