"""The whole MLX pipeline against transformers' MusicgenForConditionalGeneration.generate:
greedy codes token for token, audio to float tolerance; plus seeding, progress and cancellation."""

import mlx.core as mx
import numpy as np
import pytest
import torch

import _checkpoints as ckpt
from oscgen.musicgen.pipeline import MusicGen, convert_weights

PROMPT_IDS = [[17, 5, 88, 41, 9, 1]]  # any ids < the tiny text vocabulary, ending in </s>


def _pair(**overrides):
    path = ckpt.tiny_checkpoint(**overrides)
    reference = ckpt.reference_from(path)
    model = MusicGen(reference.config.to_dict())
    model.load_converted(convert_weights(ckpt.load_flat(path)))
    return reference, model


def _reference_generate(reference, frames, guidance_scale):
    """transformers' greedy generate; returns (codes (1, K, frames), audio (1, samples))."""
    captured = {}
    decode = reference.audio_encoder.decode

    def spy(audio_codes, *args, **kwargs):
        captured["codes"] = audio_codes
        return decode(audio_codes, *args, **kwargs)

    reference.audio_encoder.decode = spy
    K = reference.config.decoder.num_codebooks
    ids = torch.tensor(PROMPT_IDS)
    with torch.no_grad():
        audio = reference.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            guidance_scale=guidance_scale,
            max_new_tokens=frames + K - 1,
        )
    return ckpt.to_numpy(captured["codes"][0]), ckpt.to_numpy(audio[0])


@pytest.mark.parametrize(
    "overrides,guidance_scale",
    [
        ({}, 3.0),
        ({"num_hidden_layers": 3, "num_attention_heads": 6, "hidden_size": 36, "ffn_dim": 50, "text_d_model": 36}, 3.0),
        ({}, 1.0),
    ],
    ids=["tiny-cfg3", "other-sizes-no-projection", "no-guidance"],
)
def test_greedy_generation_matches_transformers(overrides, guidance_scale):
    reference, model = _pair(**overrides)
    frames = 40
    expected_codes, expected_audio = _reference_generate(reference, frames, guidance_scale)
    codes = model.generate_codes(mx.array(PROMPT_IDS), frames, top_k=1, cfg_scale=guidance_scale)
    np.testing.assert_array_equal(np.array(codes), expected_codes)
    audio = np.array(model.decode_audio(codes)[0])
    assert audio.shape == (1, frames * 640) == expected_audio.shape
    np.testing.assert_allclose(audio, expected_audio, rtol=1e-4, atol=1e-4)


def test_on_a_gpu_the_engine_pads_heads_and_greedy_codes_stay_the_same(monkeypatch):
    """Where MLX runs on a GPU the engine lays self-attention out for the fused kernel before its
    first job (faked here: the padded layout runs on the CPU too); codes stay transformers'."""
    from oscgen.musicgen import pipeline

    reference, model = _pair()
    frames = 40
    expected_codes, _ = _reference_generate(reference, frames, 3.0)
    monkeypatch.setattr(pipeline, "on_gpu", lambda: True)
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)  # several windows: the cache grows, marked
    codes = model.generate_codes(mx.array(PROMPT_IDS), frames, top_k=1, cfg_scale=3.0)
    assert model.decoder.padded_head_dim
    np.testing.assert_array_equal(np.array(codes), expected_codes)


def test_window_boundaries_do_not_change_greedy_codes(monkeypatch):
    """Long enough to cross several cache windows (shrunk so the test stays fast)."""
    from oscgen.musicgen import pipeline

    reference, model = _pair()
    frames = 70
    expected_codes, _ = _reference_generate(reference, frames, 3.0)
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)
    codes = model.generate_codes(mx.array(PROMPT_IDS), frames, top_k=1, cfg_scale=3.0)
    np.testing.assert_array_equal(np.array(codes), expected_codes)


def _count_traces(monkeypatch, model):
    """How many times the decoder's step is traced: its Python body runs only while MLX traces
    a compiled step for new input shapes, never when a compiled one is replayed."""
    traces = []
    step = model.decoder.step
    monkeypatch.setattr(model.decoder, "step", lambda *args: traces.append(1) or step(*args))
    return traces


def test_one_compiled_step_per_window_whatever_the_job_length(monkeypatch):
    from oscgen.musicgen import pipeline

    _, model = _pair()
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)
    monkeypatch.setattr(pipeline, "FOLD_MIN_STEPS", 1)  # every job folds, as long ones do
    traces = _count_traces(monkeypatch, model)
    model.generate_codes(mx.array(PROMPT_IDS), 40, top_k=5)  # 43 steps: windows 16, 32, 48
    assert len(traces) == 3
    model.generate_codes(mx.array(PROMPT_IDS), 25, top_k=5, seed=4)  # 28 steps: 16, 32 again
    model.generate_codes(mx.array(PROMPT_IDS), 40, top_k=5, temperature=0.5, cfg_scale=5.0)  # knobs are inputs
    assert len(traces) == 3


def test_warm_up_compiles_every_window_a_job_reaches(monkeypatch):
    from oscgen.musicgen import pipeline

    _, model = _pair()
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 16)
    monkeypatch.setattr(pipeline, "FOLD_MIN_STEPS", 1)
    traces = _count_traces(monkeypatch, model)
    model.warm_up(60, top_k=5, cfg_scale=3.0, audio_frames=4)
    assert len(traces) == 8  # 63 steps: windows 16, 32, 48, 64, for prompts of one and two text blocks
    codes = model.generate_codes(mx.array(PROMPT_IDS), 60, top_k=5, seed=1)  # a prompt of one text block
    assert len(traces) == 8 and codes.shape == (1, 4, 60)
    model.generate_codes(mx.array(PROMPT_IDS), 60, top_k=7, seed=1)  # top_k is static: a new step
    assert len(traces) == 12


def test_same_seed_is_bit_identical_and_seed_matters():
    _, model = _pair()
    run = lambda seed: np.array(model.generate_codes(mx.array(PROMPT_IDS), 25, top_k=20, top_p=0.9, seed=seed))
    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.min() >= 0 and a.max() < model.vocab_size


def test_progress_is_monotone_and_ends_at_one():
    _, model = _pair()
    seen = []
    model.generate_codes(mx.array(PROMPT_IDS), 12, top_k=5, progress=seen.append)
    assert seen == sorted(seen) and 0 < seen[0] and seen[-1] == pytest.approx(0.95)
    assert len(seen) == 12 + 4 - 1


def test_a_raising_callback_stops_generation():
    _, model = _pair()
    calls = []

    class Cancelled(Exception):
        pass

    def cancel_after_three(fraction):
        calls.append(fraction)
        if len(calls) == 3:
            raise Cancelled

    with pytest.raises(Cancelled):
        model.generate_codes(mx.array(PROMPT_IDS), 50, top_k=5, progress=cancel_after_three)
    assert len(calls) == 3


@pytest.mark.filterwarnings("ignore:.*random weights.*:UserWarning")
def test_prompt_to_wav_matches_transformers_on_the_builtin_model():
    """End to end through the product path: oscgen's own tiny checkpoint, its tokenizer, the
    cached weight conversion, greedy decoding and EnCodec, against transformers reading the same
    folder with its own tokenizer."""
    import oscgen
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    from oscgen.musicgen import weights

    path = weights.resolve_model_dir("tiny-random")
    reference = MusicgenForConditionalGeneration.from_pretrained(str(path)).eval()
    prompt = "lo-fi hip hop beat with mellow rhodes chords"
    inputs = AutoTokenizer.from_pretrained(str(path))(prompt, return_tensors="pt")
    frames = 30
    with torch.no_grad():
        expected = reference.generate(
            **inputs, do_sample=False, guidance_scale=3.0, max_new_tokens=frames + 3
        )
    result = oscgen.generate(prompt, duration=frames / 50, model="tiny-random", top_k=1, cfg_scale=3.0, seed=0)
    expected = ckpt.to_numpy(expected[0])
    assert result.audio.shape == expected.shape == (1, frames * 640)
    assert expected.std() > 1e-3
    np.testing.assert_allclose(result.audio.numpy(), expected, rtol=1e-4, atol=1e-4)
