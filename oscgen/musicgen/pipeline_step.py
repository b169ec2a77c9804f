"""The decode step the engine compiles (pipeline.MusicGen._step): one position of every row of a
batch of takes, from tokens to the next tokens.  Two bodies with the same inputs and outputs:

- ``portable``: the decoder, classifier-free guidance, sampling, forced prompt codes and the
  delay pattern in MLX ops: what a CPU, Apple silicon and jobs the CUDA kernels do not take run;
- ``fused``: the CUDA kernels' step (cuda/step.py), for batches whose takes share their knobs
  and length and force nothing (MusicGen._uses_fused).

Per row of the batch: its tokens at ``position``, its PRNG key for this step and its length in
``frames``; with forced codes, a (batch, codebooks, width) table of codes (batch.forced_table);
``knobs`` (batch, 3): cfg_scale, temperature, top_p per row.
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx

from oscgen.musicgen import batch as batch_lib
from oscgen.musicgen.sampling import classifier_free_guidance, sample


def portable(model, top_k: int, use_top_p: bool, guided: bool, joined: bool = False) -> Callable:
    """The step in MLX ops (not compiled: the caller compiles it).  ``joined``: it takes per-row
    ``offsets`` before the prompt-code table, the cache slot of each row's step 0 (rows that
    joined a running pass: decode_pass.py); ``position`` is then the slot the step writes."""
    delay = mx.array(model.codebook_delays, dtype=mx.int32)[None]
    start_token = model.start_token_id

    def step(tokens, position, keys, knobs, frames, positions_table, cache, cross_kv, cross_mask, *extra):
        offsets, table = (extra[0], extra[1:]) if joined else (None, extra)
        # per row (batch, 1, 1): broadcast over codebooks and vocabulary
        cfg_scale, temperature, top_p = (knobs[:, i, None, None] for i in range(3))
        rows = mx.concatenate([tokens, tokens], axis=0) if guided else tokens
        row_offsets = None if offsets is None else mx.concatenate([offsets, offsets]) if guided else offsets
        logits, cache = model.decoder.step(rows, position, positions_table, cache, cross_kv, cross_mask, row_offsets)
        logits = logits.astype(mx.float32)  # guidance and sampling in float32 whatever the weights
        if guided:
            logits = classifier_free_guidance(logits, cfg_scale)
        next_tokens = sample(logits, keys, temperature, top_k, top_p, use_top_p)
        if table:  # prompt codes: what the position holds overrides the draw
            prompt = mx.take(table[0], position, axis=2)
            next_tokens = mx.where(prompt == batch_lib.FREE, next_tokens, prompt)
        # delay pattern: codebook k holds codes at positions delay[k]+1 .. frames+delay[k]
        next_position = position + 1 if offsets is None else (position + 1 - offsets)[:, None]
        inside = (next_position > delay) & (next_position <= frames[:, None] + delay)
        return mx.where(inside, next_tokens, start_token), cache

    return step


def fused(model, top_k: int, guided: bool) -> Callable:
    """The step on the CUDA kernels (their token draw compiled; the cache written in place)."""
    delay = mx.array(model.codebook_delays, dtype=mx.int32)[None]
    start_token = model.start_token_id

    def tokens_only(tokens, position, keys, knobs, frames, positions_table, cache, cross_kv):
        # the kernels take one set of knobs and one length: every row's (see _uses_fused)
        return model._fused.step(tokens, position, keys, knobs[0], frames[0], positions_table, cache, cross_kv,
                                 top_k=top_k, guided=guided, start_token=start_token, delays=delay[0])[0]

    compiled = mx.compile(tokens_only)

    def step(tokens, position, keys, knobs, frames, positions_table, cache, cross_kv, cross_mask):
        # the kernels wrote this position's keys/values into the cache arrays in place
        return compiled(tokens, position, keys, knobs, frames, positions_table, cache, cross_kv), cache

    return step
