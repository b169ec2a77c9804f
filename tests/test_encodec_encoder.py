"""EnCodec encoder parity with transformers' EncodecModel.encode on tiny random models."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mlx.core as mx  # noqa: E402
from mlx.utils import tree_flatten  # noqa: E402

from oscgen.musicgen import encodec  # noqa: E402
from oscgen.musicgen.encodec import EncodecDecoder, matmul_strided_conv1d, sanitize  # noqa: E402
from oscgen.musicgen.encodec_encoder import EncodecEncoder, bandwidth_codebooks  # noqa: E402
from tests._io_fixtures import state_dict_numpy, to_hub_weight_norm, torch_encodec  # noqa: E402


def _mlx_codec(model, hub_layout: bool = True):
    weights = state_dict_numpy(model)
    if hub_layout:
        weights = to_hub_weight_norm(weights)
    weights = {k: mx.array(v) for k, v in weights.items()}
    config = model.config.to_dict()
    encoder, decoder = EncodecEncoder(config), EncodecDecoder(config)
    encoder.load_weights(list(sanitize(weights, "encoder").items()), strict=True)
    decoder.load_weights(list(sanitize(weights).items()), strict=True)
    return encoder, decoder


def _audio(batch, samples, seed=0, channels=1):
    return (0.3 * np.random.default_rng(seed).standard_normal((batch, channels, samples))).astype(np.float32)


def _reference(model, audio):
    """transformers' codes, its embeddings, and along its own residual path at every (batch,
    codebook, frame) the squared distance to the nearest code and the gap to the second nearest:
    how far from a tie each choice was."""
    with torch.no_grad():
        x = torch.from_numpy(audio)
        codes = model.encode(x).audio_codes[0].numpy()
        embeddings = model.encoder(x)
        residual = embeddings.permute(0, 2, 1)
        gaps, nearest = [], []
        for k in range(codes.shape[1]):
            embed = model.quantizer.layers[k].codebook.embed
            dist = torch.cdist(residual, embed[None]) ** 2
            two = torch.topk(dist, 2, dim=-1, largest=False).values
            gaps.append((two[..., 1] - two[..., 0]).numpy())
            nearest.append(two[..., 0].numpy())
            residual = residual - embed[torch.from_numpy(codes[:, k]).long()]
    return codes, embeddings.numpy().transpose(0, 2, 1), np.stack(gaps, axis=1), np.stack(nearest, axis=1)


@pytest.fixture(params=["matmul", "mlx"])
def conv_impl(request, monkeypatch):
    """Runs the test with the convs forced to the matmul forms, then to MLX's conv ops."""
    monkeypatch.setattr(encodec, "CONV_IMPL", request.param)
    return request.param


@pytest.mark.usefixtures("conv_impl")
@pytest.mark.parametrize("samples", [640 * 12, 640 * 12 + 77, 500], ids=["whole-frames", "ragged", "under-a-frame"])
@pytest.mark.parametrize("hub_layout", [False, True], ids=["parametrizations", "weight_g_v"])
def test_encode_matches_transformers(samples, hub_layout):
    model = torch_encodec(seed=1)
    encoder, decoder = _mlx_codec(model, hub_layout)
    audio = _audio(2, samples, seed=samples)
    expected, embeddings, gaps, nearest = _reference(model, audio)
    ours_embeddings = np.array(encoder.encoder(mx.array(audio).transpose(0, 2, 1)))
    # float32 convs and LSTM summed in another order: relative error ~1e-6 of the largest value
    scale = np.abs(embeddings).max()
    np.testing.assert_allclose(ours_embeddings, embeddings, rtol=1e-4, atol=1e-5 * scale)
    codes = np.array(encoder.encode(mx.array(audio), decoder.quantizer))
    assert codes.shape == expected.shape == (2, 4, -(-samples // 640))
    assert codes.dtype == np.int32
    # exact codes are a fair demand only when no choice was near a tie: an embedding error of norm
    # e moves a squared distance d by at most 2·sqrt(d)·e + e², and every gap is 10x that bound
    # for the tolerance above (e <= sqrt(dim) * 1e-5 * scale)
    e = np.sqrt(embeddings.shape[-1]) * 1e-5 * scale
    assert gaps.min() > 10 * (2 * np.sqrt(nearest.max()) * e + e * e)
    np.testing.assert_array_equal(codes, expected)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(use_causal_conv=True, pad_mode="constant", use_conv_shortcut=True),
        dict(num_residual_layers=2, dilation_growth_rate=3),
        dict(norm_type="time_group_norm", use_conv_shortcut=True),
    ],
    ids=["causal-constant-shortcut", "dilated-residuals", "group-norm"],
)
@pytest.mark.usefixtures("conv_impl")
def test_encode_matches_transformers_other_configs(overrides):
    model = torch_encodec(seed=2, **overrides)
    encoder, decoder = _mlx_codec(model)
    audio = _audio(1, 640 * 9 + 5, seed=3)
    expected, embeddings, _, _ = _reference(model, audio)
    ours = np.array(encoder.encoder(mx.array(audio).transpose(0, 2, 1)))
    np.testing.assert_allclose(ours, embeddings, rtol=1e-4, atol=1e-5 * np.abs(embeddings).max())
    np.testing.assert_array_equal(np.array(encoder.encode(mx.array(audio), decoder.quantizer)), expected)


def test_encoded_codes_decode_like_transformers_round_trip():
    model = torch_encodec(seed=3)
    encoder, decoder = _mlx_codec(model)
    audio = _audio(1, 640 * 10, seed=4)
    with torch.no_grad():
        expected = model(torch.from_numpy(audio)).audio_values.numpy()
    ours = np.array(decoder.decode(encoder.encode(mx.array(audio), decoder.quantizer)))
    assert ours.shape == expected.shape == (1, 1, 6400)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=2e-5 * np.abs(expected).max())


def test_bandwidth_picks_the_codebooks_encode_uses():
    # 2.2 kbps at 50 frames/s of 11-bit codes: 4 codebooks (of the 8 the largest bandwidth has)
    model = torch_encodec(target_bandwidths=[2.2, 4.4])
    assert bandwidth_codebooks(model.config.to_dict()) == 4
    assert model.quantizer.get_num_quantizers_for_bandwidth(2.2) == 4
    encoder, decoder = _mlx_codec(model)
    assert len(decoder.quantizer.layers) == 8
    audio = _audio(1, 1280)
    expected = _reference(model, audio)[0]
    np.testing.assert_array_equal(np.array(encoder.encode(mx.array(audio), decoder.quantizer)), expected)


@pytest.mark.parametrize("kernel, stride, length", [(16, 8, 64), (10, 5, 33), (8, 4, 9), (7, 3, 20), (4, 4, 12)])
def test_matmul_strided_conv_matches_torch(kernel, stride, length):
    rng = np.random.default_rng(kernel * 10 + stride)
    x = rng.standard_normal((2, length, 6)).astype(np.float32)
    w = rng.standard_normal((5, 6, kernel)).astype(np.float32)  # torch layout (out, in, k)
    b = rng.standard_normal(5).astype(np.float32)
    ref = torch.nn.functional.conv1d(torch.from_numpy(x).transpose(1, 2), torch.from_numpy(w), torch.from_numpy(b),
                                     stride=stride).transpose(1, 2).numpy()
    ours = np.array(matmul_strided_conv1d(mx.array(x), mx.array(w.transpose(0, 2, 1)), mx.array(b), stride))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_sanitize_encoder_keeps_only_encoder_parameters():
    model = torch_encodec()
    weights = {k: mx.array(v) for k, v in to_hub_weight_norm(state_dict_numpy(model)).items()}
    clean = sanitize(weights, "encoder")
    assert all(k.startswith("encoder.") for k in clean)
    encoder = EncodecEncoder(model.config.to_dict())
    assert set(clean) == {k for k, _ in tree_flatten(encoder.parameters())}
    with pytest.raises(ValueError, match="part"):
        sanitize(weights, "quantizer")


def test_bad_audio_and_configs_are_rejected_with_a_clear_error():
    encoder, decoder = _mlx_codec(torch_encodec())
    with pytest.raises(ValueError, match="batch, channels, samples"):
        encoder.encode(mx.zeros((1, 100)), decoder.quantizer)
    with pytest.raises(ValueError, match="2 channels"):
        encoder.encode(mx.zeros((1, 2, 100)), decoder.quantizer)
    with pytest.raises(ValueError, match="at least one sample"):
        encoder.encode(mx.zeros((1, 1, 0)), decoder.quantizer)
    config = torch_encodec().config.to_dict()
    with pytest.raises(ValueError, match="normalize"):
        EncodecEncoder({**config, "normalize": True})
    with pytest.raises(ValueError, match="chunk_length_s"):
        EncodecEncoder({**config, "chunk_length_s": 1.0})
