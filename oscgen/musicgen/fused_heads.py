"""A loaded decoder's self-attention laid out for MLX's fused GPU attention kernels (the GPU's
decode step: pipeline.MusicGen turns it on there); the CPU keeps the checkpoint's layout."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from oscgen.musicgen.decoder import MusicgenDecoder

# Head sizes MLX's fused attention kernels take on a GPU (and they take no array mask).
FUSED_HEAD_DIMS = (64, 96, 128)


def pad_heads_for_fused_attention(decoder: MusicgenDecoder) -> bool:
    """Lay self-attention out for MLX's fused GPU attention kernels, in place; False where it
    does not apply (done already, quantized projections, heads of 128 or more).

    Those kernels (one per attention instead of five: scale, scores, mask, softmax, values) take
    head sizes 64/96/128 and no mask, but a decode step attends over a fixed-size cache whose
    later positions are empty.  So every head widens to the next supported size with zero
    weights, except that q's first extra feature is a constant 1 (a bias) and the cache holds
    decoder.EMPTY_KEY in that feature for positions not written yet (a written key has 0 there): such
    positions score EMPTY_KEY · scale and get zero weight.  out_proj gets zero columns for the
    extra features.  The outputs are the same to float rounding; the scale stays the model's."""
    config = decoder.config
    head_dim, heads, d = config.head_dim, config.num_attention_heads, config.hidden_size
    padded = next((n for n in FUSED_HEAD_DIMS if n > head_dim), None)
    plain = all(type(layer.self_attn.qkv_proj) is nn.Linear and type(layer.self_attn.out_proj) is nn.Linear
                for layer in decoder.layers)
    if decoder.padded_head_dim or padded is None or not plain:
        return False
    extra = padded - head_dim
    for layer in decoder.layers:
        attention = layer.self_attn
        weight = attention.qkv_proj.weight
        qkv = nn.Linear(d, 3 * heads * padded, bias=True)
        qkv.weight = mx.pad(weight.reshape(3, heads, head_dim, d), [(0, 0), (0, 0), (0, extra), (0, 0)]).reshape(-1, d)
        qkv.bias = mx.zeros((3, heads, padded), dtype=weight.dtype).at[0, :, head_dim].add(1.0).reshape(-1)
        attention.qkv_proj = qkv
        out = attention.out_proj.weight.reshape(d, heads, head_dim)
        attention.out_proj.weight = mx.pad(out, [(0, 0), (0, 0), (0, extra)]).reshape(d, heads * padded)
    decoder.padded_head_dim = padded
    mx.eval(decoder.parameters())
    return True
