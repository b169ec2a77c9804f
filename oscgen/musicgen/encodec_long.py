"""EnCodec decoding of long takes in bounded memory, with the same result as one pass.

The SEANet decoder's full-rate stages hold (channels × samples) activations: a 30 s decode at
musicgen-small's size peaks ~1.35 GB over the weights, so 5 minutes in one pass would want
~13 GB.  Only its first two layers (a conv and the LSTM, at the frame rate, a few MB even for
5 minutes) see the whole past; everything after them (ELUs, transposed convs, residual blocks,
the last conv) reaches a handful of samples either side.  So the first two run over the whole
take, the rest over chunks of frames with ``MARGIN`` frames of real neighbours each side, cut
away afterwards: every kept sample is computed from exactly the inputs the one-pass decode uses.
"""

from __future__ import annotations

import mlx.core as mx

#: Frames of context each side of a chunk.  What the layers after the LSTM reach is under two
#: frames for EnCodec 32 kHz (kernels 3-8 samples at rates of 640..1 samples per frame), so
#: 32 frames (0.64 s) leaves a wide safety factor at ~4 % extra work per 30 s chunk.
MARGIN = 32
#: Frames decoded per chunk: what a 30 s take decodes in one pass today.
CHUNK = 1500


def decode(audio_decoder, codes: mx.array, chunk: int = CHUNK, margin: int = MARGIN, progress=None) -> mx.array:
    """``audio_decoder`` (encodec.EncodecDecoder) over codes (batch, codebooks, frames), chunked
    past ``chunk`` frames → (batch, channels, frames · hop), evaluated.  ``progress(fraction <
    1)`` as stages (chunks) finish, as EncodecDecoder.decode reports them."""
    frames = mx.array(codes).shape[-1]
    if frames <= chunk:
        audio = audio_decoder.decode(codes, progress)
        mx.eval(audio)
        return audio
    layers = audio_decoder.decoder.layers
    x = audio_decoder.quantizer.decode(audio_decoder.checked(codes))
    for layer in layers[:2]:  # conv + LSTM: the whole take
        x = layer(x)
        mx.eval(x)
    hop = audio_decoder.hop_length
    pieces = []
    for start in range(0, frames, chunk):
        stop = min(start + chunk, frames)
        lo, hi = max(0, start - margin), min(frames, stop + margin)
        y = x[:, lo:hi]
        for layer in layers[2:]:
            y = layer(y)
            mx.eval(y)
        pieces.append(y[:, (start - lo) * hop : (stop - lo) * hop])
        if progress is not None and stop < frames:
            progress(stop / frames)
    audio = mx.concatenate(pieces, axis=1).transpose(0, 2, 1)
    mx.eval(audio)
    return audio
