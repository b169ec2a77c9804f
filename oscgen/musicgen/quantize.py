"""Lower-precision decoder weights: float16 / bfloat16, or MLX affine quantization (8 or 4 bit).

The decoder is the only part worth it: every decode step streams all of its weights, while the
T5 encoder runs once per job and EnCodec once at the end (and T5 is known to overflow in
float16).  What is converted:

- ``dtype``: every floating parameter of the decoder, so activations, the self-attention cache
  and the cross-attention keys/values follow (the pipeline allocates them in the decoder's dtype);
- ``bits``: the linear layers read on every step (self-attention q/k/v/out, cross-attention
  q/out, fc1/fc2, the codebook heads) become ``nn.QuantizedLinear`` with ``group_size`` weights
  per scale/bias.  Embedding lookups read a few rows per step and the cross-attention k/v
  projections run once per job, so they stay as they are.

Whether either is faster depends on the device: on Apple/NVIDIA GPUs half the bytes is close to
half the step; on x86-64 CPUs MLX's float16/bfloat16 and quantized matmuls run far below the
float32 MKL path (see benchmarks/RESULTS.md), so float32 stays the default there.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

DTYPES = ("float32", "float16", "bfloat16")
BITS = (4, 8)
GROUP_SIZE = 64


def _per_step_linear(path: str, module: nn.Module, group_size: int) -> bool:
    """Linear layers the decode step reads every step (quantizable along their input width)."""
    if not isinstance(module, nn.Linear):
        return False
    if ".encoder_attn.k_proj" in f".{path}" or ".encoder_attn.v_proj" in f".{path}":
        return False
    return module.weight.shape[-1] % group_size == 0


def convert_decoder(engine, dtype: str | None = "float32", bits: int | None = None, group_size: int = GROUP_SIZE):
    """Convert ``engine.decoder`` (an oscgen.musicgen.pipeline.MusicGen) in place and return it.

    Call before the first generation: compiled steps are keyed on shapes, not on dtypes, so the
    engine's cache of compiled steps is cleared too.
    """
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if bits is not None and bits not in BITS:
        raise ValueError(f"bits must be 4 or 8, got {bits!r}")
    decoder = engine.decoder
    if dtype is not None and dtype != "float32":
        decoder.set_dtype(getattr(mx, dtype))
    if bits:
        nn.quantize(
            decoder,
            group_size=group_size,
            bits=bits,
            class_predicate=lambda path, module: _per_step_linear(path, module, group_size),
        )
    mx.eval(decoder.parameters())
    compiled = getattr(engine, "_compiled_steps", None)
    if compiled is not None:
        compiled.clear()
    engine.decoder_precision = describe(dtype, bits, group_size)
    return engine


def describe(dtype: str | None, bits: int | None, group_size: int = GROUP_SIZE) -> str:
    """"float32", "float16", "float32 + 8-bit (group 64)" ..."""
    text = dtype or "float32"
    if bits:
        text += f" + {bits}-bit (group {group_size})"
    return text
