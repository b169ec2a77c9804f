"""The audio side of the MusicGen engine (pipeline.MusicGen): codes → audio through the EnCodec
decoder, a batch of takes pass by pass, and audio → codes for audio prompts.  A mixin: it uses
the engine's ``audio_decoder``, ``audio_encoder`` and ``audio_channels``."""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx

from oscgen import _blas
from oscgen.musicgen import codebooks, encodec_long
from oscgen.musicgen.layers import on_gpu

# Takes of one length a GPU decodes in one EnCodec pass (decode_takes; a CPU decodes one at a time).
AUDIO_TAKES_PER_PASS = 8
# Share of the progress bar given to decoding; EnCodec takes the rest.
DECODE_SHARE = 0.95


class AudioSide:
    def decode_audio(self, codes: mx.array, progress: Callable[[float], None] | None = None) -> mx.array:
        """codes (batch, codebooks, frames) → audio (batch, channels, frames * samples_per_frame),
        evaluated: nothing else runs meanwhile, so a CPU's BLAS gets every core for it.  Stereo:
        both channels in one EnCodec batch; takes past 30 s in chunks (encodec_long: same audio,
        bounded memory).  ``progress`` gets the job's fraction from DECODE_SHARE towards 1 as
        EnCodec's stages finish (the bar moves instead of waiting)."""
        stage = None if progress is None else (lambda f: progress(DECODE_SHARE + (1.0 - DECODE_SHARE) * f))
        with _blas.all_cores():
            audio = encodec_long.decode(self.audio_decoder, codebooks.split_channels(mx.array(codes), self.audio_channels),
                                        progress=stage)
            audio = audio.reshape(-1, self.audio_channels, audio.shape[-1])
            mx.eval(audio)
        return audio

    def decode_takes(self, codes: list[mx.array], takes_per_pass: int | None = None,
                     progress: Callable[[float], None] | None = None) -> list[mx.array]:
        """Per take codes (codebooks, frames) → audio (channels, frames * samples_per_frame).

        Takes of one length go through EnCodec together, ``takes_per_pass`` at a time (default
        AUDIO_TAKES_PER_PASS: a GPU, bound by kernel launches, decodes the batch for the price of
        one take; a CPU's EnCodec costs the same per take batched or not and its activations
        grow with the batch, so it decodes one at a time).  Takes of different lengths are not
        padded into one pass: EnCodec's convolutions see past a row's end.  ``progress`` gets
        the job's fraction from DECODE_SHARE towards 1 as the passes go (decode_audio)."""
        per_pass = takes_per_pass or (AUDIO_TAKES_PER_PASS if on_gpu() else 1)
        passes = []
        for length in sorted({c.shape[-1] for c in codes}):
            rows = [i for i, c in enumerate(codes) if c.shape[-1] == length]
            passes += [(length, rows[first : first + per_pass]) for first in range(0, len(rows), per_pass)]
        audio: list[mx.array | None] = [None] * len(codes)
        for done, (length, group) in enumerate(passes):
            if length == 0:  # a take stopped before its first complete frame
                decoded = mx.zeros((len(group), self.audio_channels, 0), dtype=mx.float32)
            else:
                share = None if progress is None else (
                    lambda f, done=done: progress(DECODE_SHARE + (done + (f - DECODE_SHARE) / (1.0 - DECODE_SHARE))
                                                  * (1.0 - DECODE_SHARE) / len(passes)))
                decoded = self.decode_audio(mx.stack([codes[i] for i in group]), share)
            for j, i in enumerate(group):
                audio[i] = decoded[j]
        return audio

    def encode_audio(self, audio) -> mx.array:
        """audio (batch, channels, samples) at ``sample_rate`` → codes (batch, num_codebooks,
        ceil(samples / samples_per_frame)) int32, laid out as the decoder predicts them (stereo:
        each channel through the mono EnCodec, interleaved)."""
        audio = mx.array(audio, dtype=mx.float32)
        if audio.ndim != 3 or audio.shape[1] != self.audio_channels:
            raise ValueError(f"audio must be (batch, {self.audio_channels}, samples) for this "
                             f"{'stereo' if self.audio_channels == 2 else 'mono'} model, got shape {tuple(audio.shape)}")
        with _blas.all_cores():
            mono = audio.reshape(-1, 1, audio.shape[-1])  # (batch·channels, 1, samples), left before right
            codes = self.audio_encoder.encode(mono, self.audio_decoder.quantizer)
            codes = codebooks.join_channels(codes, self.audio_channels)
            mx.eval(codes)
        return codes
