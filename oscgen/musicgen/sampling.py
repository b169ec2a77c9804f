"""Next-token selection: classifier-free guidance, temperature, top-k, top-p, categorical draw.

Semantics are transformers' logits processors in the order ``generate`` applies them:
ClassifierFreeGuidanceLogitsProcessor → TemperatureLogitsWarper → TopKLogitsWarper →
TopPLogitsWarper → multinomial draw.  Two conventions come from audiocraft instead, because that
is what MusicGen users know: ``top_k=0`` and ``top_p=0`` mean "off".

Top-k runs first on the raw scores with ``argpartition`` (no full sort), and temperature and
top-p are then applied to those k candidates only: the same distribution as transformers' chain
(except that transformers keeps every token tied with the k-th score), at a fraction of the cost.
Randomness comes only from the explicit PRNG ``key``, so the same key gives the same tokens.
"""

from __future__ import annotations

import mlx.core as mx


def classifier_free_guidance(logits: mx.array, scale) -> mx.array:
    """logits (2*batch, ...) with the conditional rows first → uncond + (cond - uncond) * scale;
    ``scale`` a scalar or one per row (batch, 1, ...): a row at scale 1 keeps its conditional
    logits exactly (it is a take without guidance in a guided batch)."""
    cond, uncond = mx.split(logits, 2, axis=0)
    guided = uncond + (cond - uncond) * scale
    if isinstance(scale, mx.array) and scale.ndim:
        return mx.where(scale > 1, guided, cond)
    return guided


def top_k_filter(logits: mx.array, top_k: int) -> mx.array:
    """Keep scores >= the k-th largest (ties included, as transformers), the rest become -inf."""
    vocab = logits.shape[-1]
    top_k = min(top_k, vocab)
    kth = mx.partition(logits, vocab - top_k, axis=-1)[..., vocab - top_k : vocab - top_k + 1]
    return mx.where(logits < kth, -mx.inf, logits)


def top_p_filter(logits: mx.array, top_p) -> mx.array:
    """Nucleus filter with transformers' TopPLogitsWarper rule: sort ascending, drop the tokens
    whose cumulative probability is <= 1 - top_p, always keep the most likely one."""
    order = mx.argsort(logits, axis=-1)
    sorted_logits = mx.take_along_axis(logits, order, axis=-1)
    cumulative = mx.cumsum(mx.softmax(sorted_logits, axis=-1), axis=-1)
    remove = cumulative <= (1 - top_p)
    remove[..., -1] = False
    # scatter the sorted decision back to vocabulary order
    remove = mx.put_along_axis(mx.zeros(remove.shape, dtype=mx.bool_), order, remove, axis=-1)
    return mx.where(remove, -mx.inf, logits)


def candidates(logits: mx.array, temperature, top_k: int, use_top_p: bool, top_p=None):
    """The filtered distribution to draw from: (indices, scores).

    ``indices`` is None when no top-k is applied (scores then cover the whole vocabulary);
    otherwise both are (..., k) and scores are already divided by the temperature.  Removed
    tokens score -inf."""
    indices = None
    if 0 < top_k < logits.shape[-1]:
        indices = mx.argpartition(-logits, top_k - 1, axis=-1)[..., :top_k]
        logits = mx.take_along_axis(logits, indices, axis=-1)
    logits = logits / temperature
    if use_top_p:
        filtered = top_p_filter(logits, top_p)
        # per-row top_p: a row whose top_p is 1 (off) keeps its scores as they are
        logits = mx.where(top_p < 1, filtered, logits) if isinstance(top_p, mx.array) and top_p.ndim else filtered
    return indices, logits


def sample(logits: mx.array, key: mx.array, temperature, top_k: int, top_p=None, use_top_p: bool = False) -> mx.array:
    """Draw one token per row of ``logits`` (..., vocab) → int32 (...).

    ``top_k == 1`` is greedy (argmax, no randomness).  ``key`` is one PRNG key, or one per row
    of the batch (batch, 2): see gumbel_noise.  ``temperature`` and ``top_p`` may be
    scalar arrays so a compiled caller does not retrace when those knobs move; ``top_k`` and
    ``use_top_p`` change shapes/graph and are static."""
    if top_k == 1:
        return mx.argmax(logits, axis=-1).astype(mx.int32)
    indices, scores = candidates(logits, temperature, top_k, use_top_p, top_p)
    # Gumbel-max with one noise value per *vocabulary id*: an exact categorical draw whose outcome
    # does not depend on the order argpartition happens to return the candidates in, so a tiny
    # numeric difference (another device, dtype or BLAS) cannot reshuffle which code is drawn.
    noise = gumbel_noise(logits.shape, key)
    if indices is None:
        return mx.argmax(scores + noise, axis=-1).astype(mx.int32)
    choice = mx.argmax(scores + mx.take_along_axis(noise, indices, axis=-1), axis=-1)
    return mx.take_along_axis(indices, choice[..., None], axis=-1)[..., 0].astype(mx.int32)


def gumbel_noise(shape: tuple[int, ...], key: mx.array) -> mx.array:
    """Gumbel noise of ``shape``; with a key per row (batch, 2) each row draws what it would
    draw alone with its key (a take in a batch samples as it does by itself)."""
    if key.ndim == 1:
        return mx.random.gumbel(shape=shape, key=key)
    row = (1, *shape[1:])
    return mx.concatenate([mx.random.gumbel(shape=row, key=key[b]) for b in range(key.shape[0])])
