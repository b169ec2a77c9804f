"""The batch scheduler (oscgen/service/scheduler.py): which waiting jobs start together."""

from __future__ import annotations

import pytest

from oscgen.service.outbox import file_stem
from oscgen.service.scheduler import Waiting, joiners, next_batch


def W(job_id, seconds=8.0, takes=1, model="musicgen-small", top_k=250, alone=False):
    return Waiting(job_id, model, top_k, seconds, takes, alone)


def test_nothing_waiting_starts_nothing():
    assert next_batch([], 8) == []


def test_compatible_jobs_start_together_in_queue_order_up_to_max_rows():
    waiting = [W(1, takes=2), W(2, takes=4), W(3, takes=4), W(4, takes=2), W(5)]
    assert next_batch(waiting, 8) == [1, 2, 4]  # 3 would make 10 rows; 4 fits; 5 would make 9
    assert next_batch(waiting, 1) == [1]  # max_batch 1: jobs never share a pass
    assert next_batch([W(1, takes=8), W(2)], 4) == [1]  # a job bigger than max_batch still runs, alone


def test_other_models_and_top_k_wait_without_blocking_the_rest():
    waiting = [W(1), W(2, model="musicgen-medium"), W(3, top_k=50), W(4, seconds=30.0), W(5, seconds=9.0)]
    # any lengths: a take is written once it is done and its rows leave the pass
    assert next_batch(waiting, 8) == [1, 4, 5]


def test_waiting_jobs_join_a_running_pass_within_max_rows():
    running = [W(1, takes=2), W(2)]
    waiting = [W(3, takes=4), W(4, model="musicgen-medium"), W(5, takes=2), W(6, alone=True), W(7)]
    assert joiners(running, waiting, 8) == [3, 7]  # 3 rows running + 4 + 1; 5 would make 10
    assert joiners(running, waiting, 3) == []  # the pass is full
    assert joiners([W(1, alone=True)], waiting, 8) == []  # a continuation's pass takes no one
    assert joiners([], waiting, 8) == []


def test_a_job_that_must_run_alone_runs_alone_at_the_head():
    assert next_batch([W(1, alone=True), W(2), W(3)], 8) == [1]
    assert next_batch([W(1), W(2, alone=True), W(3)], 8) == [1, 3]
    assert next_batch([W(2, alone=True), W(3)], 8) == [2]  # at the head it goes first


def test_waiting_of_a_jobs_params():
    params = {"model": "tiny-random", "top_k": 250, "duration": 4.0, "variations": 3}
    assert Waiting.of(7, params) == Waiting(7, "tiny-random", 250, 4.0, 3, False)
    assert Waiting.of(7, params, continuation=True).alone
    assert Waiting.of(7, {**params, "duration": 45.0}).alone  # windowed: past the model's 30 s
    assert Waiting.of(7, {k: v for k, v in params.items() if k != "variations"}).takes == 1


@pytest.mark.parametrize("template, take, name", [
    ("{id}_{slug}", None, "0003_a-b"),
    ("{id}_{slug}", 2, "0003_a-b_take2"),
    ("{id}-{take}_{slug}", 2, "0003-2_a-b"),
    ("{id}-{take}_{slug}", None, "0003-_a-b"),
])
def test_file_names_of_a_jobs_takes(template, take, name):
    assert file_stem(template, 3, "a b", "tiny-random", 1, take=take) == name


def test_a_long_prompt_keeps_its_take_suffix():
    stem = file_stem("{id}_{slug}", 3, "word " * 200, "tiny-random", 1, take=7)
    assert stem.endswith("_take7") and stem != file_stem("{id}_{slug}", 3, "word " * 200, "tiny-random", 1, take=6)
