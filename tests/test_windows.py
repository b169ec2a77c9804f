"""The windowed extension of long takes (audiocraft's procedure), as pure logic: the plan, the
seams and the stitching, with a fake window generator that records what each window was given."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from oscgen.musicgen import windows
from oscgen.musicgen.windows import Window


def _audiocraft_plan(total, prompt, window, stride):
    """audiocraft's loop (BaseGenModel._generate_tokens), transcribed over frame counts."""
    out, offset, prompt_length = [], 0, prompt
    while offset + prompt_length < total:
        chunk = min(total - offset, window)
        out.append((offset, prompt_length, chunk))
        prompt_length = chunk - stride
        offset += stride
    return out


def test_five_minutes_in_30_s_windows_with_an_18_s_stride():
    plan = windows.plan(total=15000, prompt=0, window=1500, stride=900)
    assert plan[0] == Window(0, 0, 1500)
    assert plan[1] == Window(900, 600, 1500)  # prompted by the last 12 s of window 0
    assert all(w.prompt == 600 and w.new == 900 for w in plan[1:-1])
    assert plan[-1].offset + plan[-1].frames == 15000
    assert 1500 + sum(w.new for w in plan[1:]) == 15000
    assert len(plan) == 16


def test_a_take_that_fits_one_window_is_one_window():
    assert windows.plan(total=500, prompt=0, window=1500, stride=900) == [Window(0, 0, 500)]
    assert windows.plan(total=1500, prompt=200, window=1500, stride=900) == [Window(0, 200, 1500)]


@given(total=st.integers(1, 20000), prompt=st.integers(0, 1499), stride=st.integers(1, 1499))
def test_plan_is_audiocrafts_loop_and_covers_the_take_exactly(total, prompt, stride):
    if prompt >= total:
        with pytest.raises(ValueError, match="prompt"):
            windows.plan(total, prompt, 1500, stride)
        return
    plan = windows.plan(total, prompt, 1500, stride)
    assert [(w.offset, w.prompt, w.frames) for w in plan] == _audiocraft_plan(total, prompt, 1500, stride)
    assert prompt + sum(w.new for w in plan) == total
    assert all(w.new > 0 and w.frames <= 1500 for w in plan)


def test_bad_strides_are_refused():
    for stride in (0, 1500, 2000):
        with pytest.raises(ValueError, match="stride"):
            windows.plan(3000, 0, 1500, stride)


def _fake_generator(calls, K=4):
    """A window 'generator': forced prompt codes first, then codes that say (window, frame)."""
    def generate(prompt, frames, index, progress):
        calls.append((None if prompt is None else prompt.copy(), frames, index))
        new = frames - (0 if prompt is None else prompt.shape[1])
        fresh = np.full((K, new), 1000 * (index + 1)) + np.arange(new)
        for f in (0.5, 1.0):
            progress(f)
        return fresh if prompt is None else np.concatenate([prompt, fresh], axis=1)
    return generate


def test_each_window_is_prompted_by_the_previous_windows_codes_past_the_stride():
    calls, seen = [], []
    plan = windows.plan(total=100, prompt=0, window=40, stride=25)
    codes = windows.extend(_fake_generator(calls), plan, None, 25, progress=seen.append)
    assert codes.shape == (4, 100)
    first = codes[:, :40]
    assert calls[0][0] is None
    np.testing.assert_array_equal(calls[1][0], first[:, 25:])  # window 1 sees window 0's last 15 frames
    # the take = window 0, then each window's frames past its prompt
    assert (codes[0, 40:65] == 2000 + np.arange(25)).all()
    assert (codes[0, 65:90] == 3000 + np.arange(25)).all()
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert len(calls) == len(plan) == 4


def test_an_audio_prompt_starts_the_take_and_prompts_the_first_window():
    calls = []
    prompt = np.arange(4 * 10).reshape(4, 10)
    plan = windows.plan(total=70, prompt=10, window=40, stride=25)
    codes = windows.extend(_fake_generator(calls), plan, prompt, 25)
    np.testing.assert_array_equal(codes[:, :10], prompt)
    np.testing.assert_array_equal(calls[0][0], prompt)
    assert codes.shape == (4, 70)


def test_cancel_from_progress_stops_in_the_running_window():
    calls = []

    def progress(fraction):
        if fraction > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        windows.extend(_fake_generator(calls), windows.plan(100, 0, 40, 25), None, 25, progress=progress)
    # windows of 40, 40, 40, 25 frames: the whole take passes half way at the end of window 1
    assert len(calls) == 2


def test_window_seeds():
    assert windows.window_seed(1234, 0) == 1234
    seeds = {windows.window_seed(1234, i) for i in range(1, 20)}
    assert len(seeds) == 19 and 1234 not in seeds
    assert windows.window_seed(1234, 3) == windows.window_seed(1234, 3)


def test_stop_ends_the_take_after_the_running_window():
    calls, asked = [], []

    def stop():
        asked.append(len(calls))
        return len(calls) == 2

    codes = windows.extend(_fake_generator(calls), windows.plan(100, 0, 40, 25), None, 25, stop=stop)
    assert len(calls) == 2 and asked == [1, 2]
    assert codes.shape == (4, 65)  # window 0, then window 1's 25 new frames: a take that ends where it stopped


def test_a_window_stopped_inside_ends_the_take_with_its_complete_frames():
    calls = []
    whole = _fake_generator(calls)

    def generate(prompt, frames, index, progress):
        codes = whole(prompt, frames, index, progress)
        return codes[:, :30] if index == 1 else codes  # window 1 stopped after 30 of its 40 frames

    codes = windows.extend(generate, windows.plan(100, 0, 40, 25), None, 25)
    assert len(calls) == 2 and codes.shape == (4, 40 + 15)  # window 0, then window 1's 15 new frames made
    np.testing.assert_array_equal(codes[:, 40:], 2000 + np.arange(15)[None].repeat(4, 0))

    # stopped while the audio prompt was still being forced: the prompt is kept, nothing else
    prompt = np.arange(4 * 10).reshape(4, 10)
    codes = windows.extend(lambda p, f, i, g: p[:, :6], windows.plan(70, 10, 40, 25), prompt, 25)
    np.testing.assert_array_equal(codes, prompt)
