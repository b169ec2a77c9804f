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

from oscgen.musicgen.layers import matmul_t


def worth_folding(decoder, text_length: int, texts: int = 1) -> bool:
    """Fold when it reads at most half the bytes and the projections are plain linears; with
    ``texts`` different prompts in a batch each brings its own folded matrices."""
    config = decoder.config
    layer = decoder.layers[0].encoder_attn
    plain = type(layer.q_proj) is nn.Linear and type(layer.out_proj) is nn.Linear
    return plain and 2 * config.num_attention_heads * text_length * texts <= config.hidden_size


def fold(attention, keys: mx.array, values: mx.array, mask: mx.array | None, *, conditional: int = 1,
         texts: int = 1) -> dict[str, mx.array]:
    """One layer's folded cross-attention for the first ``conditional`` rows (the rest are
    unconditional: zero text states).

    ``keys``/``values``: (rows, heads, text, head_dim) from ``Attention.keys_values``, of which
    only the first ``texts`` rows are read (so a caller need not project the others); ``mask``:
    additive (batch, 1, 1, text) or None.  The step's batch is the mask's (else the keys').
    With ``texts == 1`` every conditional row has the text of row 0 (one take, or variations of
    one prompt): one folded pair serves them all.  Otherwise (``texts == conditional``) each
    conditional row has its own text and the matrices get a leading ``texts`` axis."""
    if texts not in (1, conditional):
        raise ValueError(f"fold: texts must be 1 or conditional ({conditional}), got {texts}")
    heads, text, head_dim = keys.shape[1:]
    d = attention.q_proj.weight.shape[1]
    wq = attention.q_proj.weight.reshape(heads, head_dim, d)  # Wq_h: rows h*hd..(h+1)*hd
    wo = attention.out_proj.weight.reshape(d, heads, head_dim).transpose(1, 0, 2)  # Wo_h: (d, hd), row-major views
    k, v = keys[:texts], values[:texts]  # (texts, heads, text, head_dim)
    a = (k @ wq) * attention.scale  # (texts, heads, text, d): row (h, j) = s · k[h, j]ᵀ Wq_h
    # column (h, j) of Bᵀ = Wo_h v[h, j]; built as (heads, d, text) so Wo is read in place (a
    # transposed copy of Wo costs more than the whole fold)
    bt = (wo @ v.swapaxes(-1, -2)).transpose(0, 2, 1, 3).reshape(texts, d, heads * text)
    if mask is None:
        additive = mx.zeros((texts, heads, text), dtype=a.dtype)
    else:
        additive = mx.broadcast_to(mask[:texts, 0], (texts, heads, text))
    a = a.reshape(texts, heads * text, d)
    if texts == 1:
        a, bt, additive = a[0], bt[0], additive[0]
    # both kept in the (out, in) layout and used transposed, x @ Wᵀ (layers.matmul_t); the
    # CUDA layer kernel reads the shared-text ``a`` row-major as it is
    batch = keys.shape[0] if mask is None else mask.shape[0]
    rows = (mx.arange(batch) < conditional)[:, None, None]  # (batch, 1, 1)
    return {"a": a, "bt": mx.contiguous(bt), "mask": additive.astype(a.dtype), "conditional": rows}


def attend(x: mx.array, folded: dict) -> mx.array:
    """x (batch, 1, d) normed hidden states, conditional rows first → the cross-attention output
    (batch, 1, d); the other (unconditional) rows get exactly zero.

    With one shared text every row goes through the same two matmuls (a second row costs no
    extra weight reads) and the unconditional ones are zeroed by a select that fuses into the
    residual add: fewer kernels than slicing and concatenating, which counts on a GPU.  With a
    text per take the conditional rows go through their own matrices (batched matmuls)."""
    B, L, d = x.shape
    if folded["a"].ndim == 2:  # one text for every conditional row
        heads, text = folded["mask"].shape
        scores = matmul_t(x, folded["a"]).reshape(B, L, heads, text) + folded["mask"]
        probs = mx.softmax(scores, axis=-1, precise=True)  # float32 inside whatever the dtype
        out = matmul_t(probs.reshape(B, L, heads * text), folded["bt"])
        return mx.where(folded["conditional"], out, 0)
    texts, heads, text = folded["mask"].shape
    scores = (x[:texts] @ folded["a"].swapaxes(-1, -2)).reshape(texts, L, heads, text) + folded["mask"][:, None]
    probs = mx.softmax(scores, axis=-1, precise=True)
    out = probs.reshape(texts, L, heads * text) @ folded["bt"].swapaxes(-1, -2)
    return mx.concatenate([out, mx.zeros((B - texts, L, d), dtype=out.dtype)]) if B > texts else out

