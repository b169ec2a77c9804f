"""The real musicgen-small / -medium / -large architectures, their stereo variants (and the built-in tiny one): every
parameter transformers has maps onto exactly one MLX parameter of the same shape, and nothing is left over.

Nothing is allocated: transformers builds on the meta device and MLX arrays are lazy."""

import gc
import math

import mlx.core as mx
import pytest
import torch
from mlx.utils import tree_flatten

import _checkpoints as ckpt
from oscgen.musicgen.pipeline import MusicGen, convert_weights


ARCHITECTURES = {  # size: (decoder layers, hidden, codebooks, audio channels), as the hub configs have them
    "small": (24, 1024, 4, 1), "medium": (48, 1536, 4, 1), "large": (48, 2048, 4, 1),
    "stereo-small": (24, 1024, 8, 2), "stereo-medium": (48, 1536, 8, 2), "stereo-large": (48, 2048, 8, 2),
    "tiny": (2, 64, 4, 1),
}


@pytest.mark.parametrize("size", list(ARCHITECTURES))
def test_every_parameter_shape_matches_transformers(size):
    from transformers import MusicgenForConditionalGeneration

    config = ckpt.real_config(size)
    dec = config.decoder
    assert (dec.num_hidden_layers, dec.hidden_size, dec.num_codebooks, dec.audio_channels) == ARCHITECTURES[size]
    assert config.audio_encoder.audio_channels == 1  # stereo checkpoints code each channel with the mono EnCodec
    with torch.device("meta"):
        reference = MusicgenForConditionalGeneration(config)
    # lazy placeholders with the checkpoint's shapes: convert_weights runs on shapes only
    hf = {key: mx.zeros(tuple(t.shape), dtype=mx.float32) for key, t in reference.state_dict().items()}
    reference_decoder_size = sum(p.numel() for p in reference.decoder.parameters())
    del reference

    converted = {key: value.shape for key, value in convert_weights(hf).items()}
    model = MusicGen(config.to_dict())
    expected = {key: value.shape for key, value in tree_flatten(model.parameters())}
    assert set(converted) == set(expected), set(converted) ^ set(expected)
    assert {k: converted[k] for k in expected if converted[k] != expected[k]} == {}
    decoder_size = sum(math.prod(shape) for key, shape in expected.items() if key.startswith("decoder."))
    assert decoder_size == reference_decoder_size
    del model, hf, converted
    gc.collect()
