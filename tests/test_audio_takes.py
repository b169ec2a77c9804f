"""Set-ready takes (oscgen/audio): bar-exact lengths over a sweep of tempos, the loop seam on
synthetic tones and chirps, one-shot fades, and Bars' arithmetic for a stopped job."""

from fractions import Fraction

import numpy as np
import pytest

from oscgen.audio import Bars, Finish, finish, stopped, takes

MODEL_RATE, FRAME_RATE, SAMPLES_PER_FRAME = 32000, 50, 640
RATES = (32000, 44100, 48000)


def _exact(bars, bpm, beats_per_bar, rate) -> int:
    """round(bars × beats_per_bar × 60 / bpm × rate) on exact integers/rationals (half to even)."""
    return round(Fraction(bars) * beats_per_bar * 60 * rate / Fraction(bpm))


def test_the_issue_example_is_236308_samples():
    assert Bars(4, 130).samples(32000) == 236308  # 20 ms frames gave 236160


@pytest.mark.parametrize("rate", RATES)
def test_every_whole_tempo_and_bar_count_has_its_exact_length_and_enough_frames(rate):
    for bpm in range(60, 181):
        for bars in (1, 2, 4, 8, 16):
            for beats_per_bar in (3, 4, 7):
                take = Bars(bars, bpm, beats_per_bar, loop=bars % 2 == 0)
                if take.seconds > 30:
                    continue
                assert take.samples(rate) == _exact(bars, bpm, beats_per_bar, rate)
                frames = take.frames(FRAME_RATE, rate)
                # the frames the model makes, resampled, cover the take and a loop's tail
                assert frames * SAMPLES_PER_FRAME * rate // MODEL_RATE >= take.needed_samples(rate)
                assert (frames - 2) * SAMPLES_PER_FRAME * rate / MODEL_RATE < take.needed_samples(rate)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("bpm,bars,beats_per_bar,loop", [
    (130, 1, 4, False), (97.5, 2, 4, True), (61, 1, 3, True), (174, 2, 7, False), (128, 0.5, 4, True),
])
def test_finished_take_is_exactly_that_long_at_the_output_rate(rate, bpm, bars, beats_per_bar, loop):
    take = Bars(bars, bpm, beats_per_bar, loop=loop)
    made = np.random.default_rng(0).standard_normal((1, take.frames(FRAME_RATE, rate) * SAMPLES_PER_FRAME)) * 0.1
    out = finish(made, MODEL_RATE, Finish(sample_rate=rate if rate != MODEL_RATE else 0, fade_in=0.002, fade_out=0.01,
                                          normalize="peak"), take)
    assert out.sample_rate == rate and out.audio.shape == (1, _exact(bars, bpm, beats_per_bar, rate))
    assert out.tempo.bpm == bpm and out.tempo.beats == round(bars * beats_per_bar)
    assert (out.loop is not None) == loop


def test_too_little_audio_for_the_take_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than the 236308 needed"):
        finish(np.zeros((1, 236160), np.float32), MODEL_RATE, Finish(), Bars(4, 130))


# --- the loop seam ---------------------------------------------------------------------------------


def _chirp(n, rate, f0=110.0, f1=1760.0, amplitude=0.5):
    t = np.arange(n) / rate
    sweep = t[-1]
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * sweep))
    return (amplitude * np.sin(phase))[None].astype(np.float32)


def _round_trip(loop_audio, repeats=3):
    return np.concatenate([loop_audio] * repeats, axis=-1)[0].astype(np.float64)


@pytest.mark.parametrize("rate", (32000, 48000))
def test_played_round_the_loop_continues_the_music_at_the_seam(rate):
    take = Bars(1, 123, loop=True, crossfade=0.04)
    n, fade = take.samples(rate), take.crossfade_samples(rate)
    music = _chirp(n + fade + 100, rate)
    looped = takes.loop(music, n, fade)
    assert looped.shape == (1, n)
    # N-1 -> 0 is exactly the chirp's own step N-1 -> N: sample 0 IS the continuation
    assert looped[0, n - 1] == music[0, n - 1] and looped[0, 0] == music[0, n]
    # past the seam the loop is the take untouched
    assert np.array_equal(looped[0, fade:], music[0, fade:n])
    # and the first samples follow the continuation (the head fades in from exactly 0)
    assert np.allclose(looped[0, :8], music[0, n:n + 8], atol=0.5 * np.sin(np.pi / 2 * 8 / fade) + 1e-6)


@pytest.mark.parametrize("frequency", (220.0, 441.7, 1000.0))
def test_a_tone_loops_without_a_click_where_a_plain_cut_clicks(frequency):
    rate = 48000
    take = Bars(1, 127, loop=True)  # 1.889.. s: not a whole number of cycles of any of these
    n, fade = take.samples(rate), take.crossfade_samples(rate)
    t = np.arange(n + fade) / rate
    tone = (0.5 * np.sin(2 * np.pi * frequency * t))[None]
    w = 2 * np.pi * frequency / rate
    # |second difference| of a sine is at most w² × amplitude; equal power over two tones of one
    # frequency can sum to at most √2 × the amplitude, so 1.5 × w² × 0.5 bounds a click-free seam
    bound = 1.5 * w * w * 0.5
    seamless = np.abs(np.diff(_round_trip(takes.loop(tone, n, fade)), 2)).max()
    plain = np.abs(np.diff(_round_trip(tone[:, :n]), 2)).max()
    assert seamless <= bound
    assert plain > 10 * bound  # the test can see a click: the plain cut jumps in phase


def test_equal_power_keeps_the_level_of_uncorrelated_material_through_the_seam():
    rate = 32000
    take = Bars(2, 120, loop=True, crossfade=0.5)  # a long seam, to measure it in many windows
    n, fade = take.samples(rate), take.crossfade_samples(rate)
    noise = np.random.default_rng(7).standard_normal((1, n + fade)).astype(np.float32) * 0.2
    looped = takes.loop(noise, n, fade)[0]
    window = 1600
    rms = np.sqrt((looped[:fade - fade % window].reshape(-1, window).astype(np.float64) ** 2).mean(axis=1))
    level_db = 20 * np.log10(rms / 0.2)
    # 1600 samples of white noise estimate RMS within ±0.4 dB at 4.5 sigma; a linear fade would dip
    # by 3 dB in the middle
    assert np.abs(level_db).max() < 0.4
    fade_in, fade_out = takes.equal_power(fade)
    assert np.allclose(fade_in ** 2 + fade_out ** 2, 1.0) and fade_out[0] == 1.0 and fade_in[0] == 0.0


def test_stereo_loops_each_channel():
    rate = 32000
    take = Bars(1, 140, loop=True)
    n, fade = take.samples(rate), take.crossfade_samples(rate)
    left, right = _chirp(n + fade, rate), _chirp(n + fade, rate, 300.0, 900.0)
    looped = takes.loop(np.concatenate([left, right]), n, fade)
    assert looped.shape == (2, n)
    assert looped[0, 0] == left[0, n] and looped[1, 0] == right[0, n]


# --- one-shots --------------------------------------------------------------------------------------


def test_one_shot_fades_make_the_edges_zero_and_leave_the_middle():
    rate = 48000
    tone = np.full((1, rate), 0.5, np.float32)
    out = finish(tone, rate, Finish(fade_in=0.002, fade_out=0.01))
    assert out.audio[0, 0] == 0.0 and out.audio[0, -1] == 0.0
    assert np.array_equal(out.audio[0, 96:-480], tone[0, 96:-480])
    assert np.all(np.diff(out.audio[0, :96]) >= 0) and np.all(np.diff(out.audio[0, -480:]) <= 0)


def test_a_loop_gets_no_fades_its_edges_are_the_seam():
    rate = 32000
    take = Bars(1, 120, loop=True)
    music = _chirp(take.frames(FRAME_RATE, rate) * SAMPLES_PER_FRAME, rate)
    out = finish(music, rate, Finish(fade_in=0.01, fade_out=0.01), take)
    assert out.audio[0, -1] == music[0, take.samples(rate) - 1] and out.audio[0, 0] == music[0, take.samples(rate)]


# --- stopped early ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loop", (False, True))
def test_a_stopped_bars_take_keeps_the_whole_bars_made(loop):
    take = Bars(8, 120, loop=loop)  # 2 s a bar
    made = _chirp(int(5.3 * MODEL_RATE), MODEL_RATE)
    kept = stopped(made, MODEL_RATE, Finish(sample_rate=48000), take)
    assert kept.bars.bars == 2 and kept.audio.shape == (1, 2 * 96000) and (kept.loop is not None) == loop
    # less than a bar: whole beats; less than a beat: nothing to keep
    assert stopped(made[:, :int(1.3 * MODEL_RATE)], MODEL_RATE, Finish(), take).bars.bars == 0.5
    assert stopped(made[:, :int(0.4 * MODEL_RATE)], MODEL_RATE, Finish(), take) is None
    assert stopped(made[:, :0], MODEL_RATE, Finish(), None) is None
    assert stopped(made[:, :1000], MODEL_RATE, Finish(), None).samples == 1000


def test_fit_never_returns_more_than_asked_or_than_there_is():
    take = Bars(3, 133, 4, loop=True)
    for available in range(0, take.needed_samples(44100) + 5000, 997):
        kept = take.fit(available, 44100)
        if kept is not None:
            assert kept.needed_samples(44100) <= available and kept.bars <= 3


# --- the tempo in the text -------------------------------------------------------------------------


def test_the_tempo_goes_into_the_prompt_unless_it_is_there():
    take = Bars(4, 127.5)
    assert take.prompt("dark techno with acid bass") == "dark techno with acid bass, 127.5 bpm"
    assert take.prompt("funk break, 100 BPM") == "funk break, 100 BPM"
    assert take.prompt("funk break at 96bpm") == "funk break at 96bpm"
    assert take.prompt("ambient", "") == "ambient"
    assert take.prompt("ambient", " in {beats_per_bar}/4 at {bpm} bpm") == "ambient in 4/4 at 127.5 bpm"


@pytest.mark.parametrize("kwargs,message", [
    ({"bars": 0, "bpm": 120}, "bars"), ({"bars": 4, "bpm": -1}, "bpm"), ({"bars": 4, "bpm": float("nan")}, "bpm"),
    ({"bars": 4, "bpm": 120, "beats_per_bar": 0}, "beats_per_bar"), ({"bars": 4, "bpm": 120, "crossfade": 2.0}, "crossfade"),
])
def test_bad_bars_are_value_errors_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Bars(**kwargs)
