"""Takes longer than the model's 30 s context, by audiocraft's windowed extension
(``BaseGenModel._generate_tokens``): generate a window of at most ``window`` frames; the next
window is prompted by that window's codes from ``stride`` frames on (its last window − stride
frames) and adds ``stride`` new frames; the take is the first window followed by each later
window's new frames.  An audio prompt (a continuation) is the first window's prompt.

This module only plans and stitches; each window is one call of the batched generation core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    offset: int  # frame of the take where this window starts
    prompt: int  # frames forced from what came before (0: none)
    frames: int  # frames of the window, prompt included

    @property
    def new(self) -> int:
        return self.frames - self.prompt


def plan(total: int, prompt: int, window: int, stride: int) -> list[Window]:
    """The windows of a take of ``total`` frames (``prompt`` of them given) — audiocraft's loop:
    while offset + prompt < total: a window of min(total − offset, window) frames, then
    prompt = that − stride, offset += stride."""
    if not 0 < stride < window:
        raise ValueError(f"stride must be in (0, {window}) frames, got {stride}")
    if not 0 <= prompt < min(total, window):
        raise ValueError(f"a prompt of {prompt} frames must be shorter than the take ({total}) and a window ({window})")
    windows, offset = [], 0
    while offset + prompt < total:
        frames = min(total - offset, window)
        windows.append(Window(offset, prompt, frames))
        prompt = frames - stride
        offset += stride
    return windows


def window_seed(seed: int, index: int) -> int:
    """Window 0 draws with ``seed`` itself (a take that fits one window is generate()'s take);
    later windows with independent seeds derived from (seed, index)."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def extend(
    generate_window: Callable[[np.ndarray | None, int, int, Callable[[float], None]], np.ndarray],
    windows: list[Window],
    prompt_codes: np.ndarray | None,
    stride: int,
    progress: Callable[[float], None] | None = None,
    cost: Callable[[Window], float] = lambda w: w.frames,
    stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Run the windows in order: ``generate_window(prompt_codes or None, frames, index,
    progress)`` → codes (K, frames) for each, progress over the whole take (windows weighted by
    ``cost``); returns the take's codes (K, total), or fewer when the take was stopped: a
    window that returns fewer frames than planned was stopped inside (its complete frames are
    kept and the take ends there), and ``stop()`` true after a window ends the take there too.
    If ``progress`` raises, the exception propagates from whichever window is running (that is
    how callers cancel)."""
    weights = [float(cost(w)) for w in windows]
    total_cost = sum(weights)
    parts = [] if prompt_codes is None else [prompt_codes]
    carried = prompt_codes
    done = 0.0
    for index, (window, weight) in enumerate(zip(windows, weights)):
        if (0 if carried is None else carried.shape[1]) != window.prompt:
            raise AssertionError(f"window {index} expects a prompt of {window.prompt} frames")

        def window_progress(fraction: float, done=done, weight=weight) -> None:
            if progress is not None:
                progress((done + weight * min(max(fraction, 0.0), 1.0)) / total_cost)

        codes = np.asarray(generate_window(carried if window.prompt else None, window.frames, index, window_progress))
        if codes.shape[1] > window.frames:
            raise AssertionError(f"window {index} returned {codes.shape[1]} frames, not {window.frames}")
        parts.append(codes[:, window.prompt :])
        if codes.shape[1] < window.frames:  # stopped inside this window: its complete frames end the take
            break
        carried = codes[:, stride:]
        done += weight
        if stop is not None and index + 1 < len(windows) and stop():
            break
    return np.concatenate(parts, axis=1)


def generate(
    engine,
    prompt: str,
    frames: int,
    *,
    prompt_codes: np.ndarray | None = None,
    window: int,
    stride: int,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
    top_k: int = 250,
    **knobs,
) -> np.ndarray:
    """A take of ``frames`` frames (``prompt_codes`` (K, P) among them, first) from
    ``engine`` (pipeline.MusicGen), window after window through its batched core
    (``generate_takes``) → codes (K, frames).  ``knobs``: the take's temperature, top_p and
    cfg_scale.  ``progress`` runs over the whole take up to the core's DECODE_SHARE.  ``stop()``
    is asked after every decoding step: once true, the running window ends with its complete
    frames and the take with it (codes (K, fewer frames); the prompt's frames are always kept)."""
    import dataclasses

    from oscgen.musicgen.batch import Stop
    from oscgen.musicgen.codebooks import steps_for
    from oscgen.musicgen.pipeline import DECODE_SHARE

    given = 0 if prompt_codes is None else int(prompt_codes.shape[1])
    plan_ = plan(frames, given, window, stride)

    def generate_window(carried, window_frames, index, window_progress):
        take = dataclasses.replace(engine.take(prompt, window_frames, window_seed(seed, index), carried), **knobs)
        halt = None if stop is None else Stop()

        def step_progress(fraction: float) -> None:
            if halt is not None and stop():  # the core then keeps this window's complete frames
                halt.stop()
            window_progress(fraction / DECODE_SHARE)

        (codes,) = engine.generate_takes([take], top_k=top_k, progress=step_progress, stop=halt)
        return np.array(codes)

    def overall(fraction: float) -> None:
        if progress is not None:
            progress(DECODE_SHARE * fraction)

    return extend(generate_window, plan_, prompt_codes, stride, overall,
                  cost=lambda w: steps_for(w.frames, engine.codebook_delays), stop=stop)
