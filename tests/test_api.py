"""oscgen.generate / load_model / AudioData / GenerationResult and the generate/demo commands,
on the built-in tiny random model (real loading path: written by oscgen, converted, cached)."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import oscgen
from oscgen import api, audio
from oscgen.musicgen import pipeline
from oscgen.musicgen.weights import ModelNotFoundError

TINY = "tiny-random"
pytestmark = pytest.mark.filterwarnings("ignore:.*random weights.*:UserWarning")


def _generate(**kwargs):
    kwargs = {"prompt": "warm analog pad", "duration": 0.5, "model": TINY, **kwargs}
    return oscgen.generate(**kwargs)


def test_result_contract():
    result = _generate(seed=11)
    assert isinstance(result, api.GenerationResult) and isinstance(result.audio, api.AudioData)
    assert result.audio.shape == (1, 25 * 640)
    assert result.sample_rate == result.audio.sample_rate == 32000
    assert result.duration == pytest.approx(0.5) and result.audio.duration == pytest.approx(0.5)
    samples = result.audio.numpy()
    assert samples.dtype == np.float32 and samples.shape == (1, 16000) and np.isfinite(samples).all()
    assert samples.std() > 0
    assert result.seed == 11
    assert result.random_weights and "noise" in result.warning
    assert result.params == {
        "prompt": "warm analog pad", "duration": 0.5, "model": TINY, "temperature": 1.0, "top_k": 250,
        "top_p": 0.0, "cfg_scale": 3.0, "seed": 11, "output_file": None,
    }


@pytest.mark.parametrize("duration,frames", [(0.001, 1), (0.03, 2), (1.234, 62)])
def test_frames_are_rounded_duration_times_50(duration, frames):
    assert _generate(duration=duration, seed=0).audio.shape == (1, frames * 640)


def test_same_seed_bit_identical_random_seed_reported_and_reusable():
    a = _generate(seed=5, top_p=0.9)
    b = _generate(seed=5, top_p=0.9)
    assert np.array_equal(a.audio.numpy(), b.audio.numpy())
    assert not np.array_equal(a.audio.numpy(), _generate(seed=6, top_p=0.9).audio.numpy())
    drawn = _generate()
    assert isinstance(drawn.seed, int) and 0 <= drawn.seed < 2**31
    again = oscgen.generate(**drawn.params)
    assert np.array_equal(drawn.audio.numpy(), again.audio.numpy())


def test_progress_monotone_ends_with_exactly_one():
    seen = []
    _generate(seed=1, progress_callback=seen.append)
    assert len(seen) > 10
    assert seen == sorted(seen) and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


def test_raising_callback_cancels_and_propagates():
    class Cancelled(Exception):
        pass

    calls = []

    def cancel(fraction):
        calls.append(fraction)
        if len(calls) == 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        _generate(duration=5.0, seed=1, progress_callback=cancel)
    assert len(calls) == 2


def test_output_file_is_a_32khz_wav_of_the_right_length(tmp_path):
    out = tmp_path / "take.wav"
    result = _generate(duration=0.7, seed=2, output_file=out)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames, info.format) == (32000, 1, 35 * 640, "WAV")
    written, _ = sf.read(str(out), dtype="float32")
    expected = np.clip(result.audio.numpy()[0], -1, 1)
    assert np.abs(written - expected).max() < 1e-4  # 16-bit PCM
    assert result.params["output_file"] == str(out)
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]  # no temp file left behind


def test_save_float_wav_round_trips_exactly(tmp_path):
    result = _generate(seed=3)
    result.save(tmp_path / "f.wav", subtype="FLOAT")
    back, rate = sf.read(str(tmp_path / "f.wav"), dtype="float32", always_2d=True)
    assert rate == 32000 and np.array_equal(back.T, result.audio.numpy())


def test_model_is_cached_across_calls():
    assert api.load_model(TINY) is api.load_model(TINY)


def test_load_model_at_a_precision_reloads_only_when_it_changes():
    import mlx.core as mx

    try:
        half = api.load_model(TINY, dtype="float16")
        assert half.decoder.dtype == mx.float16 and half.decoder_precision == "float16"
        assert api.load_model(TINY) is half  # no precision asked: the warm model, whatever it is
        assert api.load_model(TINY, dtype="float16") is half
        full = api.load_model(TINY, dtype="float32")
        assert full is not half and full.decoder.dtype == mx.float32
        with pytest.raises(ValueError, match="bits"):
            api.load_model(TINY, bits=3)
        assert api.load_model(TINY) is full  # a bad precision keeps the warm model
    finally:
        api.load_model(TINY, dtype="float32")  # the other tests expect float32


BAD = [
    ({"prompt": ""}, r"prompt must be a non-empty string"),
    ({"prompt": "   "}, r"prompt must be a non-empty string"),
    ({"prompt": 42}, r"prompt must be a non-empty string"),
    ({"duration": 0}, r"duration must be in \(0, 30\] seconds"),
    ({"duration": -1}, r"duration must be in \(0, 30\] seconds"),
    ({"duration": 30.5}, r"duration must be in \(0, 30\] seconds"),
    ({"duration": math.nan}, r"duration must be a finite number in \(0, 30\]"),
    ({"duration": "5"}, r"duration must be a finite number"),
    ({"temperature": 0}, r"temperature must be > 0"),
    ({"temperature": math.inf}, r"temperature must be a finite number > 0"),
    ({"top_k": -1}, r"top_k must be >= 0 \(0 = off, 1 = greedy\)"),
    ({"top_k": 2.5}, r"top_k must be an integer >= 0"),
    ({"top_p": 1.5}, r"top_p must be in \[0, 1\]"),
    ({"top_p": -0.1}, r"top_p must be in \[0, 1\]"),
    ({"cfg_scale": 0.5}, r"cfg_scale must be >= 1"),
    ({"seed": -1}, r"seed must be None or in \[0, 4294967295\]"),
    ({"seed": 2**32}, r"seed must be None or in \[0, 4294967295\]"),
    ({"seed": "x"}, r"seed must be an integer"),
    ({"progress_callback": 3}, r"progress_callback must be callable"),
    ({"output_file": "take.mp9"}, r"cannot tell the audio format"),
    ({"output_file": "/nonexistent-folder/take.wav"}, r"output_file's folder '/nonexistent-folder' does not exist"),
]


@pytest.mark.parametrize("kwargs,message", BAD, ids=[next(iter(k)) + "=" + repr(next(iter(k.values()))) for k, _ in BAD])
def test_bad_arguments_raise_value_error_naming_argument_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _generate(**kwargs)


def test_unknown_model_is_a_value_error_that_says_where_it_looked(tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        _generate(model=str(tmp_path / "nowhere"))
    assert isinstance(err.value, ValueError) and "nowhere" in str(err.value)
    with pytest.raises(ValueError):
        api.load_model("")


def test_atomic_write_never_overwrites_when_asked(tmp_path):
    target = tmp_path / "a.wav"
    audio.write_audio(target, np.zeros((1, 100)), 32000)
    before = target.read_bytes()
    with pytest.raises(FileExistsError):
        audio.write_audio(target, np.ones((1, 100)) * 0.5, 32000, overwrite=False)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_atomic_write_cleans_up_after_a_failed_write(tmp_path):
    def explode(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        audio.atomic_write(tmp_path / "b.wav", explode)
    assert list(tmp_path.iterdir()) == []


def _cli(*args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "oscgen", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_generate_writes_the_wav_and_warns_about_noise(tmp_path):
    out = tmp_path / "cli.wav"
    proc = _cli("generate", "dub chords", "--duration", "0.4", "--model", TINY, "-o", str(out), "--seed", "9",
                "--top-k", "50", "--cfg", "2.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    assert "NOISE" in proc.stderr and "100%" in proc.stderr
    assert sf.info(str(out)).frames == 20 * 640
    # the CLI's file is the take generate() makes, finished as the built-in config's [output] says
    from oscgen.config import load_config

    expected = audio.finish(_generate(prompt="dub chords", duration=0.4, seed=9, top_k=50, cfg_scale=2.5).audio.numpy(),
                            32000, load_config().output.finish).audio[0]
    written, _ = sf.read(str(out), dtype="float32")
    assert np.abs(written - np.clip(expected, -1, 1)).max() < 1e-4


def test_cli_generate_bad_argument_is_one_clear_line(tmp_path):
    proc = _cli("generate", "x", "--duration", "301", "--model", TINY, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "oscgen: error: --duration must be in (0, 300] seconds, got 301.0"
    assert list(tmp_path.iterdir()) == []


def test_cli_demo_falls_back_to_labelled_noise(tmp_path):
    proc = _cli("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "tiny-random" in proc.stderr and "NOISE" in proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "out" / "demo.wav")
    assert sf.info(str(tmp_path / "out" / "demo.wav")).duration == pytest.approx(5.0)


def test_a_bad_model_name_keeps_the_warm_model(tmp_path):
    warm = api.load_model(TINY)
    with pytest.raises(ModelNotFoundError):
        api.load_model(str(tmp_path / "missing"))
    assert api.load_model(TINY) is warm


def test_validation_is_usable_without_loading_mlx(tmp_path):
    """The daemon's OSC process checks knobs with api.check_arguments and must stay light."""
    code = ("import sys, oscgen.api as a; a.check_arguments('p', 5, 1.0, 250, 0.0, 3.0, None, None); "
            "print('mlx.core' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_drop_in_for_the_mlx_audio_seed_api():
    """`import oscgen as ma; ma.generate(...)` takes the seed's exact signature, defaults included."""
    import inspect

    import oscgen as ma

    params = inspect.signature(ma.generate).parameters
    expected = [("prompt", inspect.Parameter.empty), ("duration", 10.0), ("model", "musicgen-small"),
                ("temperature", 1.0), ("top_k", 250), ("top_p", 0.0), ("cfg_scale", 3.0), ("seed", None),
                ("progress_callback", None), ("output_file", None)]
    assert [(name, p.default) for name, p in params.items()] == expected
    result = ma.generate("drop-in check", 0.1, "tiny-random", 1.0, 250, 0.0, 3.0, 7, None, None)
    assert isinstance(result, ma.GenerationResult) and isinstance(result.audio, ma.AudioData)
    assert result.audio.shape == (1, 5 * 640) and result.audio.sample_rate == 32000
    assert result.duration == pytest.approx(0.1)


def test_warm_up_leaves_nothing_to_compile_for_a_first_take(monkeypatch):
    """After warm_up with the knobs a take will use, the take traces no decode step (the
    decoder's Python step body runs only while MLX traces a compiled step)."""
    seconds = api.warm_up(TINY, top_k=7, top_p=0.0, cfg_scale=4.0, max_duration=6.0)
    block = pipeline.cache_block()  # 303 steps: every window the cache grows through on this device
    expected = []
    for text in (16, 32):
        expected += [f"text {text}"] + [f"step {w}/{text}" for w in range(block, 303 + block, block)]
    assert list(seconds) == expected + ["audio"]
    assert all(s > 0 for s in seconds.values())
    engine = api.load_model(TINY)
    traces = []
    step = engine.decoder.step
    monkeypatch.setattr(engine.decoder, "step", lambda *args: traces.append(1) or step(*args))
    _generate(duration=6.0, top_k=7, cfg_scale=2.5, temperature=0.8, seed=1)  # 303 steps: every window
    longer = "warm analog pad, warm analog pad, warm pad"
    assert 16 < len(engine.tokenizer.encode(longer)) <= 32  # a second text block
    _generate(prompt=longer, duration=3.0, top_k=7, seed=2)
    assert traces == []
    _generate(duration=1.5, top_k=9, seed=1)  # another top_k is another compiled step
    assert traces


def test_warm_up_checks_its_knobs():
    with pytest.raises(ValueError, match="top_k"):
        api.warm_up(TINY, top_k=-1)
    with pytest.raises(ValueError, match="duration"):
        api.warm_up(TINY, max_duration=31)
    with pytest.raises(ValueError, match="audio_duration"):
        api.warm_up(TINY, audio_duration=0)


def test_a_fresh_load_is_float16_on_a_gpu_and_float32_on_a_cpu(monkeypatch):
    from oscgen.musicgen import layers

    import mlx.core as mx

    assert api.default_dtype() == "float32"  # this machine: CPU
    api._unload()
    monkeypatch.setattr(layers, "on_gpu", lambda: True)
    try:
        assert api.default_dtype() == "float16"
        assert api.load_model(TINY).decoder.dtype == mx.float16
    finally:
        api._unload()  # later tests load their float32 model afresh


def test_a_quantized_load_without_a_dtype_stays_warm_on_a_gpu(monkeypatch):
    """bits without a dtype means the device's default dtype: asking again reuses the warm model."""
    from oscgen.musicgen import layers

    api._unload()
    monkeypatch.setattr(layers, "on_gpu", lambda: True)
    try:
        first = api.load_model(TINY, bits=8)
        assert first.decoder_precision.startswith("float16 + 8-bit")
        assert api.load_model(TINY, bits=8) is first
        assert api.load_model(TINY) is first
    finally:
        api._unload()


def test_progress_keeps_moving_through_encodec_and_ends_at_exactly_one():
    """No 95 -> 100 % jump: EnCodec's stages report their share of the bar as they finish."""
    from oscgen.musicgen.pipeline import DECODE_SHARE

    fractions = []
    _generate(duration=0.5, progress_callback=fractions.append)
    encodec = [f for f in fractions if DECODE_SHARE < f < 1.0]
    engine = api.load_model(TINY)
    assert len(encodec) == len(engine.audio_decoder.decoder.layers) - 1  # every stage but the last
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions.count(1.0) == 1


def test_warm_up_for_variations_leaves_nothing_to_compile_for_a_batch(monkeypatch):
    """The daemon warms for its variations knob: a first pass of that many takes traces no step."""
    from oscgen import variations

    api.warm_up(TINY, top_k=7, cfg_scale=3.0, max_duration=1.0, audio_duration=0.2, takes=3)
    engine = api.load_model(TINY)
    traces = []
    step = engine.decoder.step
    monkeypatch.setattr(engine.decoder, "step", lambda *args: traces.append(1) or step(*args))
    takes = variations.generate_variations("warm three", n=3, duration=1.0, model=TINY, top_k=7, seed=4)
    assert len(takes) == 3 and traces == []
    with pytest.raises(ValueError, match="takes"):
        api.warm_up(TINY, takes=0)
