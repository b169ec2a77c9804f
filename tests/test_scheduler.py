"""The daemon's batch scheduler (oscgen/service/scheduler.py): pure rules, tested alone."""

from hypothesis import given
from hypothesis import strategies as st

from oscgen.service import scheduler


def _take(i, model="musicgen-small", top_k=250, **extra):
    return {"id": i, "params": {"model": model, "top_k": top_k, "temperature": 1.0, **extra}}


def _ids(batch):
    return [t["id"] for t in batch]


def params(take):
    return take["params"]


def test_an_empty_queue_starts_nothing():
    assert scheduler.next_batch([], 4, params) == []


def test_takes_for_the_same_model_and_top_k_start_together_up_to_max_batch():
    waiting = [_take(i) for i in range(1, 7)]
    assert _ids(scheduler.next_batch(waiting, 4, params)) == [1, 2, 3, 4]
    assert _ids(scheduler.next_batch(waiting, 1, params)) == [1]
    assert _ids(scheduler.next_batch(waiting, 0, params)) == [1]  # the first always starts


def test_knobs_per_take_do_not_split_a_batch_but_model_and_top_k_do():
    waiting = [_take(1), _take(2, temperature=0.5, cfg_scale=1.0, duration=20.0), _take(3, model="musicgen-medium"),
               _take(4, top_k=50), _take(5, seed=7)]
    assert _ids(scheduler.next_batch(waiting, 8, params)) == [1, 2, 5]
    # what could not join keeps its place for the next batch
    rest = [t for t in waiting if t["id"] not in (1, 2, 5)]
    assert _ids(scheduler.next_batch(rest, 8, params)) == [3]


def test_variation_seeds_count_up_from_a_fixed_seed_or_are_all_drawn():
    assert scheduler.variation_seeds(10, 3, 2**31) == [10, 11, 12]
    assert scheduler.variation_seeds(2**31 - 1, 2, 2**31) == [2**31 - 1, 0]
    assert scheduler.variation_seeds(None, 2, 2**31) == [None, None]


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from([0, 250])), max_size=12),
       st.integers(min_value=1, max_value=8))
def test_a_batch_is_the_head_and_its_matching_takes_in_queue_order(keys, max_batch):
    waiting = [_take(i, model=m, top_k=k) for i, (m, k) in enumerate(keys)]
    batch = scheduler.next_batch(waiting, max_batch, params)
    if not waiting:
        assert batch == []
        return
    assert batch[0] is waiting[0] and 1 <= len(batch) <= max_batch
    assert {scheduler.batch_key(t["params"]) for t in batch} == {scheduler.batch_key(waiting[0]["params"])}
    positions = [waiting.index(t) for t in batch]
    assert positions == sorted(positions)
    # nothing that matches was skipped while there was room
    matching = [t for t in waiting if scheduler.batch_key(t["params"]) == scheduler.batch_key(waiting[0]["params"])]
    assert batch == matching[:max_batch]
