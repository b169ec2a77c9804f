"""One decoding pass of the generation core (MusicGen.generate_takes): the batch of takes the
decode step advances together, one position of every row a step.

Rows may change between steps:

- a take may **join** a running pass (continuous batching, ``add``): it starts at its own step 0
  while the others are at pass step t.  Its cache rows are written at the same slots as the
  others' (slot = t), and the step gets per-row ``offsets`` (the slot of the row's step 0): its
  position embedding is that of its own step (slot - offset) and attention masks the slots before
  its offset.  MusicGen's positions are absolute sinusoids added to the input, so the row
  computes what it computes alone, to float rounding of the batched GEMMs.  Its PRNG keys are
  placed at its slots (batch.key_table's ``offsets``), so it draws what it draws alone.
- a row that is done may **leave** (``_retire``) once the steps the others still have make the
  retrace of the smaller step worth it (RETIRE_MIN_STEPS); when every row left started past the
  first cache block, the slots before them are cut (``shift``).

What a take made is kept per membership segment, so its codes are collected (``codes``) whatever
rows it shared steps with.  Joining needs the portable step: the CUDA kernels' step takes one
length and one set of knobs for the batch, and prompted passes (forced codes) take no joiners.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import mlx.core as mx

from oscgen.musicgen import batch as batch_lib
from oscgen.musicgen import codebooks
from oscgen.musicgen.batch import Take

#: steps of a membership before its step time is sampled (the first ones trace the step)
TIMING_SKIP = 3

#: a done row leaves the batch (the step retraced for fewer rows, ~0.3-1 s on a 2-core CPU) only
#: when the rows left have at least this many steps to go; a marginal row costs ~28 ms a step
#: there (benchmarks/RESULTS.md, "Continuous batching"), so 32 steps save about a retrace
RETIRE_MIN_STEPS = 32


@dataclass
class Row:
    """A take in the pass: ``index`` its number (order of arrival), ``start`` the pass step of
    its step 0, ``steps`` the steps it needs, ``keep`` the steps it keeps once stopped."""

    index: int
    take: Take
    start: int
    steps: int
    keep: int | None = None

    def run(self, t: int) -> int:
        """Its own steps among the pass's first ``t``."""
        return t - self.start

    def done(self, t: int) -> bool:
        return self.run(t) >= (self.steps if self.keep is None else min(self.keep, self.steps))


class DecodePass:
    """The takes decoding together: ``step`` queues one position of every row (asynchronously),
    ``add`` takes new rows between steps, ``stop`` ends a row early, ``codes`` collects a take."""

    def __init__(self, model, takes: list[Take], top_k: int):
        batch_lib.check_takes(takes, model.num_codebooks, model.vocab_size)
        model._fit_to_device()
        self.model, self.top_k, self.delay = model, top_k, model.codebook_delays
        # as transformers: guidance (and the unconditional rows) only above 1
        self.guided = any(take.cfg_scale > 1.0 for take in takes)
        self.use_top_p = any(0.0 < take.top_p < 1.0 for take in takes)
        self.rows = [Row(i, take, 0, codebooks.steps_for(take.frames, self.delay)) for i, take in enumerate(takes)]
        self.taken = list(self.rows)  # every row ever in the pass, by index
        self.t = 0  # pass steps queued
        self.shift = 0  # cache slots cut from the front: slot = t - shift
        self.forced = batch_lib.forced_table(takes, self.delay, model._positions_table(self.longest).shape[0])
        self.segments: list[tuple[tuple[int, ...], list[mx.array]]] = []  # (take indices, tokens a step)
        self._stacks: dict[int, mx.array] = {}
        self._synced: tuple[float, int, int] | None = None  # (time, steps, segment) of the last wait
        self._setup(fresh=True)
        first = batch_lib.prefill_steps(takes)  # audio prompts: their known steps in one pass
        if first:
            self.cache, self.tokens, known = model._prefill(takes, first, self.cache, self.positions_table,
                                                            self.cross_kv, self.cross_mask, self.guided)
            self.segments[-1][1].extend(known)
            self.t = first

    # ------------------------------------------------------------------ the rows

    @property
    def longest(self) -> int:
        """The pass step after which every row is done (as known now)."""
        return max(row.start + row.steps for row in self.rows)

    @property
    def done(self) -> bool:
        return all(row.done(self.t) for row in self.rows)

    def can_join(self, take: Take) -> bool:
        """Whether ``take`` may join now: the portable step, no prompt codes on either side, and
        guidance / top-p only where the pass's compiled step has them (top-k is the caller's)."""
        return (not self.fused and self.forced is None and take.prompt_codes is None
                and (take.cfg_scale <= 1.0 or self.guided) and (not 0.0 < take.top_p < 1.0 or self.use_top_p))

    def worth_joining(self, count: int) -> bool:
        """Whether ``count`` takes joining now lower the summed wait of every take involved,
        against their starting when the pass is done.  With n takes running and m joining, all
        of about one length, from any point of the pass: wait - join = (1 - f) L [m c(m) -
        (n + m)(c(n + m) - c(n))] for step costs c(k) at k takes, so joining pays when the extra
        cost of the bigger step on every take is below the joiners' own step cost.  c(n) is this
        pass's measured step; another count's, where it ran in this process, its measurement,
        else c(n) plus the difference of the decoder's matmuls at the two row counts by the
        calibration (calibrate.matmul_seconds; none known, a GPU: no difference)."""
        n, m = len(self.rows), count
        per = 2 if self.guided else 1
        measured = self.model.step_seconds
        here = measured.get(n * per)
        if here is None:
            return True  # nothing measured yet (the pass's first steps): the batch is the bet

        from oscgen import calibrate

        weights = self.model.decoder_bytes
        then = calibrate.matmul_seconds(n * per, weights)

        def cost(takes: int) -> float:
            if takes * per in measured:
                return measured[takes * per]
            now = calibrate.matmul_seconds(takes * per, weights)
            return max(0.0, here + (now - then)) if now is not None and then is not None else here

        return (n + m) * (cost(n + m) - here) < m * cost(m)

    def add(self, takes: list[Take]) -> list[int]:
        """``takes`` join at the next step (each ``can_join``); returns their indices."""
        batch_lib.check_takes(takes, self.model.num_codebooks, self.model.vocab_size)
        if not all(self.can_join(take) for take in takes):
            raise ValueError("these takes cannot join this pass (see DecodePass.can_join)")
        new = [Row(len(self.taken) + i, take, self.t, codebooks.steps_for(take.frames, self.delay))
               for i, take in enumerate(takes)]
        start = mx.full((len(new), self.model.num_codebooks), self.model.start_token_id, dtype=mx.int32)
        self._regroup(list(range(len(self.rows))), len(new))
        self.tokens = mx.concatenate([self.tokens, start])
        self.rows += new
        self.taken += new
        self._setup()
        return [row.index for row in new]

    def stop(self, index: int) -> None:
        """End take ``index`` after the steps queued so far (its complete frames are kept)."""
        row = self.taken[index]
        if row.keep is None:
            row.keep = max(0, row.run(self.t))

    def finished(self, index: int) -> bool:
        return self.taken[index].done(self.t)

    def progress(self, index: int) -> float:
        """The share of take ``index``'s steps computed (the queued step not counted)."""
        row = self.taken[index]
        return min(1.0, max(0, row.run(self.t - 1)) / row.steps)

    def joined_takes(self, takes: list[Take]) -> list[Take]:
        """The rows with ``takes`` joined now, each as a take as long as the cache slots it
        needs (its frames + its offset): what MusicGen.memory_needed checks the join against."""
        ends = [(row.take, row.start - self.shift) for row in self.rows] + [(take, self.t - self.shift) for take in takes]
        return [replace(take, frames=take.frames + offset) for take, offset in ends]

    def codes(self, index: int) -> mx.array:
        """Take ``index``'s codes (codebooks, frames) int32, delay undone, prompt frames
        included: its complete frames once it is done or stopped."""
        row = self.taken[index]
        parts = [self._stacked(n)[members.index(index)] for n, (members, tokens) in enumerate(self.segments)
                 if index in members and tokens]
        sequence = mx.concatenate(parts, axis=-1)[None]  # step s made position s+1
        kept = min(row.run(self.t), row.steps if row.keep is None else row.keep)
        return codebooks.undelay(sequence, self.delay, batch_lib.complete_frames(row.take, kept, self.delay))[0]

    def _stacked(self, n: int) -> mx.array:
        """Segment ``n``'s tokens as (rows, codebooks, steps), stacked once per length."""
        tokens = self.segments[n][1]
        cached = self._stacks.get(n)
        if cached is None or cached.shape[-1] != len(tokens):
            cached = self._stacks[n] = mx.stack(tokens, axis=-1)
        return cached

    # ------------------------------------------------------------------ stepping

    def step(self) -> None:
        """Queue the next position of every row (rows that are done leave first when that pays)."""
        self._retire()
        slot = self.t - self.shift
        if slot == self.cache[0].shape[3]:  # a block more of cache, once every `block` steps
            self.cache = self.model.decoder.grow_cache(self.cache, slot + self.block)
        extra = (self.offsets,) if self.joined else ()
        extra += () if self.forced is None else (self.forced,)
        self.tokens, self.cache = self.step_fn(
            self.tokens, mx.array(slot, dtype=mx.int32), self.keys[slot], self.knobs, self.frames,
            self.positions_table, self.cache, self.cross_kv, self.cross_mask, *extra,
        )
        mx.async_eval(self.tokens, self.cache)
        self.segments[-1][1].append(self.tokens)
        self.t += 1

    def wait_previous(self) -> bool:
        """Wait for the step before the one queued last (the device has that one queued);
        False when fewer than two steps ran.  Samples the step's time at this row count
        (``model.step_seconds``, what ``worth_joining`` weighs)."""
        tokens = self.segments[-1][1]
        if len(tokens) >= 2:
            mx.eval(tokens[-2])
            self._sample(len(tokens))
            return True
        if len(self.segments) >= 2 and tokens and self.segments[-2][1]:
            mx.eval(self.segments[-2][1][-1])
            return True
        return False

    def run(self, between: Callable[["DecodePass"], None] | None = None) -> None:
        """Step until every row is done.  ``between(self)`` runs after each step once the step
        before it is computed (the device has the queued one): it may ``stop`` rows, ``add``
        takes and collect finished ones; if it raises, decoding stops and the exception
        propagates."""
        while not self.done:
            self.step()
            if between is not None and self.wait_previous():
                between(self)
        self.finish()

    def untimed(self) -> None:
        """The time until the next wait is not a step's (the caller did other work)."""
        self._synced = None

    def _sample(self, steps: int) -> None:
        now = time.perf_counter()
        last, self._synced = self._synced, (now, steps, len(self.segments))
        if last is None or last[2] != len(self.segments) or steps - last[1] != 1 or steps <= TIMING_SKIP:
            return
        rows = self.cache[0].shape[1]
        old = self.model.step_seconds.get(rows)
        self.model.step_seconds[rows] = now - last[0] if old is None else 0.8 * old + 0.2 * (now - last[0])

    def finish(self) -> None:
        """Wait for the last step; check the CUDA kernels' error flag where they ran."""
        mx.eval([tokens[-1] for _, tokens in self.segments if tokens])
        if self.fused:
            self.model._fused.check()

    # ------------------------------------------------------------------ changing the rows

    def _retire(self) -> None:
        """Done rows leave once the others' remaining steps pay for the retrace."""
        live = [i for i, row in enumerate(self.rows) if not row.done(self.t)]
        if len(live) == len(self.rows) or not live or self.fused:
            return
        if max(self.rows[i].start + self.rows[i].steps for i in live) - self.t < RETIRE_MIN_STEPS:
            return
        self._regroup(live, 0)
        self.tokens = mx.take(self.tokens, mx.array(live), axis=0)
        if self.forced is not None:
            self.forced = mx.take(self.forced, mx.array(live), axis=0)
        self.rows = [self.rows[i] for i in live]
        # slots before every row's step 0 (whole blocks of them) are read by no one: cut them
        cut = (min(row.start for row in self.rows) - self.shift) // self.block * self.block
        if cut > 0:
            self.cache = [kv[:, :, :, cut:] for kv in self.cache]
            self.shift += cut
        self._setup()

    def _regroup(self, keep: list[int], new: int) -> None:
        """The cache rows of ``keep`` (conditional ones, then, when guided, their unconditional
        ones), with ``new`` empty rows after each group."""
        B = len(self.rows)
        groups = [keep, [B + i for i in keep]] if self.guided else [keep]
        _, _, heads, window, head_dim = self.cache[0].shape
        empty = [self.model.decoder._empty_cache((new, heads, window, head_dim))] if new else []
        self.cache = [mx.concatenate([piece for group in groups for piece in [mx.take(layer, mx.array(group), axis=1), *empty]],
                                     axis=1) for layer in self.cache]

    def _setup(self, fresh: bool = False) -> None:
        """Everything the step takes that depends on the rows: conditioning and cross-attention
        inputs, per-row tables, and the compiled step for them."""
        model, takes = self.model, [row.take for row in self.rows]
        states, mask, texts = model._batch_conditioning(takes, self.guided)
        self.cross_kv, self.cross_mask = model._cross_attention(states, mask, self.longest - self.t, len(takes), texts)
        self.block = model_cache_block()
        if fresh:
            self.cache = model.decoder.new_cache(states.shape[0], self.block)
            self.tokens = mx.full((len(takes), model.num_codebooks), model.start_token_id, dtype=mx.int32)
            self.fused = model._uses_fused(self.cross_kv, states.shape[0], self.use_top_p, takes)
        offsets = [row.start - self.shift for row in self.rows]
        self.joined = any(offsets)
        self.positions_table = model._positions_table(max(row.steps for row in self.rows))
        self.keys = batch_lib.key_table(takes, self.delay, self.longest - self.shift, offsets)
        self.offsets = mx.array(offsets, dtype=mx.int32)
        self.knobs = batch_lib.knob_table(takes)
        self.frames = mx.array([take.frames for take in takes], dtype=mx.int32)
        self.step_fn = model._step(self.top_k, self.use_top_p, self.guided, self.fused, self.forced is not None,
                                   self.joined)
        mx.eval(self.cross_kv, self.cross_mask, self.cache, self.positions_table, self.keys, self.offsets,
                *([] if self.forced is None else [self.forced]))
        self.segments.append((tuple(row.index for row in self.rows), []))


def model_cache_block() -> int:
    from oscgen.musicgen.pipeline import cache_block  # the engine's constant, read at call time (tests patch it)

    return cache_block()
