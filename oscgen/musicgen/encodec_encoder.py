"""The EnCodec encoder (waveform -> codes) in MLX, with transformers' ``EncodecModel.encode``
semantics for MusicGen's 32 kHz EnCodec (one chunk, no normalisation): the SEANet encoder (conv,
residual blocks + ELU + strided downsampling convs, LSTM with skip, ELU, conv), then residual
vector quantization against the codebooks the decoder also reads.

The layers are the decoder's (oscgen.musicgen.encodec), so both sides pad, convolve and run
their LSTMs the same way; the encoder owns no codebooks: ``quantize`` takes the decoder's
``ResidualVectorQuantizer``.  This is what turns an audio prompt into the codes a continuation
is forced through, and it is where a melody (chroma) conditioner would sit beside it.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn

from oscgen.musicgen.encodec import ELU, LSTM, Conv1d, ResidualVectorQuantizer, ResnetBlock, supported


class SEANetEncoder(nn.Module):
    """Audio (batch, samples, channels) -> embeddings (batch, frames, hidden); layer indices as
    transformers' ``EncodecEncoder`` so parameter names match the checkpoint."""

    def __init__(self, cfg: dict):
        super().__init__()
        filters = cfg["num_filters"]
        layers = [Conv1d(cfg, cfg["audio_channels"], filters, cfg["kernel_size"])]
        scale = 1
        for ratio in reversed(cfg["upsampling_ratios"]):
            dim = scale * filters
            # transformers' block dilations are (growth**j, 1): the 1x1 conv is never dilated
            layers += [ResnetBlock(cfg, dim, cfg["dilation_growth_rate"] ** j)
                       for j in range(cfg["num_residual_layers"])]
            layers += [ELU(), Conv1d(cfg, dim, 2 * dim, 2 * ratio, stride=ratio)]
            scale *= 2
        layers += [LSTM(scale * filters, cfg["num_lstm_layers"]), ELU(),
                   Conv1d(cfg, scale * filters, cfg["hidden_size"], cfg["last_kernel_size"])]
        self.layers = layers

    def __call__(self, x):
        # one stage at a time, as the decoder does: the full-rate stages are the memory peak
        for layer in self.layers:
            x = layer(x)
            mx.eval(x)
        return x


def quantize(quantizer: ResidualVectorQuantizer, embeddings: mx.array, num_codebooks: int) -> mx.array:
    """Residual VQ: (batch, frames, dim) -> int32 codes (batch, num_codebooks, frames).

    Each codebook takes the nearest vector (squared euclidean distance, the same expression
    transformers' ``EncodecEuclideanCodebook.quantize`` evaluates, so near-ties round alike) to
    what the codebooks before it left over."""
    residual = embeddings.astype(mx.float32)
    codes = []
    for layer in quantizer.layers[:num_codebooks]:
        embed = layer.embed
        dist = -((residual * residual).sum(-1, keepdims=True) - 2 * residual @ embed.T + (embed * embed).sum(-1))
        index = mx.argmax(dist, axis=-1).astype(mx.int32)
        residual = residual - embed[index]
        codes.append(index)
        mx.eval(residual, index)
    return mx.stack(codes, axis=1)


def bandwidth_codebooks(cfg: dict) -> int:
    """Codebooks ``EncodecModel.encode`` uses when no bandwidth is given: its first
    target bandwidth's (4 for MusicGen's EnCodec 32 kHz: 2.2 kbps / (50 frames/s x 11 bits))."""
    hop = math.prod(cfg["upsampling_ratios"])
    frame_rate = math.ceil(cfg["sampling_rate"] / hop)
    bits = math.log2(cfg["codebook_size"])
    return int(max(1, math.floor(cfg["target_bandwidths"][0] * 1000 / (frame_rate * bits))))


class EncodecEncoder(nn.Module):
    """EnCodec audio -> codes, built from a checkpoint's ``audio_encoder`` config section."""

    def __init__(self, audio_config: dict):
        super().__init__()
        cfg = supported(audio_config)
        if cfg.get("normalize"):
            raise ValueError("EnCodec configs with normalize=True (per-chunk loudness scales) are not "
                             "supported; MusicGen's 32 kHz EnCodec does not normalize")
        self.config = cfg
        self.sampling_rate = cfg["sampling_rate"]
        self.hop_length = math.prod(cfg["upsampling_ratios"])
        self.channels = cfg["audio_channels"]
        self.num_codebooks = bandwidth_codebooks(cfg)
        self.encoder = SEANetEncoder(cfg)

    def frames_for(self, samples: int) -> int:
        """Code frames ``samples`` of audio encode to: ceil(samples / hop)."""
        return -(-samples // self.hop_length)

    def encode(self, audio, quantizer: ResidualVectorQuantizer) -> mx.array:
        """float audio (batch, channels, samples) -> int32 codes (batch, codebooks, ceil(samples / hop))."""
        audio = mx.array(audio)
        if audio.ndim != 3:
            raise ValueError(f"audio must be (batch, channels, samples), got shape {tuple(audio.shape)}")
        if audio.shape[1] != self.channels:
            raise ValueError(f"audio has {audio.shape[1]} channels; this EnCodec encodes {self.channels}")
        if audio.shape[2] < 1:
            raise ValueError("audio must have at least one sample")
        embeddings = self.encoder(audio.astype(mx.float32).transpose(0, 2, 1))
        return quantize(quantizer, embeddings, self.num_codebooks)
