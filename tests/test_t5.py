"""T5 encoder parity with transformers' T5EncoderModel on tiny random checkpoints."""

import mlx.core as mx
import numpy as np
import pytest
import torch

from oscgen.musicgen import t5
import _checkpoints as ckpt


def _encoder_pair(**overrides):
    path = ckpt.tiny_checkpoint(**overrides)
    reference = ckpt.reference_from(path).text_encoder
    config = t5.T5Config.from_dict(reference.config.to_dict())
    encoder = t5.T5Encoder(config)
    flat = ckpt.load_flat(path)
    weights = {k[len("text_encoder.") :]: v for k, v in flat.items() if k.startswith("text_encoder.")}
    encoder.load_weights(list(t5.sanitize(weights).items()), strict=True)
    return reference, encoder


@pytest.mark.parametrize("feed_forward_proj", ["relu", "gated-gelu"])
def test_encoder_states_match_transformers(feed_forward_proj):
    reference, encoder = _encoder_pair(feed_forward_proj=feed_forward_proj)
    rng = np.random.default_rng(0)
    # long enough (> max_distance 32) to reach the logarithmic and clamped relative buckets
    ids = rng.integers(0, reference.config.vocab_size, size=(2, 45))
    mask = np.ones_like(ids)
    mask[1, 30:] = 0  # a padded second row exercises the key mask
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state
    got = encoder(mx.array(ids), mx.array(mask))
    np.testing.assert_allclose(np.array(got), ckpt.to_numpy(expected), rtol=1e-4, atol=1e-4)


def test_relative_buckets_match_transformers():
    from transformers.models.t5.modeling_t5 import T5Attention

    relative = np.arange(-300, 300)[None, :]
    expected = T5Attention._relative_position_bucket(torch.tensor(relative), True, 32, 128).numpy()
    got = np.array(t5.relative_position_bucket(mx.array(relative), 32, 128))
    np.testing.assert_array_equal(got, expected)


def test_sanitize_accepts_either_tied_embedding_key():
    w = mx.zeros((3, 2))
    assert set(t5.sanitize({"shared.weight": w})) == {"embed_tokens.weight"}
    assert set(t5.sanitize({"encoder.embed_tokens.weight": w})) == {"embed_tokens.weight"}
