"""Lower-precision decoders (oscgen.musicgen.quantize): the right layers converted, logits close
to float32's on the same codes, and whole generations that run and stay finite."""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from oscgen.musicgen import quantize
from oscgen.musicgen.pipeline import MusicGen

# relative L2 error of the decoder's logits against float32, per variant (tiny random weights)
TOLERANCE = {("float16", None): 3e-3, ("bfloat16", None): 2e-2, ("float32", 8): 3e-2, ("float32", 4): 0.3}


@pytest.fixture(scope="module")
def reference():
    engine = MusicGen.from_pretrained("tiny-random")
    ids = mx.array([engine.tokenizer.encode("lo-fi hip hop beat")], dtype=mx.int32)
    codes = mx.array(np.random.default_rng(0).integers(0, 2048, (2, 4, 12)), dtype=mx.int32)
    states, mask = engine._conditioning(ids, guided=True)
    return ids, codes, states, mask, engine.decoder(codes, states, mask)


@pytest.mark.parametrize("dtype,bits", list(TOLERANCE))
def test_converted_decoder_matches_float32(reference, dtype, bits):
    ids, codes, states, mask, logits32 = reference
    engine = quantize.convert_decoder(MusicGen.from_pretrained("tiny-random"), dtype=dtype, bits=bits)
    decoder = engine.decoder
    assert decoder.dtype == getattr(mx, dtype)
    quantized = {name for name, m in decoder.named_modules() if isinstance(m, nn.QuantizedLinear)}
    if bits:
        # every per-step linear, and nothing else: cross-attention k/v run once per job
        assert "layers.0.self_attn.qkv_proj" in quantized and "layers.0.fc2" in quantized and "lm_head" in quantized
        assert not any("encoder_attn.k_proj" in n or "encoder_attn.v_proj" in n for n in quantized)
        assert decoder.layers[0].fc1.bits == bits
    else:
        assert not quantized
    logits = decoder(codes, states.astype(decoder.dtype), mask).astype(mx.float32)
    error = float(mx.sqrt(mx.sum((logits - logits32) ** 2)) / mx.sqrt(mx.sum(logits32**2)))
    assert error < TOLERANCE[(dtype, bits)]
    assert error > 0  # it really changed precision

    # a whole sampled job runs in that precision: finite audio, valid codes
    codes_out = engine.generate_codes(ids, 10, seed=3)
    assert codes_out.shape == (1, 4, 10) and int(codes_out.max()) < 2048 and int(codes_out.min()) >= 0
    audio = engine.decode_audio(codes_out)
    assert np.isfinite(np.array(audio)).all()


def test_convert_rejects_bad_arguments():
    engine = MusicGen.from_pretrained("tiny-random")
    with pytest.raises(ValueError, match="dtype"):
        quantize.convert_decoder(engine, dtype="float64")
    with pytest.raises(ValueError, match="bits"):
        quantize.convert_decoder(engine, bits=3)
