"""The MusicGen language model over EnCodec codebooks (transformers' ``MusicgenForCausalLM``).

Input per position: the sum of one embedding per codebook plus a sinusoidal position.  Pre-LN
layers (self-attention, cross-attention to the projected text states, GELU feed-forward), a final
LayerNorm and one linear head per codebook.  No attention projection has a bias.

Two ways to run it:
- ``__call__``: a whole code sequence at once with a causal mask (parity tests, prompts);
- ``step``: one position with a self-attention cache allocated a window (pipeline.cache_block() positions)
  at a time and the cross-attention keys/values computed once per generation (``cross_kv``).
  Shapes are fixed per window, so the pipeline can ``mx.compile`` it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from oscgen.musicgen import crossfold, layers
from oscgen.musicgen.layers import activation, additive_mask, linear, on_gpu, wxt_form


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int = 2048
    hidden_size: int = 1024
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    ffn_dim: int = 4096
    num_codebooks: int = 4
    activation_function: str = "gelu"
    audio_channels: int = 1
    pad_token_id: int = 2048
    bos_token_id: int = 2048

    @classmethod
    def from_dict(cls, cfg: dict) -> "DecoderConfig":
        """Build from the ``decoder`` section of a MusicGen config.json (missing keys take
        transformers' MusicgenDecoderConfig defaults)."""
        names = cls.__dataclass_fields__
        cfg = {k: v for k, v in cfg.items() if k in names and v is not None}
        config = cls(**cfg)
        if config.audio_channels not in (1, 2):
            raise ValueError(f"MusicGen decoders have 1 (mono) or 2 (stereo) audio channels, "
                             f"not audio_channels={config.audio_channels}")
        return config

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


def sinusoidal_positions(length: int, dim: int) -> mx.array:
    """(length, dim) table: [cos | sin] of position * 10000^(-i/(half-1)), transformers'
    MusicgenSinusoidalPositionalEmbedding.get_embedding's formula.

    Computed in float64 and rounded once to float32, so the table is the exact sinusoid to half a
    float32 ulp on every host. (transformers multiplies position by frequency in float32, so its
    own table carries up to ~2 ulp of the largest angle of error: what the parity test allows.)"""
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freqs = np.exp(np.arange(half, dtype=np.float64) * -step)
    angles = np.arange(length, dtype=np.float64)[:, None] * freqs[None, :]
    table = np.concatenate([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    if dim % 2:
        table = np.concatenate([table, np.zeros((length, 1), np.float32)], axis=1)
    return mx.array(table)


# Added to the score of cache positions not written yet when attention runs without a mask
# (fused_heads.pad_heads_for_fused_attention); exp of it times any head's scale is 0 in float32,
# and it fits float16.
EMPTY_KEY = -30000.0
# Whether a CPU step adds the residual inside the GEMM too (add_linear); off: slower there.
ADDMM_ON_CPU = False


class SelfAttention(nn.Module):
    """Causal self-attention with q, k and v as one (3·d, d) projection: one matmul a step instead
    of three (on a GPU, where a decode step is bound by kernel launches, that is 48 fewer per
    musicgen-small step; on a CPU one larger BLAS call).  ``sanitize`` concatenates the
    checkpoint's q_proj/k_proj/v_proj rows in that order.  Heads may be wider than
    hidden/heads (pad_heads_for_fused_attention): the width comes from the projection."""

    def __init__(self, dims: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dims // num_heads) ** -0.5
        self.qkv_proj = nn.Linear(dims, 3 * dims, bias=False)
        self.out_proj = nn.Linear(dims, dims, bias=False)

    def context(self, x: mx.array, mask, cache: "LayerCache | None" = None) -> mx.array:
        """The attention-weighted values (batch, length, dims), before ``out_proj``."""
        B, L, _ = x.shape
        # (B, L, 3·d) → 3 × (B, heads, L, head_dim)
        qkv = linear(self.qkv_proj, x).reshape(B, L, 3, self.num_heads, -1).transpose(2, 0, 3, 1, 4)
        q, kv = mx.split(qkv, [1], axis=0)  # views (qkv[0] would gather); kv: (2, B, heads, L, head_dim)
        if cache is not None:
            kv = cache.update(kv)
        if cache is not None and cache.offsets is not None and L == 1:
            # layers.DECODE_ATTENTION (step decided): only this row's written slots, in one op (no mask)
            out = layers.DECODE_ATTENTION(q.squeeze(0), kv, cache.position, cache.offsets, self.scale)
            return out.transpose(0, 2, 1, 3).reshape(B, L, -1)
        k, v = mx.split(kv, 2, axis=0)
        out = mx.fast.scaled_dot_product_attention(q.squeeze(0), k.squeeze(0), v.squeeze(0),
                                                   scale=self.scale, mask=mask)
        return out.transpose(0, 2, 1, 3).reshape(B, L, -1)


class CrossAttention(nn.Module):
    """Attention over the text states.  Its keys/values are computed once per generation
    (``keys_values``); during decoding the pipeline usually folds q/out into them (crossfold.py)."""

    def __init__(self, dims: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dims // num_heads) ** -0.5
        self.q_proj = nn.Linear(dims, dims, bias=False)
        self.k_proj = nn.Linear(dims, dims, bias=False)
        self.v_proj = nn.Linear(dims, dims, bias=False)
        self.out_proj = nn.Linear(dims, dims, bias=False)

    def _heads(self, x: mx.array) -> mx.array:
        B, L, _ = x.shape
        return x.reshape(B, L, self.num_heads, -1).transpose(0, 2, 1, 3)

    def keys_values(self, x: mx.array) -> tuple[mx.array, mx.array]:
        """(batch, length, dims) → keys, values as (batch, heads, length, head_dim)."""
        return self._heads(self.k_proj(x)), self._heads(self.v_proj(x))

    def context(self, x: mx.array, keys: mx.array, values: mx.array, mask) -> mx.array:
        """The attention-weighted values (batch, length, dims), before ``out_proj``."""
        B, L, _ = x.shape
        out = mx.fast.scaled_dot_product_attention(self._heads(linear(self.q_proj, x)), keys, values, scale=self.scale, mask=mask)
        return out.transpose(0, 2, 1, 3).reshape(B, L, -1)


def add_linear(x: mx.array, layer: nn.Module, h: mx.array) -> mx.array:
    """x + layer(h).  On a GPU, for a plain bias-free Linear, that is one GEMM accumulating into
    x (``addmm``): a GPU decode step is bound by kernel launches, and this saves the separate add
    three times a layer.  Not on a CPU: there MKL runs a 2-row ``addmm`` (beta = 1) through its
    GEMV kernels, slower on the weight reads than the plain ``x @ W.T`` (its small-GEMM kernel)
    plus one fused elementwise add: 0-3 % of a musicgen-small step (benchmarks/step_cpu.py,
    benchmarks/RESULTS.md).  Quantized layers add afterwards."""
    if ((on_gpu() or ADDMM_ON_CPU) and type(layer) is nn.Linear and "bias" not in layer
            and not wxt_form(h.size // h.shape[-1])):
        return mx.addmm(x, h, layer.weight.T)
    return x + linear(layer, h)


class DecoderLayer(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        d = config.hidden_size
        self.self_attn = SelfAttention(d, config.num_attention_heads)
        self.self_attn_layer_norm = layers.LayerNorm(d, eps=1e-5)
        self.encoder_attn = CrossAttention(d, config.num_attention_heads)
        self.encoder_attn_layer_norm = layers.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, config.ffn_dim, bias=False)
        self.fc2 = nn.Linear(config.ffn_dim, d, bias=False)
        self.final_layer_norm = layers.LayerNorm(d, eps=1e-5)
        self.act = activation(config.activation_function)

    def __call__(self, x, self_mask, cross_kv, cross_mask, cache: "LayerCache | None" = None) -> mx.array:
        x = add_linear(x, self.self_attn.out_proj, self.self_attn.context(self.self_attn_layer_norm(x), self_mask, cache))
        h = self.encoder_attn_layer_norm(x)
        if isinstance(cross_kv, dict):  # projections folded into the text keys/values (crossfold.py)
            x = x + crossfold.attend(h, cross_kv)
        else:
            x = add_linear(x, self.encoder_attn.out_proj, self.encoder_attn.context(h, *cross_kv, cross_mask))
        return add_linear(x, self.fc2, self.act(linear(self.fc1, self.final_layer_norm(x))))


class LayerCache:
    """One layer's self-attention keys and values for the positions of the current window, as one
    (2, batch, heads, window, head_dim) array: one update a step instead of two.

    ``update`` writes this position's keys/values at ``position`` (an int32 scalar array, so a
    compiled step does not retrace as it advances) and returns the whole buffer: attention reads
    the window, later positions masked.  MLX updates the buffer in place when the caller drops
    its references to the old one."""

    def __init__(self, keys_values: mx.array, position: mx.array, offsets: mx.array | None = None):
        self.keys_values = keys_values
        self.position = position
        self.start = mx.reshape(position, (1,))
        #: per row its first slot, for layers.DECODE_ATTENTION (None: that is not in use)
        self.offsets = offsets

    def update(self, keys_values: mx.array) -> mx.array:
        self.keys_values = mx.slice_update(self.keys_values, keys_values, self.start, axes=(3,))
        return self.keys_values


class MusicgenDecoder(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        # +1 row per codebook: the pad / start token (id == vocab_size)
        self.embed_tokens = [nn.Embedding(config.vocab_size + 1, config.hidden_size) for _ in range(config.num_codebooks)]
        self.layers = [DecoderLayer(config) for _ in range(config.num_hidden_layers)]
        self.layer_norm = layers.LayerNorm(config.hidden_size, eps=1e-5)
        # the codebook heads as one (codebooks·vocab, hidden) matrix: one matmul instead of four;
        # ``sanitize`` concatenates the checkpoint's lm_heads.0 .. lm_heads.{K-1}
        self.lm_head = nn.Linear(config.hidden_size, config.num_codebooks * config.vocab_size, bias=False)
        # set by pad_heads_for_fused_attention: the self-attention head width, and the cache
        # marks unwritten keys instead of the step masking them
        self.padded_head_dim: int | None = None
        # note: transformers computes embed_scale from `scale_embedding` but never applies it; neither do we

    def _embed(self, codes: mx.array) -> mx.array:
        """(batch, codebooks, length) → (batch, length, hidden): sum of the codebook embeddings."""
        return sum(embed(codes[:, k]) for k, embed in enumerate(self.embed_tokens))

    def _logits(self, x: mx.array) -> mx.array:
        """(batch, length, hidden) → (batch, codebooks, length, vocab)."""
        B, L, _ = x.shape
        logits = linear(self.lm_head, self.layer_norm(x)).reshape(B, L, self.config.num_codebooks, -1)
        return logits.transpose(0, 2, 1, 3)

    def cross_kv(self, encoder_states: mx.array) -> list[tuple[mx.array, mx.array]]:
        """Cross-attention keys/values for every layer, computed once per generation."""
        return [layer.encoder_attn.keys_values(encoder_states) for layer in self.layers]

    def __call__(
        self, codes: mx.array, encoder_states: mx.array, encoder_mask: mx.array | None = None
    ) -> mx.array:
        """Full-sequence forward (no cache): codes (batch, codebooks, length) int, encoder_states
        (batch, enc_len, hidden) already projected, encoder_mask (batch, enc_len) of 1/0 →
        logits (batch, codebooks, length, vocab)."""
        length = codes.shape[-1]
        x = self._embed(codes) + sinusoidal_positions(length, self.config.hidden_size)
        causal = nn.MultiHeadAttention.create_additive_causal_mask(length)
        cross_mask = None if encoder_mask is None else additive_mask(encoder_mask)
        for layer, kv in zip(self.layers, self.cross_kv(encoder_states)):
            x = layer(x, causal, kv, cross_mask)
        return self._logits(x)

    @property
    def dtype(self) -> mx.Dtype:
        """The activations' dtype: float32, or float16/bfloat16 when the weights were converted
        (oscgen.musicgen.quantize); quantized layers keep float32 activations."""
        return self.layer_norm.weight.dtype

    def new_cache(self, batch: int, length: int) -> list[mx.array]:
        """Self-attention keys/values for ``length`` empty positions: per layer one
        (2, batch, heads, length, head_dim) array, keys first."""
        head_dim = self.padded_head_dim or self.config.head_dim
        shape = (batch, self.config.num_attention_heads, length, head_dim)
        return [self._empty_cache(shape) for _ in self.layers]

    def grow_cache(self, cache: list[mx.array], length: int) -> list[mx.array]:
        """The same keys/values with empty positions appended up to ``length``."""
        _, batch, heads, filled, head_dim = cache[0].shape
        empty = self._empty_cache((batch, heads, length - filled, head_dim))
        return [mx.concatenate([kv, empty], axis=3) for kv in cache]

    def _empty_cache(self, shape: tuple[int, ...]) -> mx.array:
        """Keys and values of unwritten positions: zeros (the step masks them), or with padded
        heads EMPTY_KEY in the key feature that queries hold a constant 1 in
        (pad_heads_for_fused_attention)."""
        values = mx.zeros(shape, dtype=self.dtype)
        if not self.padded_head_dim:
            return mx.stack([values, values])
        row = mx.zeros((shape[-1],), dtype=self.dtype).at[self.config.head_dim].add(EMPTY_KEY)
        return mx.stack([mx.broadcast_to(row, shape), values])

    def step(
        self,
        tokens: mx.array,
        position: mx.array,
        positions_table: mx.array,
        cache: list[mx.array],
        cross_kv: list,
        cross_mask: mx.array | None,
        offsets: mx.array | None = None,
    ) -> tuple[mx.array, list[mx.array]]:
        """One decoding position.

        tokens (batch, codebooks) int32 at ``position`` (int32 scalar array, less than the
        cache's length); the keys/values of this position are written into ``cache`` (updated in
        place when MLX can donate the buffers, i.e. when the caller drops its references) and
        attention reads the cache's whole length, later positions masked.  The cache's length is
        the attention window: the pipeline grows it a block at a time (``grow_cache``), so a
        compiled step sees one fixed shape per window.  ``offsets`` (batch,) int32: per row the
        slot of its own position 0 (rows that joined a running pass, decode_pass.py): its
        position embedding is that of ``position - offset`` and the slots before it are masked.
        Returns logits (batch, codebooks, vocab) and the updated cache.
        """
        window = cache[0].shape[3]
        if offsets is None:
            x = self._embed(tokens[:, :, None]) + positions_table[position][None, None]
        else:
            x = self._embed(tokens[:, :, None]) + positions_table[position - offsets][:, None]
        # with padded heads the cache itself marks what is not written yet (no mask: MLX's fused
        # GPU attention kernels take none; a joined row's slots before its offset were never written)
        if self.padded_head_dim:
            self_mask = None
        elif offsets is None:
            self_mask = (mx.arange(window) <= position)[None, None, None]
        else:
            slots = mx.arange(window)[None]
            self_mask = ((slots <= position) & (slots >= offsets[:, None]))[:, None, None]
        head_dim = self.config.head_dim
        fast = (layers.DECODE_ATTENTION is not None and not self.padded_head_dim and not on_gpu()
                and self.dtype == mx.float32  # the cache's dtype
                and head_dim % 8 == 0 and head_dim <= 256)  # what the kernel takes (_attention.c)
        row_offsets = None if not fast else mx.zeros((x.shape[0],), mx.int32) if offsets is None else offsets
        layer_caches = [LayerCache(keys_values, position, row_offsets) for keys_values in cache]
        for layer, layer_cache, kv in zip(self.layers, layer_caches, cross_kv):
            x = layer(x, self_mask, kv, cross_mask, layer_cache)
        new_cache = [c.keys_values for c in layer_caches]
        return self._logits(x)[:, :, 0], new_cache

    def prefill(
        self,
        codes: mx.array,
        positions_table: mx.array,
        cache: list[mx.array],
        cross_kv: list,
        cross_mask: mx.array | None,
        chunk: int = 256,
    ) -> list[mx.array]:
        """The keys/values of positions 0 .. L-1 written into ``cache`` in forward passes of up
        to ``chunk`` positions instead of L ``step`` calls: codes (batch, codebooks, L) are tokens
        known before decoding (start tokens, an audio prompt's codes); the cache must hold more
        than L positions.  What ``step`` would have written, to float rounding of the batched
        matmuls; no logits (what they predict is known)."""
        length, window = codes.shape[-1], cache[0].shape[3]
        if length >= window:
            raise ValueError(f"a prefill of {length} positions needs a cache longer than that, not {window}")
        for start in range(0, length, chunk):
            part = codes[:, :, start : start + chunk]
            count = part.shape[-1]
            x = self._embed(part) + positions_table[start : start + count][None]
            causal = (mx.arange(window)[None] <= mx.arange(start, start + count)[:, None])[None, None]
            layer_caches = [LayerCache(keys_values, mx.array(start, dtype=mx.int32)) for keys_values in cache]
            for layer, layer_cache, kv in zip(self.layers, layer_caches, cross_kv):
                x = layer(x, causal, kv, cross_mask, layer_cache)
            cache = [c.keys_values for c in layer_caches]
            mx.eval(cache)  # a chunk at a time: its activations are freed before the next
        return cache


def sanitize(weights: dict[str, mx.array]) -> dict[str, mx.array]:
    """transformers ``MusicgenForCausalLM`` keys (``decoder.`` prefix already stripped) → this module."""
    out = {}
    for key, value in weights.items():
        if key.startswith("model.decoder."):
            key = key[len("model.decoder.") :]
        if key.startswith("embed_positions."):  # a non-persistent buffer in transformers; recomputed here
            continue
        out[key] = value
    return fuse_projections(out)


def fuse_projections(weights: dict[str, mx.array]) -> dict[str, mx.array]:
    """Self-attention q/k/v → one ``qkv_proj`` and the codebook heads → one ``lm_head``, rows
    concatenated in the order the modules split them (SelfAttention, MusicgenDecoder._logits)."""
    out = dict(weights)
    for key in [k for k in weights if k.endswith("self_attn.q_proj.weight")]:
        prefix = key[: -len("q_proj.weight")]
        out[prefix + "qkv_proj.weight"] = mx.concatenate([out.pop(f"{prefix}{p}_proj.weight") for p in "qkv"], axis=0)
    heads = sorted((k for k in weights if k.startswith("lm_heads.")), key=lambda k: int(k.split(".")[1]))
    if heads:
        out["lm_head.weight"] = mx.concatenate([out.pop(k) for k in heads], axis=0)
    return out
