"""The decode step's attention on oscgen's CPU kernel (oscgen/_attention.c through the MLX
primitive of oscgen/_mlx_ext.py) and its layer norm primitive against float64 numpy and MLX's own
ops, and a decoder's steps with both against the same steps on MLX's ops."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import _checkpoints as ckpt
from oscgen import _blas, _mlx_ext

pytestmark = pytest.mark.skipif(_blas.router is None or not _blas.router.shim.oscgen_attention_supported(),
                                reason="the kernel is in the BLAS shim (x86-64 with AVX2 + FMA, MKL under MLX)")


def reference(q, kv, position, offsets, scale):
    """float64: softmax over each row's slots offsets[b]..position."""
    out = np.zeros(q.shape, np.float64)
    for b, lo in enumerate(offsets):
        k, v = kv[0, b, :, lo : position + 1].astype(np.float64), kv[1, b, :, lo : position + 1].astype(np.float64)
        s = np.einsum("hd,hjd->hj", q[b].astype(np.float64), k) * scale
        p = np.exp(s - s.max(-1, keepdims=True))
        out[b] = np.einsum("hj,hjd->hd", p / p.sum(-1, keepdims=True), v)
    return out


def kernel(q, kv, position, offsets, scale, threads):
    shim = _blas.router.shim
    with _blas.router.kept():
        _blas.router.own(_blas.router.own_rows, threads)
        out = np.zeros(q.shape, np.float32)
        rows, heads, window, dim = kv.shape[1:]
        shim.oscgen_attention_decode(rows, heads, window, dim, q.ctypes.data, kv.ctypes.data, position,
                                     offsets.ctypes.data, scale, out.ctypes.data)
    return out


@pytest.mark.parametrize("rows, heads, window, dim, position", [
    (2, 16, 512, 64, 300),  # musicgen's heads, a one-take step
    (8, 16, 256, 64, 255),  # four takes, the window's last slot
    (3, 4, 128, 16, 2),  # the tiny model's heads, fewer slots than one vector
    (1, 2, 64, 8, 0),  # the first step: one slot, weight 1
    (2, 3, 256, 128, 200),  # wider heads: two blocks of 64 features
    (2, 2, 64, 24, 40),  # a last block narrower than 64
])
def test_the_kernel_is_softmax_attention_over_each_rows_slots(rows, heads, window, dim, position):
    """To float32 rounding of float64 numpy (each output a weighted mean of values of order 1,
    the weights' exp within 2 ulp: 1e-5 is ~100 ulp), slots outside offsets..position ignored
    even where they hold huge values, and the same bits on 1 and 2 threads (each row and head is
    one thread's work)."""
    rng = np.random.default_rng(rows * 1000 + dim)
    q = (2 * rng.standard_normal((rows, heads, dim))).astype(np.float32)
    kv = rng.standard_normal((2, rows, heads, window, dim)).astype(np.float32)
    offsets = np.array([min(position, 5 * b) for b in range(rows)], dtype=np.int32)
    kv[:, :, :, position + 1 :] = 1e30  # unwritten slots: never read
    for b, lo in enumerate(offsets):
        kv[:, b, :, :lo] = 1e30  # before a joined row's first slot: never read
    one, two = (kernel(q, kv, position, offsets, dim ** -0.5, threads) for threads in (1, 2))
    np.testing.assert_allclose(one, reference(q, kv, position, offsets, dim ** -0.5), rtol=1e-5, atol=1e-6)
    assert np.array_equal(one, two)


def test_the_mlx_op_matches_mlx_attention_compiled_or_not():
    """The primitive, alone and inside mx.compile (how the step runs), gives MLX's masked
    scaled_dot_product_attention to float32 rounding."""
    import mlx.core as mx

    attend = _mlx_ext.decode_attention()
    assert attend is not None, _mlx_ext.MISSING
    mx.random.seed(3)
    q, kv = mx.random.normal((2, 16, 1, 64)), mx.random.normal((2, 2, 16, 384, 64))
    position, offsets = mx.array(300, dtype=mx.int32), mx.array([0, 7], dtype=mx.int32)
    slots = mx.arange(384)[None]
    mask = ((slots <= position) & (slots >= offsets[:, None]))[:, None, None]
    expected = np.array(mx.fast.scaled_dot_product_attention(q, kv[0], kv[1], scale=0.125, mask=mask))
    compiled = mx.compile(lambda q, kv, p, o: attend(q, kv, p, o, 0.125))
    for out in (attend(q, kv, position, offsets, 0.125), compiled(q, kv, position, offsets)):
        np.testing.assert_allclose(np.array(out), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 8"):
        attend(mx.zeros((2, 16, 1, 60)), mx.zeros((2, 2, 16, 8, 60)), position, offsets, 0.125)


def test_the_layer_norm_op_matches_float64_compiled_or_not_and_any_strides():
    """The layer norm primitive against float64 numpy (its statistics are accumulated in double,
    so the error is float32 rounding of the output: 1e-5 relative on values of order 1-10), on
    a decode step's rows, on a transposed view and on a view with a last-axis stride; inside
    mx.compile too.  Not float32 input: a ValueError."""
    import mlx.core as mx

    norm = _mlx_ext.layer_norm()
    assert norm is not None, _mlx_ext.MISSING
    mx.random.seed(4)
    weight, bias = mx.random.normal((1024,)), mx.random.normal((1024,))

    def reference(x):
        x = np.array(x, np.float64)
        centred = x - x.mean(-1, keepdims=True)
        return centred / np.sqrt((centred ** 2).mean(-1, keepdims=True) + 1e-5) * np.array(weight) + np.array(bias)

    compiled = mx.compile(lambda x: norm(x, weight, bias, 1e-5))
    inputs = [mx.random.normal((2, 1, 1024)) * 3 + 1, mx.random.normal((4, 3, 1024)).transpose(1, 0, 2),
              mx.random.normal((3, 2048))[:, ::2]]
    for x in inputs:
        for out in (norm(x, weight, bias, 1e-5), compiled(x)):
            assert out.shape == x.shape
            np.testing.assert_allclose(np.array(out), reference(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="float32"):
        norm(mx.zeros((2, 1024), dtype=mx.float16), weight, bias, 1e-5)


@pytest.mark.parametrize("joined", [False, True])
def test_decoder_steps_on_the_kernels_give_mlx_ops_logits(monkeypatch, joined):
    """A decoder's steps (heads of 16, as the tiny model's) with layers.DECODE_ATTENTION and
    DECODE_LAYER_NORM set give the logits of the same steps on MLX's attention and layer norm,
    rows that joined a running pass (offsets) included; both are float32 sums of a few hundred
    products in their own order: 1e-4 on logits of order 1."""
    import mlx.core as mx

    from oscgen.musicgen import layers

    attend = _mlx_ext.decode_attention()
    assert attend is not None, _mlx_ext.MISSING
    decoder, cross_kv, table, tokens = ckpt.random_step_decoder(width=64, ffn=128, rows=3, window=128, seed=9)
    offsets = mx.array([0, 2, 5], dtype=mx.int32) if joined else None

    def steps(kernel, norm):
        monkeypatch.setattr(layers, "DECODE_ATTENTION", kernel)
        monkeypatch.setattr(layers, "DECODE_LAYER_NORM", norm)
        cache, logits = decoder.new_cache(3, 128), []
        for t in range(8):
            step_tokens = tokens if offsets is None else mx.where((offsets <= t)[:, None], tokens, 0)
            out, cache = decoder.step(step_tokens, mx.array(t, dtype=mx.int32), table, cache, cross_kv, None, offsets)
            logits.append(np.array(out))
        return np.stack(logits)

    norms = []

    def counted_norm(*args):
        norms.append(args[0].shape)
        return _mlx_ext.layer_norm()(*args)

    on_mlx, on_kernel = steps(None, None), steps(attend, counted_norm)
    assert len(norms) == 8 * (3 * 2 + 1)  # every step: three norms a layer and the final one
    assert np.abs(on_mlx).max() > 0.1
    first = 5 if joined else 0  # a joined row's logits before its first slot attend nothing
    np.testing.assert_allclose(on_kernel[first:], on_mlx[first:], rtol=1e-4, atol=1e-4)


def test_doctor_says_where_attention_runs():
    from oscgen import doctor

    check = doctor.check_attention()
    assert (check.status, check.name) == (doctor.OK, "attention"), check.line()
    assert "oscgen's kernel" in check.detail


def test_an_extension_that_does_not_take_mlx_arrays_is_not_used(monkeypatch):
    """An MLX wheel bound with another nanobind would reject mx.array (TypeError): the load's
    smoke call catches it, MLX's attention runs and doctor says why."""
    def rejects(*args):
        raise TypeError("decode_attention(): incompatible function arguments")

    monkeypatch.setattr(_mlx_ext, "_module", None)
    monkeypatch.setattr(_mlx_ext, "MISSING", "not loaded yet")
    monkeypatch.setattr(_mlx_ext, "_smoke", lambda attend: rejects())
    assert _mlx_ext.decode_attention() is None
    assert _mlx_ext.MISSING.startswith("TypeError: decode_attention(): incompatible")
