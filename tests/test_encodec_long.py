"""Long takes decode in chunks (encodec_long) with the one-pass decode's result."""

import numpy as np
import pytest

pytest.importorskip("torch")

import mlx.core as mx  # noqa: E402

from oscgen.musicgen import encodec_long  # noqa: E402
from oscgen.musicgen.encodec import EncodecDecoder, sanitize  # noqa: E402
from tests._io_fixtures import state_dict_numpy, torch_encodec  # noqa: E402


def _decoder(**overrides):
    model = torch_encodec(seed=1, **overrides)
    weights = {k: mx.array(v) for k, v in state_dict_numpy(model).items()}
    decoder = EncodecDecoder(model.config.to_dict())
    decoder.load_weights(list(sanitize(weights).items()), strict=True)
    return decoder


@pytest.mark.parametrize("overrides", [{}, dict(num_residual_layers=2)], ids=["32khz-like", "dilated-residuals"])
@pytest.mark.parametrize("chunk", [7, 30])
def test_chunked_decode_is_the_one_pass_decode(overrides, chunk):
    decoder = _decoder(**overrides)
    codes = mx.array(np.random.default_rng(0).integers(0, 2048, (2, 4, 100)).astype(np.int32))
    whole = np.array(decoder.decode(codes))
    chunked = np.array(encodec_long.decode(decoder, codes, chunk=chunk))
    assert chunked.shape == whole.shape == (2, 1, 100 * 640)
    # the same arithmetic on the same inputs; only BLAS blocking over other lengths may round apart
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6 * np.abs(whole).max())


def test_without_context_the_seams_differ():
    """The margin is what makes chunks exact: with none, samples near each seam change."""
    decoder = _decoder()
    codes = mx.array(np.random.default_rng(1).integers(0, 2048, (1, 4, 60)).astype(np.int32))
    whole = np.array(decoder.decode(codes))
    seamless = np.array(encodec_long.decode(decoder, codes, chunk=20, margin=0))
    assert np.abs(seamless - whole).max() > 1e-2 * np.abs(whole).max()


def test_bad_codes_are_refused_on_the_chunked_path_too():
    decoder = _decoder()
    with pytest.raises(ValueError, match=r"\[0, 2048\)"):
        encodec_long.decode(decoder, mx.full((1, 4, 50), 2048, dtype=mx.int32), chunk=20)
