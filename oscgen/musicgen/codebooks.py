"""How the decoder's codebooks are laid out: the delay pattern and the stereo interleave.

Mono MusicGen predicts K EnCodec codebooks, codebook k delayed by k positions.  Stereo MusicGen
(facebook/musicgen-stereo-*) predicts 2K: left and right interleaved (even rows left, odd rows
right), each pair sharing the delay of its mono codebook, so codebooks 2j and 2j+1 are delayed
by j (transformers' ``build_delay_pattern_mask`` for audio_channels=2).  Each channel is coded by
the same mono EnCodec.
"""

from __future__ import annotations

import mlx.core as mx


def delays(num_codebooks: int, audio_channels: int = 1) -> tuple[int, ...]:
    """Positions each codebook lags the first by."""
    if audio_channels not in (1, 2):
        raise ValueError(f"audio_channels must be 1 (mono) or 2 (stereo), got {audio_channels}")
    if num_codebooks % audio_channels:
        raise ValueError(f"a stereo decoder needs an even number of codebooks, got {num_codebooks}")
    return tuple(k // audio_channels for k in range(num_codebooks))


def steps_for(frames: int, codebook_delays: tuple[int, ...]) -> int:
    """Decoding steps for ``frames`` frames of every codebook (the start token is position 0)."""
    return frames + max(codebook_delays)


def undelay(sequence: mx.array, codebook_delays: tuple[int, ...], frames: int) -> mx.array:
    """(batch, K, positions) where column t holds position t+1 → codes (batch, K, frames):
    frame f of codebook k sits at position f + delay_k + 1."""
    return mx.stack([sequence[:, k, d : d + frames] for k, d in enumerate(codebook_delays)], axis=1)


def split_channels(codes: mx.array, audio_channels: int) -> mx.array:
    """Decoder codes (batch, channels·K, frames) → per-channel EnCodec codes
    (batch·channels, K, frames), channels of a take adjacent (left, right)."""
    if audio_channels == 1:
        return codes
    batch, rows, frames = codes.shape
    per_channel = rows // audio_channels
    return codes.reshape(batch, per_channel, audio_channels, frames).transpose(0, 2, 1, 3).reshape(
        batch * audio_channels, per_channel, frames)


def join_channels(codes: mx.array, audio_channels: int) -> mx.array:
    """The inverse of split_channels: (batch·channels, K, frames) → (batch, channels·K, frames)."""
    if audio_channels == 1:
        return codes
    rows, per_channel, frames = codes.shape
    batch = rows // audio_channels
    return codes.reshape(batch, audio_channels, per_channel, frames).transpose(0, 2, 1, 3).reshape(
        batch, per_channel * audio_channels, frames)
