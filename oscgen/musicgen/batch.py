"""What a batch of takes is, row by row, for the one generation core (MusicGen.generate_takes).

A batch decodes N takes in one pass: every step runs the decoder once over all rows (with
guidance, N conditional rows then N unconditional ones, transformers' layout), so the step's
weight reads are shared.  Each take brings its own text, seed, length and, optionally, prompt
codes; the knobs (temperature, top-k, top-p, guidance) are the batch's.

The codebook delay pattern (codebooks.py) per row: codebook k is delayed by ``delay[k]``
positions, position 0 holds the decoder start token, frame f of codebook k sits at position
f + delay[k] + 1, and ``frames + max(delay)`` steps fill a row.  Prompt codes (a continuation's audio) are forced at
their positions exactly as transformers' ``build_delay_pattern_mask`` places audio-prompted
``decoder_input_ids``: where the step runs there (it fills the cache), the draw is overridden;
while every token of every row is known (start tokens and prompt codes: ``prefill_steps``), the
cache is filled in one forward pass instead (``known_positions``), as transformers runs its
``decoder_input_ids`` before the first step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import mlx.core as mx
import numpy as np

from oscgen.musicgen.codebooks import steps_for

#: forced-token table entry of a position the step samples
FREE = -1


@dataclass(frozen=True)
class Take:
    """One row of a batch.

    ``input_ids``: the T5 token ids of this take's text (the batch pads and masks them);
    ``frames``: code frames of the take, prompt included; ``seed``: its sampling seed (a take
    decoded in a batch draws the same noise as alone); ``prompt_codes``: (codebooks, P) codes
    forced as the first P < frames frames, or None.  ``temperature``, ``top_p`` (0 = off) and
    ``cfg_scale`` (1 = off) are per take (array inputs of the step); top-k is the batch's."""

    input_ids: tuple[int, ...]
    frames: int
    seed: int = 0
    prompt_codes: np.ndarray | None = None
    temperature: float = 1.0
    top_p: float = 0.0
    cfg_scale: float = 3.0

    @property
    def prompt_frames(self) -> int:
        return 0 if self.prompt_codes is None else int(self.prompt_codes.shape[1])


def check_takes(takes: list[Take], num_codebooks: int, vocab_size: int) -> None:
    """ValueError naming the take and what is wrong with it."""
    if not takes:
        raise ValueError("a batch needs at least one take")
    for i, take in enumerate(takes):
        if not take.input_ids:
            raise ValueError(f"take {i}: input_ids is empty")
        if take.frames < 1:
            raise ValueError(f"take {i}: frames must be >= 1, got {take.frames}")
        if not (take.temperature > 0 and take.cfg_scale >= 1 and 0 <= take.top_p <= 1):
            raise ValueError(f"take {i}: needs temperature > 0, cfg_scale >= 1 and top_p in [0, 1], got "
                             f"{take.temperature}, {take.cfg_scale}, {take.top_p}")
        codes = take.prompt_codes
        if codes is None:
            continue
        if codes.ndim != 2 or codes.shape[0] != num_codebooks:
            raise ValueError(f"take {i}: prompt_codes must be ({num_codebooks}, frames), got {codes.shape}")
        if not 0 < codes.shape[1] < take.frames:
            raise ValueError(f"take {i}: prompt_codes has {codes.shape[1]} frames; it needs 1 .. frames-1 "
                             f"({take.frames - 1}) so that something is generated")
        if codes.min() < 0 or codes.max() >= vocab_size:
            raise ValueError(f"take {i}: prompt_codes must be codes in [0, {vocab_size})")


def knob_table(takes: list[Take]) -> mx.array:
    """(batch, 3) float32 per take: cfg_scale, temperature, top_p (1.0 where top-p is off: the
    step then keeps that row's distribution as it is)."""
    return mx.array([[t.cfg_scale, t.temperature, t.top_p if 0.0 < t.top_p < 1.0 else 1.0] for t in takes],
                    dtype=mx.float32)


def padded_text(takes: list[Take], block: int) -> tuple[mx.array, mx.array]:
    """input_ids and 1/0 attention mask (batch, length), right-padded with id 0 (T5's pad) to
    the longest text, rounded up to a multiple of ``block`` (compiled steps are shared per block)."""
    length = max(len(t.input_ids) for t in takes)
    length = -(-length // block) * block
    ids = np.zeros((len(takes), length), dtype=np.int32)
    mask = np.zeros((len(takes), length), dtype=np.int32)
    for row, take in enumerate(takes):
        ids[row, : len(take.input_ids)] = take.input_ids
        mask[row, : len(take.input_ids)] = 1
    return mx.array(ids), mx.array(mask)


def shared_text(takes: list[Take]) -> bool:
    """Whether every take has the same text (variations): the conditioning is computed once."""
    return all(t.input_ids == takes[0].input_ids for t in takes)


def forced_table(takes: list[Take], delay: tuple[int, ...], width: int) -> mx.array | None:
    """(batch, codebooks, width) int32, indexed by step: entry t is the code forced at position
    t + 1 (what step t makes), FREE where the step samples; None when no take has prompt codes."""
    if all(t.prompt_codes is None for t in takes):
        return None
    table = np.full((len(takes), len(delay), width), FREE, dtype=np.int32)
    for row, take in enumerate(takes):
        if take.prompt_codes is None:
            continue
        P = take.prompt_frames
        for k, d in enumerate(delay):
            table[row, k, d : d + P] = take.prompt_codes[k]
    return mx.array(table)


def prefill_steps(takes: list[Take]) -> int:
    """Steps whose every token is known before decoding: with every take prompted, the first
    min(P) steps make only start tokens and prompt codes (0 when a take has no prompt)."""
    if any(take.prompt_codes is None for take in takes):
        return 0
    return min(take.prompt_frames for take in takes)


def known_positions(takes: list[Take], delay: tuple[int, ...], start_token: int, count: int) -> np.ndarray:
    """(batch, codebooks, count + 1) int32: the tokens at positions 0 .. count, what steps
    0 .. count-1 force (``count`` <= prefill_steps): frame f of codebook k at position
    f + delay[k] + 1, start tokens before it."""
    table = np.full((len(takes), len(delay), count + 1), start_token, dtype=np.int32)
    for row, take in enumerate(takes):
        for k, d in enumerate(delay):
            if count > d:
                table[row, k, d + 1 :] = take.prompt_codes[k, : count - d]
    return table


def key_table(takes: list[Take], delay: tuple[int, ...], steps: int, offsets: list[int] | None = None) -> mx.array:
    """(steps, batch, 2) PRNG keys by cache slot: row b's key at slot ``offsets[b]`` + t is
    split(key(seed_b), steps_b)[t], what the take draws alone at its step t (a split depends on
    its count, so each row splits for its own steps); a row that joined a running pass
    (decode_pass.py) has its step 0 at its offset (default 0)."""
    rows = []
    for b, take in enumerate(takes):
        own = mx.random.split(mx.random.key(take.seed), steps_for(take.frames, delay))
        offset = offsets[b] if offsets else 0
        if offset:
            own = mx.concatenate([mx.broadcast_to(own[:1], (offset, 2)), own])
        if own.shape[0] < steps:
            own = mx.concatenate([own, mx.broadcast_to(own[-1:], (steps - own.shape[0], 2))])
        rows.append(own[:steps])
    return mx.stack(rows, axis=1)


def complete_frames(take: Take, steps_done: int, delay: tuple[int, ...]) -> int:
    """Frames of a take whose every codebook is decoded after ``steps_done`` steps."""
    return max(0, min(take.frames, steps_done - max(delay)))


class Stop:
    """Ends takes early: ``stop(row)`` one take, ``stop()`` the whole batch.  Thread-safe; the
    core checks it once a step and returns each stopped take's complete frames so far."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: set[int] = set()
        self._all = False

    def stop(self, row: int | None = None) -> None:
        with self._lock:
            if row is None:
                self._all = True
            else:
                self._rows.add(int(row))

    def stopped(self, rows: int) -> set[int]:
        """The rows (of ``rows``) stopped so far."""
        with self._lock:
            return set(range(rows)) if self._all else {r for r in self._rows if r < rows}
