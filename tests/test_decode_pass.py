"""Continuous batching in the generation core (oscgen.musicgen.decode_pass): takes that join a
running pass, done rows that leave it, and cache slots cut once no row reads them, each take
against the same take generated alone.

Tolerance, as tests/test_batch.py argues: a joined row computes what it computes alone up to
float rounding of GEMMs over more (or fewer) rows, ~1e-6 of logits of order 1, so a draw
changes only on a near-tie of two perturbed scores; codes are asserted equal."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

import _checkpoints as ckpt
from oscgen.musicgen import decode_pass, pipeline
from oscgen.musicgen.batch import Take

TEXTS = [(17, 5, 88, 41, 9, 1), (3, 1), (44, 2, 7, 1)]


@pytest.fixture(scope="module")
def model():
    return ckpt.mlx_pair()[1]


def _alone(model, take, top_k):
    (codes,) = model.generate_takes([take], top_k=top_k)
    return np.array(codes)


def _run(model, first, joiners, top_k, trace=None):
    """``first`` decoded from step 0; ``joiners`` {pass step: takes} join when the pass gets there."""
    run = model.decode_pass(first, top_k)

    def between(run):
        if trace is not None:
            trace.append((run.t, len(run.rows), run.shift))
        for step, takes in joiners.items():
            if run.t == step:
                run.add(takes)

    run.run(between)
    return run, [np.array(run.codes(i)) for i in range(len(run.taken))]


@pytest.mark.parametrize("top_k", [1, 20])
def test_a_take_that_joins_a_running_pass_makes_what_it_makes_alone(model, top_k):
    first = [Take(TEXTS[0], 40, 3)]
    joiners = {9: [Take(TEXTS[1], 30, 7), replace(Take(TEXTS[2], 35, 11), temperature=0.7, cfg_scale=2.0)]}
    run, codes = _run(model, first, joiners, top_k)
    takes = first + joiners[9]
    assert [row.start for row in run.taken] == [0, 9, 9]
    for take, got in zip(takes, codes):
        assert got.shape == (4, take.frames)
        np.testing.assert_array_equal(got, _alone(model, take, top_k))


def test_done_rows_leave_and_slots_no_row_reads_are_cut(model, monkeypatch):
    """A short take, then a long one joining past the first cache block: once the short one is
    done the long one runs alone, its cache cut by the whole block it never reads."""
    monkeypatch.setattr(pipeline, "CPU_CACHE_BLOCK", 8)
    monkeypatch.setattr(pipeline, "CACHE_BLOCK", 8)
    monkeypatch.setattr(decode_pass, "RETIRE_MIN_STEPS", 4)
    first, late = [Take(TEXTS[0], 20, 5)], Take(TEXTS[1], 40, 6)
    trace = []
    run, codes = _run(model, first, {12: [late]}, 20, trace)
    # the short take (23 steps) is done at pass step 23; the long one (43 steps from step 12) goes on
    assert (24, 1, 8) in trace, trace  # alone from then on, 8 slots (one block before step 12) cut
    assert run.shift == 8 and [row.index for row in run.rows] == [1]
    np.testing.assert_array_equal(codes[0], _alone(model, first[0], 20))
    np.testing.assert_array_equal(codes[1], _alone(model, late, 20))


def test_a_batch_of_different_lengths_drops_its_done_rows(model, monkeypatch):
    monkeypatch.setattr(decode_pass, "RETIRE_MIN_STEPS", 4)
    takes = [Take(TEXTS[0], 12, 1), Take(TEXTS[1], 40, 2), Take(TEXTS[2], 25, 3)]
    trace = []
    run, codes = _run(model, takes, {}, 20, trace)
    rows = {t: n for t, n, _ in trace}
    assert rows[10] == 3 and rows[20] == 2 and rows[35] == 1  # 15, 28 and 43 steps
    for take, got in zip(takes, codes):
        np.testing.assert_array_equal(got, _alone(model, take, 20))


def test_a_joined_take_stopped_early_keeps_its_complete_frames(model):
    first, late = [Take(TEXTS[0], 30, 8)], Take(TEXTS[2], 30, 9)
    run = model.decode_pass(first, 20)

    def between(run):
        if run.t == 5:
            run.add([late])
        if run.t == 20:
            run.stop(1)  # 15 of its steps made: 15 - 3 complete frames

    run.run(between)
    got = np.array(run.codes(1))
    assert got.shape == (4, 12)
    np.testing.assert_array_equal(got, _alone(model, late, 20)[:, :12])
    assert np.array(run.codes(0)).shape == (4, 30)


def test_what_cannot_join_is_refused(model):
    unguided = model.decode_pass([Take(TEXTS[0], 20, 1, cfg_scale=1.0)], 20)
    assert unguided.can_join(Take(TEXTS[1], 20, 2, cfg_scale=1.0))
    assert not unguided.can_join(Take(TEXTS[1], 20, 2))  # guidance needs the unconditional rows
    with pytest.raises(ValueError, match="cannot join"):
        unguided.add([Take(TEXTS[1], 20, 2)])
    assert not unguided.can_join(Take(TEXTS[1], 20, 2, cfg_scale=1.0, top_p=0.9))  # top-p shapes the step
    prompt = np.zeros((4, 5), dtype=np.int32)
    assert not unguided.can_join(Take(TEXTS[1], 20, 2, prompt_codes=prompt, cfg_scale=1.0))
    prompted = model.decode_pass([Take(TEXTS[0], 20, 1, prompt_codes=prompt)], 20)
    assert not prompted.can_join(Take(TEXTS[1], 20, 2))


def test_joining_memory_counts_the_slots_each_row_needs(model):
    run = model.decode_pass([Take(TEXTS[0], 20, 1)], 20)
    for _ in range(6):
        run.step()
    late = Take(TEXTS[1], 30, 2)
    assert [t.frames for t in run.joined_takes([late])] == [20, 36]
    assert model.memory_needed(run.joined_takes([late])) > model.memory_needed([run.taken[0].take, late])
    mx.eval(run.tokens)


def _measured(model, seconds: dict) -> None:
    """The step times the model has measured, replaced (in place: an nn.Module keeps dict
    attributes as items, which monkeypatch does not restore)."""
    model.step_seconds.clear()
    model.step_seconds.update(seconds)


@pytest.mark.parametrize("measured,matmul,worth", [
    ({}, 9.0, True),  # nothing measured yet: join
    ({2: 0.10}, 0.03, True),  # 2 takes x 0.03 s more a step < the joiner's own 0.10 s
    ({2: 0.10}, 0.06, False),  # 2 x 0.06 > 0.10: waiting costs the two takes less in all
    ({2: 0.10, 4: 0.20}, 0.0, False),  # a measured two-take step beats the calibration's guess
    ({2: 0.10, 4: 0.14}, 9.0, True),
])
def test_joining_pays_when_the_bigger_step_costs_less_than_the_joiners_own(model, monkeypatch, measured, matmul, worth):
    """``matmul``: what the calibration says 2 more rows add to a pass over the decoder's weights."""
    from oscgen import calibrate

    monkeypatch.setattr(calibrate, "matmul_seconds", lambda rows, nbytes: matmul * rows / 2)
    _measured(model, measured)
    run = model.decode_pass([Take(TEXTS[0], 20, 1)], 20)  # guided: 2 rows a take
    assert run.worth_joining(1) is worth
    assert model.decoder_bytes == sum(p.nbytes for _, p in __import__("mlx.utils").utils.tree_flatten(model.decoder.parameters()))


def test_a_pass_measures_its_step_time_per_row_count(model):
    _measured(model, {})
    run = model.decode_pass([Take(TEXTS[0], 20, 1)], 20)
    run.run(lambda run: None)
    assert set(model.step_seconds) == {2} and 0 < model.step_seconds[2] < 5
