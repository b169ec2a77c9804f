"""EnCodec decoder parity with transformers' EncodecModel.decode on tiny random models."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mlx.core as mx  # noqa: E402

from oscgen.musicgen import encodec, encodec_lstm  # noqa: E402
from oscgen.musicgen.encodec import (  # noqa: E402
    EncodecDecoder, matmul_conv1d, matmul_conv_transpose1d, pad1d, sanitize,
)
from tests._io_fixtures import state_dict_numpy, to_hub_weight_norm, torch_encodec  # noqa: E402


def _reference_audio(model, codes: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model.decode(torch.from_numpy(codes).long()[None], [None])
    return out.audio_values.numpy()


def _mlx_decoder(model, hub_layout: bool) -> EncodecDecoder:
    weights = state_dict_numpy(model)
    if hub_layout:
        weights = to_hub_weight_norm(weights)
    decoder = EncodecDecoder(model.config.to_dict())
    decoder.load_weights(list(sanitize({k: mx.array(v) for k, v in weights.items()}).items()), strict=True)
    return decoder


def _random_codes(batch, codebooks, frames, seed=0):
    return np.random.default_rng(seed).integers(0, 2048, size=(batch, codebooks, frames)).astype(np.int32)


@pytest.fixture(params=["matmul", "mlx"])
def conv_impl(request, monkeypatch):
    """Runs the test as a CPU decodes (the matmul forms of the convs, ELU and the LSTM's loop in
    numpy), then as a GPU does (MLX's conv ops, ELU and LSTM cell kernels)."""
    monkeypatch.setattr(encodec, "CONV_IMPL", request.param)
    monkeypatch.setattr(encodec_lstm, "NUMPY_ON_CPU", request.param == "matmul")
    return request.param


@pytest.mark.usefixtures("conv_impl")
@pytest.mark.parametrize("hub_layout", [False, True], ids=["parametrizations", "weight_g_v"])
def test_decode_matches_transformers(hub_layout):
    model = torch_encodec(seed=1)
    codes = _random_codes(2, 4, 23)
    expected = _reference_audio(model, codes)
    audio = np.array(_mlx_decoder(model, hub_layout).decode(mx.array(codes)))
    assert audio.shape == expected.shape == (2, 1, 23 * 640)
    assert np.abs(expected).max() > 1e-2  # a real signal, not a trivially matching zero
    np.testing.assert_allclose(audio, expected, rtol=1e-4, atol=2e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
    "overrides",
    [
        dict(use_causal_conv=True, pad_mode="constant", use_conv_shortcut=True),
        dict(use_causal_conv=True, trim_right_ratio=0.5, num_residual_layers=2),
        dict(norm_type="time_group_norm", use_conv_shortcut=True),
    ],
    ids=["causal-constant-shortcut", "causal-trim-half", "group-norm"],
)
@pytest.mark.usefixtures("conv_impl")
def test_decode_matches_transformers_other_configs(overrides):
    model = torch_encodec(seed=2, **overrides)
    codes = _random_codes(1, 4, 9, seed=3)
    expected = _reference_audio(model, codes)
    audio = np.array(_mlx_decoder(model, hub_layout=False).decode(mx.array(codes)))
    np.testing.assert_allclose(audio, expected, rtol=1e-4, atol=2e-5 * np.abs(expected).max())


@pytest.mark.usefixtures("conv_impl")
@pytest.mark.parametrize("frames", [1, 2, 3])
def test_decode_very_short_inputs(frames):
    # reflect padding of inputs shorter than the pad goes through transformers' zero-extension path
    model = torch_encodec(seed=4)
    codes = _random_codes(1, 4, frames, seed=frames)
    expected = _reference_audio(model, codes)
    audio = np.array(_mlx_decoder(model, hub_layout=True).decode(mx.array(codes)))
    np.testing.assert_allclose(audio, expected, rtol=1e-4, atol=2e-5 * np.abs(expected).max())


@pytest.mark.usefixtures("conv_impl")
def test_fewer_codebooks_than_quantizers_use_the_first_ones():
    model = torch_encodec(seed=5)
    codes = _random_codes(1, 2, 7)
    expected = _reference_audio(model, codes)
    audio = np.array(_mlx_decoder(model, hub_layout=True).decode(mx.array(codes)))
    np.testing.assert_allclose(audio, expected, rtol=1e-4, atol=2e-5 * np.abs(expected).max())


def test_reflect_pad_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32)
    for left, right in [(0, 0), (3, 2), (5, 0), (0, 5), (4, 4)]:
        ref = torch.nn.functional.pad(torch.from_numpy(x).transpose(1, 2), (left, right), mode="reflect")
        ours = np.array(pad1d(mx.array(x), left, right, "reflect"))
        np.testing.assert_array_equal(ours, ref.transpose(1, 2).numpy())


def test_sanitize_keeps_only_decoder_parameters():
    weights = {k: mx.array(v) for k, v in to_hub_weight_norm(state_dict_numpy(torch_encodec())).items()}
    clean = sanitize(weights)
    assert not any(k.startswith("encoder.") for k in clean)
    assert not any(k.endswith(("weight_g", "weight_v", "embed_avg", "cluster_size", "inited")) for k in clean)
    decoder = EncodecDecoder(torch_encodec().config.to_dict())
    from mlx.utils import tree_flatten

    assert set(clean) == {k for k, _ in tree_flatten(decoder.parameters())}


def test_bad_codes_are_rejected_with_a_clear_error():
    decoder = _mlx_decoder(torch_encodec(), hub_layout=True)
    with pytest.raises(ValueError, match=r"\[0, 2048\)"):
        decoder.decode(mx.array(np.full((1, 4, 3), 2048, np.int32)))
    with pytest.raises(ValueError, match="codebooks"):
        decoder.decode(mx.zeros((1, 5, 3), dtype=mx.int32))
    with pytest.raises(ValueError, match="batch, codebooks, frames"):
        decoder.decode(mx.zeros((4, 3), dtype=mx.int32))


def test_half_of_a_weight_norm_pair_is_an_error():
    weights = {k: mx.array(v) for k, v in to_hub_weight_norm(state_dict_numpy(torch_encodec())).items()}
    del weights["decoder.layers.0.conv.weight_v"]
    with pytest.raises(ValueError, match="decoder.layers.0.conv.weight"):
        sanitize(weights)


def _check_against_torch(ours_fn, torch_fn, x, weight_torch, weight_ours, bias, **kwargs):
    """Run one conv helper and its torch.nn.functional counterpart (NCL layout) on the same data."""
    ref = torch_fn(torch.from_numpy(x).transpose(1, 2), torch.from_numpy(weight_torch), torch.from_numpy(bias),
                   **kwargs).transpose(1, 2).numpy()
    ours = np.array(ours_fn(mx.array(x), mx.array(weight_ours), mx.array(bias), *kwargs.values()))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel, stride", [(8, 4), (10, 5), (7, 3), (3, 3), (2, 1)])
def test_matmul_transposed_conv_matches_torch(kernel, stride):
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 11, 6)).astype(np.float32)
    w = rng.standard_normal((6, 5, kernel)).astype(np.float32)  # torch layout (in, out, k)
    b = rng.standard_normal(5).astype(np.float32)
    _check_against_torch(matmul_conv_transpose1d, torch.nn.functional.conv_transpose1d, x, w, w.transpose(1, 2, 0), b,
                         stride=stride)


@pytest.mark.parametrize("kernel, dilation", [(1, 1), (3, 1), (3, 2), (7, 1), (3, 4)])
def test_matmul_conv_matches_torch(kernel, dilation):
    rng = np.random.default_rng(kernel * 10 + dilation)
    x = rng.standard_normal((2, 20, 6)).astype(np.float32)
    w = rng.standard_normal((5, 6, kernel)).astype(np.float32)  # torch layout (out, in, k)
    b = rng.standard_normal(5).astype(np.float32)
    _check_against_torch(matmul_conv1d, torch.nn.functional.conv1d, x, w, w.transpose(0, 2, 1), b, dilation=dilation)


@pytest.mark.parametrize("kernel, dilation", [(3, 2), (3, 4), (7, 3)])
def test_matmul_conv_matches_mlx_conv(kernel, dilation):
    rng = np.random.default_rng(kernel * 10 + dilation)
    x, w, b = (mx.array(rng.standard_normal(shape).astype(np.float32)) for shape in [(2, 30, 6), (5, kernel, 6), (5,)])
    expected = mx.conv1d(x, w, dilation=dilation) + b
    np.testing.assert_allclose(np.array(matmul_conv1d(x, w, b, dilation)), np.array(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel, stride", [(8, 4), (10, 5), (7, 3), (5, 2)])
def test_matmul_transposed_conv_matches_mlx_conv(kernel, stride):
    rng = np.random.default_rng(kernel * 10 + stride)
    x, w, b = (mx.array(rng.standard_normal(shape).astype(np.float32)) for shape in [(2, 11, 6), (5, kernel, 6), (5,)])
    expected = mx.conv_transpose1d(x, w, stride=stride) + b
    np.testing.assert_allclose(np.array(matmul_conv_transpose1d(x, w, b, stride)), np.array(expected),
                               rtol=1e-5, atol=1e-5)


def test_mlx_convs_and_matmul_convs_decode_the_same_audio(monkeypatch):
    # two residual layers, so dilated (dilation 2) convs are compared too
    decoder = _mlx_decoder(torch_encodec(seed=6, num_residual_layers=2), hub_layout=True)
    codes = mx.array(_random_codes(2, 4, 17, seed=6))
    audio = {}
    for impl in ("matmul", "mlx"):
        monkeypatch.setattr(encodec, "CONV_IMPL", impl)
        audio[impl] = np.array(decoder.decode(codes))
    scale = np.abs(audio["matmul"]).max()
    assert scale > 1e-2  # a real signal, not a trivially matching zero
    np.testing.assert_allclose(audio["mlx"], audio["matmul"], rtol=0, atol=1e-4 * scale)


def test_auto_uses_mlx_convs_only_when_the_default_device_is_a_gpu(monkeypatch):
    monkeypatch.setattr(encodec, "CONV_IMPL", "auto")
    for device, expected in [(mx.Device(mx.cpu), False), (mx.Device(mx.gpu), True)]:
        monkeypatch.setattr(mx, "default_device", lambda device=device: device)
        assert encodec.use_mlx_convs() is expected
    monkeypatch.setattr(encodec, "CONV_IMPL", "cudnn")
    with pytest.raises(ValueError, match="CONV_IMPL"):
        encodec.use_mlx_convs()
