"""Audio prompts: files, arrays and AudioData to (channels, samples) at the model's rate."""

import numpy as np
import pytest
import soundfile as sf

from oscgen import prompt_audio
from oscgen.api import AudioData


def _tone(seconds, rate, freq=440.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]).astype(np.float32)


def test_a_44k_stereo_file_for_a_mono_model_is_averaged_and_resampled(tmp_path):
    path = tmp_path / "take.wav"
    stereo = _tone(1.0, 44100, channels=2)
    sf.write(path, stereo.T, 44100, subtype="FLOAT")
    out = prompt_audio.load(path, None, 32000, 1)
    assert out.shape == (1, 32000) and out.dtype == np.float32
    # soxr's VHQ resampling of the channel mean: the 440 + 880 Hz tones survive at 32 kHz
    expected = _tone(1.0, 32000, channels=2).mean(axis=0)
    np.testing.assert_allclose(out[0, 200:-200], expected[200:-200], atol=2e-3)


def test_mono_for_a_stereo_model_is_duplicated_and_wider_audio_keeps_two_channels():
    mono = _tone(0.1, 32000)
    out = prompt_audio.load(mono[0], None, 32000, 2)
    assert out.shape == (2, 3200)
    np.testing.assert_array_equal(out[0], out[1])
    four = _tone(0.1, 32000, channels=4)
    np.testing.assert_array_equal(prompt_audio.load(four, 32000, 32000, 2), four[:2])


def test_arrays_take_sample_rate_and_audiodata_carries_its_own():
    tone = _tone(0.5, 16000)
    assert prompt_audio.load(tone, 16000, 32000, 1).shape == (1, 16000)
    assert prompt_audio.load(AudioData(tone, 16000), None, 32000, 1).shape == (1, 16000)
    assert prompt_audio.load(tone, None, 32000, 1).shape == (1, 8000)  # no rate: the model's
    with pytest.raises(ValueError, match="disagrees"):
        prompt_audio.load(AudioData(tone, 16000), 48000, 32000, 1)


@pytest.mark.parametrize(
    "audio, match",
    [
        (np.zeros((32000, 2), np.float32), "needs .T"),
        (np.zeros((1, 2, 3), np.float32), "channels, samples"),
        (np.zeros((1, 0), np.float32), "empty"),
        (np.array([0.0, np.nan], np.float32), "NaN"),
        (np.array(["a", "b"]), "numbers"),
        (3.5, "file path"),
    ],
    ids=["samples-channels", "3d", "empty", "nan", "strings", "a-float"],
)
def test_bad_arrays_are_refused_naming_the_problem(audio, match):
    with pytest.raises(ValueError, match=match):
        prompt_audio.load(audio, None, 32000, 1)


def test_bad_files_and_rates_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        prompt_audio.load(tmp_path / "missing.wav", None, 32000, 1)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really a wav")
    with pytest.raises(ValueError, match="cannot read"):
        prompt_audio.load(junk, None, 32000, 1)
    with pytest.raises(ValueError, match="sample_rate"):
        prompt_audio.load(np.zeros(10, np.float32), 0, 32000, 1)
