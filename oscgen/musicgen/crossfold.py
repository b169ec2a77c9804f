"""Cross-attention of a decode step with the projections folded into the text keys/values.

Per step and layer, cross-attention reads its query and output projections (2·d² weights, a
quarter of the layer) to attend over a handful of text positions.  Both are linear in what the
job fixes once, so they fold into per-job matrices, exactly (up to float rounding):

    score[h, j] = (Wq_h x) · k[h, j] · s  = x · A[:, (h, j)]     A[:, (h, j)] = s · Wq_hᵀ k[h, j]
    output      = Σ_h Wo_h Σ_j p[h, j] v[h, j] = Bᵀ p              Bᵀ[:, (h, j)] = Wo_h v[h, j]

A and Bᵀ hold ``heads × text positions`` columns/rows instead of ``d``: with a 16-token (padded)
prompt and 16 heads that is 256 instead of 1024, so the step reads a quarter of those bytes.
The unconditional CFG row attends over all-zero text states: its keys and values are zero (the
projections have no bias), so its cross-attention output is exactly zero and is not computed.

Used by the pipeline when it pays (``heads × text positions`` well under ``d``) and the
projections are plain (not quantized) linears; otherwise the step attends as usual.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn


def worth_folding(decoder, text_length: int) -> bool:
    """Fold when it reads at most half the bytes and the projections are plain linears."""
    config = decoder.config
    layer = decoder.layers[0].encoder_attn
    plain = type(layer.q_proj) is nn.Linear and type(layer.out_proj) is nn.Linear
    return plain and 2 * config.num_attention_heads * text_length <= config.hidden_size


def fold(attention, keys: mx.array, values: mx.array, mask: mx.array | None) -> dict[str, mx.array]:
    """One layer's folded cross-attention for the conditional row.

    ``keys``/``values``: (batch, heads, text, head_dim) from ``Attention.keys_values``, row 0 the
    conditional one; ``mask``: additive (batch, 1, 1, text) or None."""
    heads, text, head_dim = keys.shape[1:]
    d = attention.q_proj.weight.shape[1]
    wq = attention.q_proj.weight.reshape(heads, head_dim, d)  # Wq_h: rows h*hd..(h+1)*hd
    wo = attention.out_proj.weight.reshape(d, heads, head_dim).transpose(1, 0, 2)  # Wo_h: (d, hd), row-major views
    k, v = keys[0], values[0]  # (heads, text, head_dim)
    a = (k @ wq) * attention.scale  # (heads, text, d): row (h, j) = s · k[h, j]ᵀ Wq_h
    # column (h, j) of Bᵀ = Wo_h v[h, j]; built as (heads, d, text) so Wo is read in place (a
    # transposed copy of Wo costs more than the whole fold)
    bt = (wo @ v.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(d, heads * text)
    additive = mx.zeros((heads, text), dtype=a.dtype) if mask is None else mx.broadcast_to(mask[0, 0], (heads, text))
    conditional = (mx.arange(keys.shape[0]) == 0)[:, None, None]  # (batch, 1, 1): row 0 only
    # both kept in the (out, in) layout and used transposed, x @ Wᵀ: the layout MKL streams fastest
    # ("a_rows": the same buffer untransposed, for the CUDA layer kernel's row-major GEMV)
    a_rows = a.reshape(heads * text, d)
    return {"a": a_rows.T, "a_rows": a_rows, "bt": mx.contiguous(bt), "mask": additive.astype(a.dtype),
            "conditional": conditional}


def attend(x: mx.array, folded: dict[str, mx.array]) -> mx.array:
    """x (batch, 1, d) normed hidden states, row 0 conditional (row 1, if any, unconditional)
    → the cross-attention output (batch, 1, d).

    Every row goes through the same two matmuls (a second row costs no extra weight reads) and
    the unconditional one is zeroed by a select that fuses into the residual add: fewer kernels
    than slicing out row 0 and concatenating zeros back, which counts on a GPU."""
    heads, text = folded["mask"].shape
    B = x.shape[0]
    scores = (x @ folded["a"]).reshape(B, heads, text) + folded["mask"]
    probs = mx.softmax(scores, axis=-1, precise=True)  # float32 inside whatever the dtype
    out = probs.reshape(B, 1, heads * text) @ folded["bt"].T
    return mx.where(folded["conditional"], out, 0)
