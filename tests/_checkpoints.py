"""Tiny random MusicGen checkpoints written by transformers itself (``save_pretrained``), shared by
the engine's parity tests.  Sizes are small enough that the whole engine suite stays fast, yet
every dimension differs (heads != layers != codebooks ...) so a transposed or mixed-up weight
cannot pass by accident."""

from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path

import numpy as np

TORCH_SEED = 1234


def musicgen_config(
    *,
    vocab_size: int = 64,
    hidden_size: int = 48,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    ffn_dim: int = 80,
    num_codebooks: int = 4,
    text_d_model: int = 40,
    text_num_layers: int = 2,
    text_num_heads: int = 2,
    text_vocab_size: int = 120,
    feed_forward_proj: str = "relu",
    encodec_hidden_size: int = 16,
    encodec_num_filters: int = 4,
    audio_channels: int = 1,
):
    """A transformers MusicgenConfig with tiny dimensions (EnCodec keeps the real 32 kHz hop of
    640 samples, so frames ↔ samples are the real relation).  ``audio_channels=2``: a stereo
    decoder over ``num_codebooks`` interleaved codebooks, the mono EnCodec coding each channel
    with half of them (as facebook/musicgen-stereo-*)."""
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config

    text = T5Config(
        vocab_size=text_vocab_size,
        d_model=text_d_model,
        d_kv=text_d_model // text_num_heads,
        d_ff=56,
        num_layers=text_num_layers,
        num_heads=text_num_heads,
        relative_attention_num_buckets=16,
        relative_attention_max_distance=32,
        feed_forward_proj=feed_forward_proj,
        dropout_rate=0.0,
    )
    nbits = math.ceil(math.log2(vocab_size))
    audio = EncodecConfig(
        sampling_rate=32000,
        audio_channels=1,
        hidden_size=encodec_hidden_size,
        num_filters=encodec_num_filters,
        num_residual_layers=1,
        upsampling_ratios=[8, 5, 4, 4],
        codebook_size=vocab_size,
        # num_quantizers = 1000 * bandwidth // (frame_rate * nbits) == num_codebooks
        target_bandwidths=[num_codebooks // audio_channels * 50 * nbits / 1000],
        use_causal_conv=False,
        normalize=False,
        num_lstm_layers=2,
        compress=2,
        use_conv_shortcut=False,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        ffn_dim=ffn_dim,
        num_codebooks=num_codebooks,
        audio_channels=audio_channels,
        max_position_embeddings=256,
        pad_token_id=vocab_size,
        bos_token_id=vocab_size,
        dropout=0.0,
    )
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    config.decoder_start_token_id = vocab_size
    config.pad_token_id = vocab_size
    return config


def build_reference(config, seed: int = TORCH_SEED):
    """A transformers MusicgenForConditionalGeneration with seeded random weights, in eval mode.
    Embeddings, norms and EnCodec's codebooks are perturbed too, so a missed bias or scale shows up."""
    import torch
    from transformers import MusicgenForConditionalGeneration

    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.1 * torch.randn_like(param))
            elif name.endswith("bias") or "embed" in name or "shared" in name or "relative_attention_bias" in name:
                param.copy_(0.5 * torch.randn_like(param))
        # EnCodec's codebooks are buffers, zeros at init: every code would decode (and every
        # frame encode) alike
        for name, buffer in model.named_buffers():
            if name.endswith("codebook.embed"):
                buffer.copy_(torch.randn_like(buffer))
    return model


@functools.cache
def tiny_checkpoint(**overrides) -> Path:
    """save_pretrained of a tiny reference model (cached per overrides for the test session)."""
    model = build_reference(musicgen_config(**overrides))
    out = Path(tempfile.mkdtemp(prefix="oscgen-tiny-musicgen-"))
    model.save_pretrained(out)
    return out


def reference_from(path: Path):
    from transformers import MusicgenForConditionalGeneration

    return MusicgenForConditionalGeneration.from_pretrained(path).eval()


def load_flat(path: Path) -> dict:
    """Every tensor of the checkpoint's safetensors files, as MLX arrays by transformers key."""
    import mlx.core as mx

    weights = {}
    for file in sorted(Path(path).glob("*.safetensors")):
        weights.update(mx.load(str(file)))
    return weights


def to_numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()



def real_config(size: str):
    """transformers MusicgenConfig of a released architecture ("small", "medium", "large",
    "stereo-small", ...; "tiny" is oscgen's built-in model), from oscgen.musicgen.tiny's
    config.json writer."""
    from transformers import MusicgenConfig

    from oscgen.musicgen import tiny

    return MusicgenConfig.from_dict(tiny.musicgen_config(size))


def reference_generate(reference, input_ids, new_frames: int, guidance_scale: float, input_values=None,
                       decoder_codes=None):
    """transformers' greedy ``generate`` → (codes (batch, K, frames) as its decoder predicts
    them, stereo interleaved, prompt included; audio (batch, channels, samples)).  Prompted by
    audio with ``input_values`` (batch, channels, samples), or by codes with ``decoder_codes``
    (K, P) (its ``decoder_input_ids``); ``new_frames`` frames past the prompt."""
    import torch

    calls = []
    decode = reference.audio_encoder.decode

    def spy(audio_codes, *args, **kwargs):
        calls.append(audio_codes[0])
        return decode(audio_codes, *args, **kwargs)

    reference.audio_encoder.decode = spy
    delay = reference.config.decoder.num_codebooks // reference.config.decoder.audio_channels - 1
    ids = torch.tensor(np.asarray(input_ids))
    kwargs = {} if input_values is None else {"input_values": torch.from_numpy(np.asarray(input_values, np.float32))}
    if decoder_codes is not None:
        kwargs["decoder_input_ids"] = torch.from_numpy(np.asarray(decoder_codes, np.int64))
    try:
        with torch.no_grad():
            audio = reference.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                       guidance_scale=guidance_scale, max_new_tokens=new_frames + delay, **kwargs)
    finally:
        reference.audio_encoder.decode = decode
    if len(calls) == 1:
        codes = to_numpy(calls[0])
    else:  # stereo: left then right, each (batch, K/2, frames); the decoder interleaves them
        left, right = (to_numpy(c) for c in calls)
        codes = np.stack([left, right], axis=2).reshape(left.shape[0], -1, left.shape[-1])
    return codes, to_numpy(audio)


def mlx_pair(**overrides):
    """(transformers reference, oscgen MusicGen) on the same tiny random checkpoint."""
    from oscgen.musicgen.pipeline import MusicGen, convert_weights

    path = tiny_checkpoint(**overrides)
    reference = reference_from(path)
    model = MusicGen(reference.config.to_dict())
    model.load_converted(convert_weights(load_flat(path)))
    return reference, model


def random_step_decoder(*, width: int, ffn: int, rows: int, window: int, seed: int):
    """An MLX decoder (2 layers, 4 heads, vocabulary 64) with random weights after
    ``mx.random.seed(seed)``, and what its steps take: cross-attention keys/values over 12 text
    positions for ``rows`` rows, a ``window``-row positions table and random tokens (rows, 4).
    For tests of the decode step's kernels against MLX's ops."""
    import mlx.core as mx

    from oscgen.musicgen.decoder import DecoderConfig, MusicgenDecoder, sinusoidal_positions

    mx.random.seed(seed)
    decoder = MusicgenDecoder(DecoderConfig(vocab_size=64, hidden_size=width, num_hidden_layers=2,
                                            num_attention_heads=4, ffn_dim=ffn))
    mx.eval(decoder.parameters())
    cross_kv = decoder.cross_kv(mx.random.normal((rows, 12, width)))
    tokens = mx.random.randint(0, 64, (rows, 4)).astype(mx.int32)
    return decoder, cross_kv, sinusoidal_positions(window, width), tokens
