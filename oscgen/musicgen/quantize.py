"""Lower-precision decoder weights: float16 / bfloat16, or MLX affine quantization (8 or 4 bit).

The decoder is the only part worth running in it: every decode step streams all of its weights,
while the T5 encoder runs once per job and EnCodec once at the end (and T5 is known to overflow
in float16; ``from_pretrained`` only stores it in half, see ``TEXT_SIDE``).  What is converted:

- ``dtype``: every floating parameter of the decoder, so activations, the self-attention cache
  and the cross-attention keys/values follow (the pipeline allocates them in the decoder's dtype);
- ``bits``: the linear layers read on every step (self-attention q/k/v/out, cross-attention
  q/out, fc1/fc2, the codebook heads) become ``nn.QuantizedLinear`` with ``group_size`` weights
  per scale/bias.  Embedding lookups read a few rows per step and the cross-attention k/v
  projections run once per job, so they stay as they are.

Whether either is faster depends on the device: on Apple/NVIDIA GPUs half the bytes is close to
half the step; on x86-64 CPUs MLX's float16/bfloat16 and quantized matmuls run far below the
float32 MKL path (see benchmarks/RESULTS.md), so float32 stays the default there.

Two ways in:

- ``MusicGen.from_pretrained(model, dtype, bits)`` loads a checkpoint straight into the lower
  precision (through ``lowered_for_loading``): each
  weight is cast (and quantized) as it is read, so the float32 copies never all exist at once
  and the peak over the load is close to the final size (benchmarks/memory.md).  It also stores
  the text encoder in ``dtype`` (see ``TEXT_SIDE``).
- ``convert_decoder(engine, ...)`` (and ``convert_text_encoder``) convert an engine already
  loaded in float32; the float32 weights were all in memory by then.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

DTYPES = ("float32", "float16", "bfloat16")
BITS = (4, 8)
GROUP_SIZE = 64
#: Parameters stored in ``dtype`` but computed in float32 (t5.py upcasts its embeddings, and
#: float32 activations times float16 weights give float32): T5 is known to overflow float16 in
#: its activations (feed-forward outputs beyond 65504), never in its weights, so storing it in
#: half halves its 440 MB at no risk, while running it in float16 would not be safe.  It runs
#: once per job, so the upcast of its weights costs nothing that matters.
TEXT_SIDE = ("text_encoder.", "enc_to_dec_proj.")
# EnCodec ("audio_decoder.") stays float32: 118 MB for musicgen-small, a tenth of the weights,
# and its output is the audio itself.


def _per_step_linear(path: str, module: nn.Module, group_size: int) -> bool:
    """Linear layers the decode step reads every step (quantizable along their input width)."""
    if not isinstance(module, nn.Linear):
        return False
    if ".encoder_attn.k_proj" in f".{path}" or ".encoder_attn.v_proj" in f".{path}":
        return False
    return module.weight.shape[-1] % group_size == 0


def check_precision(dtype: str | None, bits: int | None) -> None:
    """Raise ValueError unless ``dtype`` is one of DTYPES (or None) and ``bits`` one of BITS (or None)."""
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if bits is not None and bits not in BITS:
        raise ValueError(f"bits must be 4 or 8, got {bits!r}")


def _quantize_per_step_linears(decoder: nn.Module, bits: int, group_size: int) -> None:
    """Swap the decoder's per-step linears for QuantizedLinear (lazy: nothing is evaluated)."""
    nn.quantize(
        decoder,
        group_size=group_size,
        bits=bits,
        class_predicate=lambda path, module: _per_step_linear(path, module, group_size),
    )


def convert_decoder(engine, dtype: str | None = "float32", bits: int | None = None, group_size: int = GROUP_SIZE):
    """Convert ``engine.decoder`` (an oscgen.musicgen.pipeline.MusicGen) in place and return it.

    Call before the first generation: compiled steps are keyed on shapes, not on dtypes, so the
    engine's cache of compiled steps is cleared too.  To load at a lower precision without
    holding the float32 weights first, use ``from_pretrained``.
    """
    check_precision(dtype, bits)
    decoder = engine.decoder
    if dtype is not None and dtype != "float32":
        decoder.set_dtype(getattr(mx, dtype))
    if bits:
        _quantize_per_step_linears(decoder, bits, group_size)
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


def convert_text_encoder(engine, dtype: str) -> None:
    """Store ``engine``'s text encoder and its projection in ``dtype`` (computed in float32, see
    ``TEXT_SIDE``), as ``from_pretrained`` does, for an engine already loaded in float32."""
    check_precision(dtype, None)
    for name in TEXT_SIDE:
        module = getattr(engine, name.rstrip("."))
        if module is not None:
            module.set_dtype(getattr(mx, dtype))
            mx.eval(module.parameters())


def _stored(name: str, value: mx.array, dtype: mx.Dtype) -> mx.array:
    """The parameter ``name`` as ``from_pretrained`` keeps it (lazy): decoder and text side in
    ``dtype``, EnCodec and integer tensors as they are."""
    if not name.startswith(("decoder.", *TEXT_SIDE)) or not mx.issubdtype(value.dtype, mx.floating):
        return value
    return value.astype(dtype)


def _lowered(params: dict[str, mx.array], dtype: mx.Dtype, quantized: set[str], bits: int | None,
             group_size: int) -> dict[str, mx.array]:
    """``params`` cast to their stored dtype and, for the linears in ``quantized`` (module
    paths), quantized into weight/scales/biases; every result lazy."""
    out = {}
    for name, value in params.items():
        value = _stored(name, value, dtype)
        module = name.rpartition(".")[0]
        if module in quantized and name.endswith(".weight"):
            out[name], out[f"{module}.scales"], out[f"{module}.biases"] = mx.quantize(value, group_size, bits)
        else:
            out[name] = value
    return out


def lowered_for_loading(engine, read_params, dtype: str = "float32", bits: int | None = None,
                        group_size: int = GROUP_SIZE) -> dict[str, mx.array]:
    """The fresh ``engine``'s converted weights (``read_params()``: lazy, from safetensors) in
    the precision it is being loaded at, evaluated a group at a time: the decoder in ``dtype``
    with ``bits``-bit per-step linears (whose modules are quantized here, before their weights
    arrive) and the text encoder stored in ``dtype``.  Read here and rebound, the float32
    tensors have no other reference, so each is freed as soon as its converted form exists and
    the float32 model never coexists with the converted one (the peak over a load stays near
    the final size)."""
    from oscgen.musicgen import weights

    check_precision(dtype, bits)
    quantized: set[str] = set()
    if bits:
        _quantize_per_step_linears(engine.decoder, bits, group_size)
        quantized = {f"decoder.{path}" for path, m in engine.decoder.named_modules() if isinstance(m, nn.QuantizedLinear)}
    params = _lowered(read_params(), getattr(mx, dtype), quantized, bits, group_size)
    weights.eval_in_groups(list(params.values()))
    engine.decoder_precision = describe(dtype, bits, group_size)
    return params
