"""1-D convolutions as matrix products, for EnCodec's decoder.

MLX's CPU convolutions take a slow generic path for most of EnCodec's shapes: on a 10 s job its
four strided transposed convs alone took ~80 s on an x86-64 CPU, against ~1 s for the whole
decoder in torch.  Written as matmuls (which run on the BLAS) they are memory-bound again:

- ``conv1d``: stride-1 (dilated) conv as a sum over kernel taps, one ``(T, in) @ (in, out)``
  product per tap on a shifted view of the input;
- ``conv_transpose1d``: one ``(T, in) @ (in, kernel*out)`` product, then overlap-add of the
  kernel's ``stride``-sized pieces (EnCodec's kernels are exactly 2 x stride).

Weights are MLX's layouts: conv ``(out, kernel, in)``, transposed conv ``(out, kernel, in)``.
Both equal ``mx.conv1d`` / ``mx.conv_transpose1d`` (padding 0) to float32 rounding.
"""

from __future__ import annotations

import mlx.core as mx


def conv1d(x: mx.array, weight: mx.array, dilation: int = 1) -> mx.array:
    """Valid stride-1 conv: x (batch, time, in), weight (out, kernel, in) →
    (batch, time - (kernel - 1) * dilation, out)."""
    kernel = weight.shape[1]
    length = x.shape[1] - (kernel - 1) * dilation
    if length < 1:
        raise ValueError(f"conv1d input of {x.shape[1]} samples is shorter than the kernel span")
    y = None
    for tap in range(kernel):
        start = tap * dilation
        term = x[:, start : start + length] @ weight[:, tap].T
        y = term if y is None else y + term
    return y


def conv_transpose1d(x: mx.array, weight: mx.array, stride: int) -> mx.array:
    """Transposed conv, padding 0: x (batch, time, in), weight (out, kernel, in) →
    (batch, (time - 1) * stride + kernel, out)."""
    batch, length, _ = x.shape
    out_channels, kernel, in_channels = weight.shape
    pieces = -(-kernel // stride)
    if pieces * stride != kernel:  # pad the kernel to a whole number of strides
        weight = mx.pad(weight, [(0, 0), (0, pieces * stride - kernel), (0, 0)])
    # rows ordered (tap, out): input frame t adds z[t, tap] to output sample t * stride + tap
    flat = weight.transpose(1, 0, 2).reshape(pieces * stride * out_channels, in_channels)
    z = (x @ flat.T).reshape(batch, length, pieces, stride * out_channels)
    y = None
    for p in range(pieces):
        piece = z[:, :, p].reshape(batch, length * stride, out_channels)
        piece = mx.pad(piece, [(0, 0), (p * stride, (pieces - 1 - p) * stride), (0, 0)])
        y = piece if y is None else y + piece
    return y[:, : (length - 1) * stride + kernel]
