"""EnCodec's convolutions as matmuls, channels-last (batch, time, channels), weights (out,
kernel, in): MLX's CPU conv kernels run 5-30x slower than MKL matmuls, so on a CPU every conv of
the SEANet encoder and decoder is one of these (encodec.use_mlx_convs decides)."""

from __future__ import annotations

import mlx.core as mx


def matmul_conv1d(x, weight, bias, dilation: int = 1):
    """Stride-1 conv of (B, L, in) with weight (out, k, in): a sum of k shifted matmuls."""
    kernel = weight.shape[1]
    length = x.shape[1] - (kernel - 1) * dilation
    y = x[:, :length] @ weight[:, 0, :].T
    for j in range(1, kernel):
        y = y + x[:, j * dilation : j * dilation + length] @ weight[:, j, :].T
    return y + bias


def matmul_strided_conv1d(x, weight, bias, stride: int):
    """Strided conv of (B, L, in) with weight (out, k, in), output length (L - k) // stride + 1.

    Output frame n reads samples n*stride .. n*stride + k - 1: blocks n .. n+m-1 of ``stride``
    samples (m = ceil(k / stride), k zero-padded to m*stride), so one matmul of the stacked
    blocks with the flattened weight (the mirror of matmul_conv_transpose1d)."""
    c_out, kernel, c_in = weight.shape
    groups = -(-kernel // stride)
    frames = (x.shape[1] - kernel) // stride + 1
    need = (frames + groups - 1) * stride
    x = x[:, :need] if x.shape[1] >= need else mx.pad(x, [(0, 0), (0, need - x.shape[1]), (0, 0)])
    if groups * stride != kernel:
        weight = mx.pad(weight, [(0, 0), (0, groups * stride - kernel), (0, 0)])
    blocks = x.reshape(x.shape[0], frames + groups - 1, stride * c_in)
    rows = mx.concatenate([blocks[:, g : g + frames] for g in range(groups)], axis=-1)
    return rows @ weight.reshape(c_out, groups * stride * c_in).T + bias


def matmul_conv_transpose1d(x, weight, bias, stride: int):
    """Transposed conv of (B, T, in) with weight (out, k, in), output length (T - 1) * stride + k.

    Output frame n (samples n*stride .. n*stride + stride - 1) takes tap group g of input frame
    n - g, for g < m = ceil(k / stride) (k zero-padded to m*stride): so it is one matmul of the
    rows [x[n], x[n-1], .., x[n-m+1]] (zeros outside) with the m tap groups stacked.  Building
    those rows from the input is a third of the memory traffic of overlap-adding the taps'
    output (EnCodec's decode: 3.35 -> 3.0 s on a 2-core x86-64 CPU)."""
    c_out, kernel, c_in = weight.shape
    groups = -(-kernel // stride)
    if groups * stride != kernel:
        weight = mx.pad(weight, [(0, 0), (0, groups * stride - kernel), (0, 0)])
    batch, frames = x.shape[:2]
    # rows (g, in), columns (r, out): tap g*stride + r of every (in, out) pair
    stacked = weight.reshape(c_out, groups, stride, c_in).transpose(1, 3, 2, 0).reshape(groups * c_in, stride * c_out)
    rows = mx.concatenate([mx.pad(x, [(0, 0), (g, groups - 1 - g), (0, 0)]) for g in range(groups)], axis=-1)
    y = (rows @ stacked).reshape(batch, (frames + groups - 1) * stride, c_out)
    return y[:, : (frames - 1) * stride + kernel] + bias
