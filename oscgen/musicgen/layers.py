"""Small pieces shared by the text encoder and the decoder."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

# transformers' ACT2FN names → MLX functions with the same maths
_ACTIVATIONS = {
    "gelu": nn.gelu,  # exact (erf)
    "gelu_new": nn.gelu_approx,  # tanh approximation
    "gelu_pytorch_tanh": nn.gelu_approx,
    "relu": nn.relu,
    "silu": nn.silu,
}


def activation(name: str):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unsupported activation {name!r} (supported: {', '.join(sorted(_ACTIVATIONS))})") from None


def additive_mask(mask: mx.array) -> mx.array:
    """(batch, length) 1/0 keep-mask → additive (batch, 1, 1, length) for attention scores.

    Masked keys get the most negative float32 (transformers' convention): a fully masked row stays
    finite and averages its values instead of turning into NaN.  MusicGen relies on that for the
    unconditional CFG row, whose keys/values are all zero."""
    return ((1.0 - mask.astype(mx.float32)) * mx.finfo(mx.float32).min)[:, None, None, :]
