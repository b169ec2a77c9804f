"""Stereo MusicGen (facebook/musicgen-stereo-*: 8 codebooks, left/right interleaved, the mono
EnCodec per channel) against transformers on tiny stereo checkpoints, and the codebook layout."""

import mlx.core as mx
import numpy as np
import pytest
import torch

import _checkpoints as ckpt
from oscgen.musicgen import codebooks

PROMPT_IDS = [[17, 5, 88, 41, 9, 1]]
STEREO = dict(num_codebooks=8, audio_channels=2)


@pytest.mark.parametrize("guidance_scale", [3.0, 1.0], ids=["cfg3", "no-guidance"])
def test_greedy_stereo_generation_matches_transformers(guidance_scale):
    reference, model = ckpt.mlx_pair(**STEREO)
    frames = 30
    expected_codes, expected_audio = ckpt.reference_generate(reference, PROMPT_IDS, frames, guidance_scale)
    codes = model.generate_codes(mx.array(PROMPT_IDS), frames, top_k=1, cfg_scale=guidance_scale)
    assert codes.shape == (1, 8, frames)
    np.testing.assert_array_equal(np.array(codes), expected_codes)
    audio = np.array(model.decode_audio(codes))
    assert audio.shape == expected_audio.shape == (1, 2, frames * 640)
    assert not np.allclose(audio[0, 0], audio[0, 1])  # two channels, not one copied
    # float32 EnCodec in another summation order: the decoder tests' tolerance
    np.testing.assert_allclose(audio, expected_audio, rtol=1e-4, atol=1e-4)


def test_stereo_generate_gives_two_channels():
    _, model = ckpt.mlx_pair(**STEREO)
    model.tokenizer = type("Ids", (), {"encode": staticmethod(lambda text: PROMPT_IDS[0])})()
    audio = model.generate("any", 12, top_k=5, seed=3)
    assert audio.shape == (2, 12 * 640)


def test_stereo_prompt_audio_encodes_per_channel_like_transformers():
    reference, model = ckpt.mlx_pair(**STEREO)
    audio = (0.3 * np.random.default_rng(0).standard_normal((1, 2, 640 * 6 + 11))).astype(np.float32)
    with torch.no_grad():
        left, right = (reference.audio_encoder.encode(torch.from_numpy(audio[:, c : c + 1])).audio_codes[0].numpy()
                       for c in (0, 1))
    codes = np.array(model.encode_audio(audio))
    assert codes.shape == (1, 8, 7)
    np.testing.assert_array_equal(codes[:, 0::2], left)
    np.testing.assert_array_equal(codes[:, 1::2], right)
    with pytest.raises(ValueError, match=r"\(batch, 2, samples\)"):
        model.encode_audio(audio[:, :1])


def test_mono_and_stereo_delay_patterns():
    assert codebooks.delays(4) == (0, 1, 2, 3)
    assert codebooks.delays(8, 2) == (0, 0, 1, 1, 2, 2, 3, 3)
    assert codebooks.steps_for(100, codebooks.delays(8, 2)) == 103 == codebooks.steps_for(100, codebooks.delays(4))
    with pytest.raises(ValueError, match="even"):
        codebooks.delays(7, 2)
    with pytest.raises(ValueError, match="audio_channels"):
        codebooks.delays(8, 3)


def test_split_and_join_channels_are_inverse_and_interleave_left_right():
    codes = mx.arange(2 * 8 * 3).reshape(2, 8, 3)
    split = codebooks.split_channels(codes, 2)
    assert split.shape == (4, 4, 3)
    # take 0's left channel = its even codebooks, its right = the odd ones
    np.testing.assert_array_equal(np.array(split[0]), np.array(codes[0, 0::2]))
    np.testing.assert_array_equal(np.array(split[1]), np.array(codes[0, 1::2]))
    np.testing.assert_array_equal(np.array(split[2]), np.array(codes[1, 0::2]))
    np.testing.assert_array_equal(np.array(codebooks.join_channels(split, 2)), np.array(codes))
    assert codebooks.split_channels(codes, 1) is codes
