"""EnCodec's LSTM (the SEANet decoder's and encoder's, with its skip connection): the input
gates for every frame in one matmul, then the time loop, one recurrent product a frame, in
numpy on a CPU and as compiled MLX cells on a GPU."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from oscgen.musicgen.layers import on_gpu

# Whether a CPU runs ELU and the LSTM's time loop in numpy (_elu_numpy, _recurrence_numpy); tests
# turn it off to check on a CPU the MLX kernels a GPU runs.
NUMPY_ON_CPU = True


def use_numpy(x: mx.array) -> bool:
    """Whether ``x``'s ELU or LSTM loop runs in numpy: float32 on a CPU (NUMPY_ON_CPU)."""
    return NUMPY_ON_CPU and not on_gpu() and x.dtype == mx.float32


def _gates_cell(gates, cell):
    i, f, g, o = mx.split(gates, 4, axis=-1)
    cell = mx.sigmoid(f) * cell + mx.sigmoid(i) * mx.tanh(g)
    return mx.sigmoid(o) * mx.tanh(cell), cell


@mx.compile
def _lstm_cell_addmm(gates_x, hidden, cell, w_hh):
    return _gates_cell(mx.addmm(gates_x, hidden, w_hh.T), cell)


@mx.compile
def _lstm_cell_add(gates_x, hidden, cell, w_hh):
    return _gates_cell(gates_x + hidden @ w_hh.T, cell)


def _lstm_cell(gates_x, hidden, cell, w_hh):
    """One LSTM step, PyTorch's gate order (i, f, g, o): one matmul and one fused elementwise
    kernel.  nn.LSTM's step is ~9 separate kernels, and EnCodec runs 2 × 500 of these steps
    one after another for 10 s of audio: on a GPU, where every kernel costs host time, that
    was most of the decode, and the input gates accumulate inside the GEMM (``addmm``).  On a
    CPU the separate add is faster: MKL's one-row beta=1 GEMM reads the 16 MB recurrent weight
    slower than the plain product (~8 % of the LSTM, same result bit for bit).  A CPU's
    float32 LSTM runs its time loop in numpy instead (_recurrence_numpy)."""
    return (_lstm_cell_addmm if on_gpu() else _lstm_cell_add)(gates_x, hidden, cell, w_hh)


def _recurrence_numpy(gates: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """The LSTM's time loop in numpy, for a CPU: each step is a one-row product with the 16 MB
    recurrent weight, which numpy sends to OpenBLAS's GEMV (~0.14 ms from the cache) while
    MLX's one-row GEMM and its per-op dispatch take ~0.45 ms a step, and EnCodec runs 2 x 500
    such steps for 10 s of audio (one layer: 224 vs 89 ms; 2-core AMD EPYC, 2026-12-02)."""
    batch, steps, _ = gates.shape
    hidden = np.zeros((batch, w_hh.shape[1]), np.float32)
    cell = hidden
    out = np.empty((batch, steps, hidden.shape[1]), np.float32)
    for t in range(steps):
        z = gates[:, t] + hidden @ w_hh.T
        i, f, g, o = np.split(z, 4, axis=-1)
        cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(g)
        hidden = out[:, t] = _sigmoid(o) * np.tanh(cell)
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm(layer: nn.LSTM, x: mx.array) -> mx.array:
    """``layer`` over (batch, time, dim) from a zero state → the hidden states (batch, time, dim)."""
    gates = x @ layer.Wx.T if "bias" not in layer else mx.addmm(layer.bias, x, layer.Wx.T)
    if use_numpy(gates):
        return mx.array(_recurrence_numpy(np.asarray(gates), np.asarray(layer.Wh)))
    hidden = mx.zeros((x.shape[0], layer.Wh.shape[1]), dtype=x.dtype)
    cell = hidden
    outputs = []
    for t in range(x.shape[1]):
        hidden, cell = _lstm_cell(gates[:, t], hidden, cell, layer.Wh)
        outputs.append(hidden)
    return mx.stack(outputs, axis=1)


class LSTM(nn.Module):
    """Stacked LSTM over time with a skip connection around it."""

    def __init__(self, dim: int, num_layers: int):
        super().__init__()
        self.lstm = [nn.LSTM(dim, dim) for _ in range(num_layers)]

    def __call__(self, x):
        h = x
        for layer in self.lstm:
            h = lstm(layer, h)
        return h + x
