"""generate_continuation and generate_long against transformers on oscgen's tiny random models
(mono tiny-random and its stereo twin, both loadable by transformers): greedy codes token for
token and audio to float tolerance, exact lengths, window seams, progress and cancel."""

import warnings

import mlx.core as mx
import numpy as np
import pytest

import _checkpoints as ckpt
import oscgen
from oscgen import api, continuation
from oscgen.musicgen import tiny, weights

PROMPT = "lo-fi hip hop beat with vinyl crackle"


@pytest.fixture(scope="module")
def stereo_dir(tmp_path_factory):
    return tiny.write_random_model(tmp_path_factory.mktemp("stereo-tiny"), "stereo-tiny")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights: noise
        yield


def _model(name, stereo_dir):
    return str(stereo_dir) if name == "stereo" else "tiny-random"


def _reference(name, stereo_dir):
    from transformers import MusicgenForConditionalGeneration

    path = stereo_dir if name == "stereo" else weights.tiny_model_dir()
    return MusicgenForConditionalGeneration.from_pretrained(path).eval()


def _spy_codes(model):
    """Record the codes the engine decodes (the take's whole code sequence)."""
    engine = api.load_model(model)
    seen = []
    decode = engine.decode_audio

    def spy(codes, *args):
        seen.append(np.array(codes))
        return decode(codes, *args)

    engine.decode_audio = spy
    return engine, seen, lambda: setattr(engine, "decode_audio", decode)


def _ids(engine):
    return [engine.tokenizer.encode(PROMPT)]


def _prompt_audio(channels, samples, seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal((channels, samples))).astype(np.float32)


@pytest.mark.parametrize("name, guidance", [("mono", 3.0), ("mono", 1.0), ("stereo", 3.0)],
                         ids=["mono-cfg3", "mono-no-guidance", "stereo-cfg3"])
def test_greedy_continuation_matches_transformers(name, guidance, stereo_dir):
    model = _model(name, stereo_dir)
    engine, seen, restore = _spy_codes(model)
    channels = engine.audio_channels
    audio = _prompt_audio(channels, 640 * 16 + 123)  # ragged: the last frame is padded, as transformers pads it
    new = 24
    try:
        result = oscgen.generate_continuation(audio, PROMPT, duration=new / 50, model=model, top_k=1,
                                              cfg_scale=guidance, seed=0)
    finally:
        restore()
    expected_codes, expected_audio = ckpt.reference_generate(_reference(name, stereo_dir), _ids(engine), new,
                                                             guidance, input_values=audio[None])
    np.testing.assert_array_equal(seen[-1], expected_codes)
    assert expected_codes.shape[-1] == 17 + new
    ours = result.audio.numpy()
    assert ours.shape == expected_audio[0].shape == (channels, (17 + new) * 640)
    # float32 EnCodec/decoder in another summation order: the decoder tests' tolerance
    np.testing.assert_allclose(ours, expected_audio[0], rtol=1e-4, atol=1e-4)
    assert result.prompt_duration == pytest.approx(17 / 50)
    assert result.duration == pytest.approx((17 + new) / 50)


def test_the_prompt_is_forced_and_the_result_decodes_prompt_and_continuation_together():
    engine, seen, restore = _spy_codes("tiny-random")
    audio = _prompt_audio(1, 640 * 10)
    try:
        result = oscgen.generate_continuation(audio, PROMPT, duration=0.3, model="tiny-random", seed=7, top_k=50)
    finally:
        restore()
    prompt_codes = np.array(engine.encode_audio(audio[None]))
    np.testing.assert_array_equal(seen[-1][:, :, :10], prompt_codes)  # sampling never touches the prompt
    whole = np.array(engine.decode_audio(mx.array(seen[-1])))[0]
    np.testing.assert_array_equal(result.audio.numpy(), whole)
    assert result.params["seed"] == 7 and result.prompt_duration == pytest.approx(0.2)


@pytest.mark.parametrize("with_prompt", [False, True], ids=["text", "continuation"])
def test_long_take_windows_are_transformers_prompted_by_the_last_windows_codes(with_prompt, monkeypatch):
    """Windows of 40 frames with a 25-frame stride: each window past the first is transformers'
    greedy generate prompted (decoder_input_ids) by the previous window's last 15 frames."""
    monkeypatch.setattr(continuation, "WINDOW_SECONDS", 0.8)
    engine, seen, restore = _spy_codes("tiny-random")
    audio = _prompt_audio(1, 640 * 8) if with_prompt else None
    total = 80
    try:
        if with_prompt:
            result = oscgen.generate_continuation(audio, PROMPT, duration=(total - 8) / 50, model="tiny-random",
                                                  top_k=1, seed=0, extend_stride=0.5)
        else:
            result = oscgen.generate_long(PROMPT, total / 50, model="tiny-random", top_k=1, seed=0, extend_stride=0.5)
    finally:
        restore()
    codes = seen[-1][0]
    assert codes.shape == (4, total) and result.audio.shape == (1, total * 640)
    reference = _reference("mono", None)
    ids = _ids(engine)
    # window 0: frames 0..39 (an audio prompt's 8 frames first)
    first, _ = ckpt.reference_generate(reference, ids, 40 - (8 if with_prompt else 0), 3.0,
                                       input_values=None if audio is None else audio[None])
    np.testing.assert_array_equal(codes[:, :40], first[0])
    # window n starts at 25n, is prompted by frames 25n .. 25n+14 and adds 25, the last what is
    # left (80 - 50 - 15 = 15): windows.plan's audiocraft loop
    for start, new in ((25, 25), (50, 15)):
        window, _ = ckpt.reference_generate(reference, ids, new, 3.0, decoder_codes=codes[:, start : start + 15])
        np.testing.assert_array_equal(codes[:, start : start + 15 + new], window[0])


def test_long_up_to_30_s_is_generates_take(monkeypatch):
    short = oscgen.generate(PROMPT, duration=0.6, model="tiny-random", seed=11, top_k=20)
    long = oscgen.generate_long(PROMPT, 0.6, model="tiny-random", seed=11, top_k=20)
    np.testing.assert_array_equal(long.audio.numpy(), short.audio.numpy())
    assert long.prompt_duration == 0.0 and long.seed == 11


def test_long_progress_covers_the_whole_take_and_cancel_stops_mid_window(monkeypatch):
    monkeypatch.setattr(continuation, "WINDOW_SECONDS", 0.8)
    seen = []
    result = oscgen.generate_long(PROMPT, 1.8, model="tiny-random", seed=1, extend_stride=0.5,
                                  progress_callback=seen.append)
    assert result.duration == pytest.approx(1.8)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0] < 0.1
    assert len(seen) > 90  # every step of every window reports

    class Stop(Exception):
        pass

    reached = []

    def cancel(fraction):
        reached.append(fraction)
        if fraction > 0.6:
            raise Stop

    with pytest.raises(Stop):
        oscgen.generate_long(PROMPT, 1.8, model="tiny-random", seed=1, extend_stride=0.5, progress_callback=cancel)
    assert 0.6 < reached[-1] < 0.7  # stopped at the step that passed 60 %, in a later window


def test_stop_keeps_the_prompt_and_the_new_frames_made_so_far(monkeypatch):
    """A continuation stopped half way: the prompt followed by the whole new frames decoded until
    then, the same codes the take would have had (the stop only ends decoding), in one window and
    across windows; stopped before any new frame, nothing to keep."""
    engine, seen, restore = _spy_codes("tiny-random")
    audio = _prompt_audio(1, 640 * 10)
    try:
        full = oscgen.generate_continuation(audio, PROMPT, duration=0.8, model="tiny-random", seed=5)
        whole = seen[-1][0]
        asked = []

        def stop():
            asked.append(True)
            return len(asked) >= 25  # the 25th step: 10 prompt frames, a few new ones complete

        kept = oscgen.generate_continuation(audio, PROMPT, duration=0.8, model="tiny-random", seed=5, stop=stop)
        codes = seen[-1][0]
        assert not full.stopped and kept.stopped and full.duration == pytest.approx(0.2 + 0.8)
        assert 10 < codes.shape[1] < whole.shape[1] and kept.audio.shape == (1, codes.shape[1] * 640)
        np.testing.assert_array_equal(codes, whole[:, : codes.shape[1]])
        assert kept.prompt_duration == pytest.approx(0.2)
        with pytest.raises(ValueError, match="before any new music was made"):
            oscgen.generate_continuation(audio, PROMPT, duration=0.8, model="tiny-random", seed=5, stop=lambda: True)
        with pytest.raises(ValueError, match="stop must be callable"):
            oscgen.generate_continuation(audio, PROMPT, duration=0.8, model="tiny-random", stop=3)

        # across windows (40-frame windows, 25-frame stride): stopped in the second window, ~30
        # steps in (window 0 asks ~42 times, window 1 forces its 15 prompt frames first)
        monkeypatch.setattr(continuation, "WINDOW_SECONDS", 0.8)
        full = oscgen.generate_continuation(audio, PROMPT, duration=1.4, model="tiny-random", seed=5,
                                            extend_stride=0.5)
        whole = seen[-1][0]
        asked.clear()
        kept = oscgen.generate_continuation(audio, PROMPT, duration=1.4, model="tiny-random", seed=5,
                                            extend_stride=0.5, stop=lambda: asked.append(True) or len(asked) >= 75)
        codes = seen[-1][0]
        assert kept.stopped and 40 < codes.shape[1] < whole.shape[1] == 80
        np.testing.assert_array_equal(codes, whole[:, : codes.shape[1]])
    finally:
        restore()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration=301.0), r"duration must be in \(0, 300\]"),
        (dict(duration=0.0), "duration"),
        (dict(extend_stride=30.0), "extend_stride"),
        (dict(extend_stride=0.0), "extend_stride"),
        (dict(top_k=-1), "top_k"),
        (dict(prompt=""), "prompt"),
        (dict(output_file="/no/such/folder/x.wav"), "folder"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(kwargs, match):
    args = {**dict(prompt=PROMPT, duration=5.0, model="tiny-random"), **kwargs}
    with pytest.raises(ValueError, match=match):
        oscgen.generate_long(**args)
    with pytest.raises(ValueError, match=match):
        oscgen.generate_continuation(np.zeros(640, np.float32), **args)


def test_prompts_too_long_or_takes_over_five_minutes_are_refused():
    with pytest.raises(ValueError, match="shorter than the model's 30 s"):
        oscgen.generate_continuation(np.zeros(32000 * 30, np.float32), PROMPT, duration=1.0, model="tiny-random")
    with pytest.raises(ValueError, match="longest take"):
        oscgen.generate_continuation(np.zeros(32000 * 10, np.float32), PROMPT, duration=295.0, model="tiny-random")


def test_a_file_prompt_at_another_rate_is_resampled_and_saved_with_the_result(tmp_path):
    import soundfile as sf

    path = tmp_path / "loop.wav"
    sf.write(path, _prompt_audio(2, 44100 // 2).T, 44100)  # stereo 44.1 kHz, 0.5 s
    out = tmp_path / "more.wav"
    result = oscgen.generate_continuation(path, PROMPT, duration=0.5, model="tiny-random", seed=3, output_file=out)
    # 0.5 s at 32 kHz is 16000 samples = 25 frames exactly
    assert result.prompt_duration == pytest.approx(0.5) and result.duration == pytest.approx(1.0)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (32000, 1, 32000)
    assert result.params["audio"] == str(path)
