"""Small pieces shared by the text encoder and the decoder."""

from __future__ import annotations

from functools import partial

import mlx.core as mx
import mlx.nn as nn

# erf as the rational function XLA and Eigen use for float32 (x·P(x²)/Q(x²) on [-4, 4]; error
# ~1e-7, float32 rounding): MLX's CPU erf is scalar, ~22 ns an element, 4.4 ms of every
# musicgen-small decode step; this compiles into the step's fused elementwise kernel (~0.7 ms).
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02)


def _erf(x: mx.array) -> mx.array:
    x = mx.clip(x, -4.0, 4.0)
    x2 = x * x
    p = mx.array(_ERF_P[0], dtype=x.dtype)
    for c in _ERF_P[1:]:
        p = p * x2 + c
    q = mx.array(_ERF_Q[0], dtype=x.dtype)
    for c in _ERF_Q[1:]:
        q = q * x2 + c
    return x * p / q


def on_gpu() -> bool:
    """Whether MLX runs on a GPU now (kernels are chosen when a function is traced)."""
    return mx.default_device().type == mx.gpu


@partial(mx.compile, shapeless=True)
def _gelu_rational(x: mx.array) -> mx.array:
    return 0.5 * x * (1.0 + _erf(x * 0.7071067811865476))


@partial(mx.compile, shapeless=True)
def _gelu_erf(x: mx.array) -> mx.array:
    return 0.5 * x * (1.0 + mx.erf(x * 0.7071067811865476))


def gelu(x: mx.array) -> mx.array:
    """Exact (erf) GELU, transformers' "gelu", to float32 rounding.  On a GPU MLX's own erf fuses
    into one kernel; the rational erf's dozen constants split it into four (a decode step there
    is bound by kernel launches), while on a CPU the rational form is the fast one."""
    return _gelu_erf(x) if on_gpu() else _gelu_rational(x)


# transformers' ACT2FN names → MLX functions with the same maths
_ACTIVATIONS = {
    "gelu": gelu,  # exact (erf)
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


# On a CPU the same weight streams at different speeds as x @ Wᵀ and as (W @ xᵀ)ᵀ, depending on
# the host, the BLAS and the row count (a 2-core AMD EPYC with MKL on 2 threads: one take 67 vs
# 44 ms a pass over musicgen-small's decoder; an Intel Xeon: x @ Wᵀ for one take, (W @ xᵀ)ᵀ from
# four; benchmarks/RESULTS.md).  So the row counts that run as (W @ xᵀ)ᵀ are measured per host
# (oscgen/gemm_plan.py) and set here when a model loads: inclusive (lo, hi) ranges, empty until a
# calibration has said.  A GPU's GEMMs have no such cliff: x @ Wᵀ there.
WXT_ROWS: tuple[tuple[int, int], ...] = ()
# Inclusive (lo, hi, to): linears over lo..hi rows run on ``to`` rows, zeros below theirs, where
# the plan measured that larger count streaming the weights faster (MKL on a 2-core AMD EPYC:
# 8 rows 136 ms a pass, 16 rows 99).  Also set when a model loads; empty until calibrated.
PAD_ROWS: tuple[tuple[int, int, int], ...] = ()


# One query position's self-attention on a CPU, ``(q, kv, position, offsets, scale) → out``
# (oscgen/_mlx_ext.py: the keys and values of a row's filled slots read once, exp in 8 lanes),
# set when a model loads where it built; None: MLX's attention over the whole window.
DECODE_ATTENTION = None
# A float32 layer norm as one CPU op, ``(x, weight, bias, eps) → out`` (oscgen/_mlx_ext.py), set
# with DECODE_ATTENTION; None: MLX's (six ops, two of them reductions).  For rows up to
# DECODE_NORM_ROWS (decode steps: its loops are scalar, and a prompt's prefill has thousands).
DECODE_LAYER_NORM = None
DECODE_NORM_ROWS = 64


class LayerNorm(nn.LayerNorm):
    """nn.LayerNorm (same parameters), as one op on a CPU decode step where DECODE_LAYER_NORM is set."""

    def __call__(self, x: mx.array) -> mx.array:
        if (DECODE_LAYER_NORM is not None and "weight" in self and "bias" in self
                and x.dtype == self.weight.dtype == self.bias.dtype == mx.float32  # a float16 decoder's: MLX's
                and x.size <= DECODE_NORM_ROWS * x.shape[-1] and not on_gpu()):
            return DECODE_LAYER_NORM(x, self.weight, self.bias, self.eps)
        return super().__call__(x)


def wxt_form(rows: int) -> bool:
    """Whether a linear over ``rows`` rows runs as (W @ xᵀ)ᵀ (decided when a step is traced)."""
    return not on_gpu() and any(lo <= rows <= hi for lo, hi in WXT_ROWS)


def padded_rows(rows: int) -> int:
    """The row count a CPU linear over ``rows`` rows runs at (PAD_ROWS), ``rows`` itself mostly."""
    if on_gpu():
        return rows
    return next((to for lo, hi, to in PAD_ROWS if lo <= rows <= hi and to > rows), rows)


def matmul_t(x: mx.array, weight: mx.array) -> mx.array:
    """x (..., in) @ weightᵀ for a (out, in) weight, in the cheaper GEMM form for x's row count
    (padded with zero rows where the plan says: each row's result is its own either way)."""
    rows = x.size // x.shape[-1]
    runs = padded_rows(rows)
    if runs == rows and not wxt_form(rows):
        return x @ weight.T
    flat = x.reshape(rows, -1)
    if runs > rows:
        flat = mx.pad(flat, [(0, runs - rows), (0, 0)])
    y = (weight @ flat.T).T if wxt_form(runs) else flat @ weight.T
    return y[:rows].reshape(*x.shape[:-1], weight.shape[0])


def linear(layer: nn.Module, x: mx.array) -> mx.array:
    """``layer(x)`` with matmul_t's GEMM form; quantized layers as they are."""
    rows = x.size // x.shape[-1]
    if type(layer) is not nn.Linear or not (wxt_form(rows) or padded_rows(rows) != rows):
        return layer(x)
    y = matmul_t(x, layer.weight)
    return y + layer.bias if "bias" in layer else y


def additive_mask(mask: mx.array) -> mx.array:
    """(batch, length) 1/0 keep-mask → additive (batch, 1, 1, length) for attention scores.

    Masked keys get the most negative float32 (transformers' convention): a fully masked row stays
    finite and averages its values instead of turning into NaN.  MusicGen relies on that for the
    unconditional CFG row, whose keys/values are all zero."""
    return ((1.0 - mask.astype(mx.float32)) * mx.finfo(mx.float32).min)[:, None, None, :]
