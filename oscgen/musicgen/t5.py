"""T5 text encoder (the encoder half of transformers' ``T5EncoderModel``), as MusicGen uses it.

Semantics follow transformers' modeling_t5.py: RMS-style layer norm without mean subtraction or
bias, unscaled dot-product attention with a learned relative position bias that only the first
block owns (every block reuses it), pre-norm residual blocks, plain or gated feed-forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from oscgen.musicgen.layers import activation, additive_mask


@dataclass(frozen=True)
class T5Config:
    vocab_size: int
    d_model: int
    d_kv: int
    d_ff: int
    num_layers: int
    num_heads: int
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "relu"

    @classmethod
    def from_dict(cls, cfg: dict) -> "T5Config":
        """Build from the ``text_encoder`` section of a MusicGen config.json."""
        return cls(
            vocab_size=cfg["vocab_size"],
            d_model=cfg["d_model"],
            d_kv=cfg["d_kv"],
            d_ff=cfg["d_ff"],
            num_layers=cfg["num_layers"],
            num_heads=cfg["num_heads"],
            relative_attention_num_buckets=cfg.get("relative_attention_num_buckets", 32),
            relative_attention_max_distance=cfg.get("relative_attention_max_distance", 128),
            layer_norm_epsilon=cfg.get("layer_norm_epsilon", 1e-6),
            feed_forward_proj=cfg.get("feed_forward_proj", "relu"),
        )

    @property
    def is_gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")

    @property
    def act_name(self) -> str:
        # transformers maps "gated-gelu" to the tanh approximation ("gelu_new")
        if self.feed_forward_proj == "gated-gelu":
            return "gelu_new"
        return self.feed_forward_proj.split("-")[-1]


class T5LayerNorm(nn.Module):
    """x / rms(x) * weight; the mean of squares is taken in float32 like transformers does."""

    def __init__(self, dims: int, eps: float):
        super().__init__()
        self.weight = mx.ones((dims,))
        self.eps = eps

    def __call__(self, x: mx.array) -> mx.array:
        return mx.fast.rms_norm(x, self.weight, self.eps)


def relative_position_bucket(relative_position: mx.array, num_buckets: int, max_distance: int) -> mx.array:
    """Bidirectional T5 bucketing: half the buckets per direction, exact for small distances,
    logarithmic up to ``max_distance``."""
    num_buckets //= 2
    buckets = (relative_position > 0).astype(mx.int32) * num_buckets
    distance = mx.abs(relative_position)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    # float32 log, truncated toward zero, exactly as transformers' .to(torch.long)
    large = max_exact + (
        mx.log(distance.astype(mx.float32) / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).astype(mx.int32)
    large = mx.minimum(large, num_buckets - 1)
    return buckets + mx.where(is_small, distance, large)


class T5Attention(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        inner = config.num_heads * config.d_kv
        self.num_heads = config.num_heads
        self.q = nn.Linear(config.d_model, inner, bias=False)
        self.k = nn.Linear(config.d_model, inner, bias=False)
        self.v = nn.Linear(config.d_model, inner, bias=False)
        self.o = nn.Linear(inner, config.d_model, bias=False)
        self.num_buckets = config.relative_attention_num_buckets
        self.max_distance = config.relative_attention_max_distance
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, self.num_heads)

    def position_bias(self, length: int) -> mx.array:
        """(1, heads, length, length) additive bias from the learned bucket embeddings."""
        positions = mx.arange(length)
        relative = positions[None, :] - positions[:, None]  # memory - query
        buckets = relative_position_bucket(relative, self.num_buckets, self.max_distance)
        return self.relative_attention_bias(buckets).transpose(2, 0, 1)[None]

    def __call__(self, x: mx.array, bias: mx.array) -> mx.array:
        B, L, _ = x.shape
        q, k, v = (
            proj(x).reshape(B, L, self.num_heads, -1).transpose(0, 2, 1, 3)
            for proj in (self.q, self.k, self.v)
        )
        # T5 folds the scale into its weights: no 1/sqrt(d) here
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=1.0, mask=bias)
        return self.o(out.transpose(0, 2, 1, 3).reshape(B, L, -1))


class T5DenseActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.act = activation(config.act_name)

    def __call__(self, x):
        return self.wo(self.act(self.wi(x)))


class T5DenseGatedActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.act = activation(config.act_name)

    def __call__(self, x):
        return self.wo(self.act(self.wi_0(x)) * self.wi_1(x))


class T5Block(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.attention = T5Attention(config, has_relative_attention_bias)
        self.attention_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)
        dense = T5DenseGatedActDense if config.is_gated else T5DenseActDense
        self.dense = dense(config)
        self.dense_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def __call__(self, x: mx.array, bias: mx.array) -> mx.array:
        x = x + self.attention(self.attention_norm(x), bias)
        return x + self.dense(self.dense_norm(x))


class T5Encoder(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = [T5Block(config, has_relative_attention_bias=(i == 0)) for i in range(config.num_layers)]
        self.final_norm = T5LayerNorm(config.d_model, config.layer_norm_epsilon)

    def __call__(self, input_ids: mx.array, attention_mask: mx.array | None = None) -> mx.array:
        """input_ids (batch, length) int → last hidden state (batch, length, d_model).

        ``attention_mask`` (batch, length) of 1/0 masks padded keys, as transformers does."""
        # float32 activations whatever the weights are stored in (quantize.TEXT_SIDE): T5's
        # feed-forward outputs overflow float16, and float16 weights times float32 activations
        # compute in float32
        x = self.embed_tokens(input_ids).astype(mx.float32)
        bias = self.blocks[0].attention.position_bias(input_ids.shape[1])
        if attention_mask is not None:
            bias = bias + additive_mask(attention_mask)
        for block in self.blocks:
            x = block(x, bias)
        return self.final_norm(x)


def sanitize(weights: dict[str, mx.array]) -> dict[str, mx.array]:
    """transformers ``T5EncoderModel`` keys (``text_encoder.`` prefix already stripped) → this module.

    ``shared.weight`` and ``encoder.embed_tokens.weight`` are the same tied tensor; checkpoints
    store one or both."""
    out = {}
    for key, value in weights.items():
        if key in ("shared.weight", "encoder.embed_tokens.weight"):
            out["embed_tokens.weight"] = value
            continue
        if not key.startswith("encoder."):
            continue
        key = key[len("encoder.") :]
        key = key.replace("final_layer_norm.", "final_norm.")
        key = key.replace("block.", "blocks.")
        key = key.replace(".layer.0.SelfAttention.", ".attention.")
        key = key.replace(".layer.0.layer_norm.", ".attention_norm.")
        key = key.replace(".layer.1.DenseReluDense.", ".dense.")
        key = key.replace(".layer.1.layer_norm.", ".dense_norm.")
        out[key] = value
    return out
