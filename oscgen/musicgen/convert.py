"""transformers' MusicgenForConditionalGeneration checkpoint → this engine's parameters."""

from __future__ import annotations

import mlx.core as mx

from oscgen.musicgen import decoder as decoder_lib
from oscgen.musicgen import encodec
from oscgen.musicgen import t5 as t5_lib

# Bump when convert_weights changes, so cached conversions are redone.
CONVERSION_TAG = "oscgen-musicgen-v3"  # v2: fused self-attention q/k/v and codebook heads; v3: EnCodec encoder


def decoder_start_token_id(config: dict) -> int:
    """transformers' _get_decoder_start_token_id: the config's decoder_start_token_id, else the
    decoder's bos_token_id (both 2048 == vocab_size in the released checkpoints)."""
    value = config.get("decoder_start_token_id")
    if value is None:
        value = config["decoder"].get("bos_token_id", config["decoder"].get("vocab_size", 2048))
    return int(value)


def convert_weights(hf_weights: dict[str, mx.array]) -> dict[str, mx.array]:
    """Flat transformers MusicgenForConditionalGeneration weights → this module's parameters."""
    groups: dict[str, dict[str, mx.array]] = {"text_encoder": {}, "decoder": {}, "audio_encoder": {}, "enc_to_dec_proj": {}}
    for key, value in hf_weights.items():
        prefix, _, rest = key.partition(".")
        if prefix in groups:
            groups[prefix][rest] = value
    params = {}
    params.update({f"text_encoder.{k}": v for k, v in t5_lib.sanitize(groups["text_encoder"]).items()})
    params.update({f"enc_to_dec_proj.{k}": v for k, v in groups["enc_to_dec_proj"].items()})
    params.update({f"decoder.{k}": v for k, v in decoder_lib.sanitize(groups["decoder"]).items()})
    params.update({f"audio_decoder.{k}": v for k, v in encodec.sanitize(groups["audio_encoder"]).items()})
    params.update({f"audio_encoder.{k}": v for k, v in encodec.sanitize(groups["audio_encoder"], "encoder").items()})
    return params
