"""Tempo and loop in the WAV (acid / smpl chunks) parsed back by hand, by soundfile and by
libsndfile itself; levels after resampling and normalisation."""

import struct

import numpy as np
import pytest
import soundfile as sf
from _libsndfile import read_metadata, write_with_instrument

from oscgen.audio import Bars, Finish, finish, levels, riff, write_audio

RATE = 32000


def _take(loop=True, rate=48000, bars=2, bpm=126):
    spec = Bars(bars, bpm, 4, loop=loop)
    t = np.arange(spec.frames(50, rate) * 640) / RATE
    made = (0.3 * np.sin(2 * np.pi * 220 * t))[None].astype(np.float32)
    return finish(made, RATE, Finish(sample_rate=rate, fade_in=0.002, fade_out=0.01, normalize="peak"), spec)


@pytest.mark.parametrize("subtype", ("PCM_16", "PCM_24", "FLOAT"))
@pytest.mark.parametrize("loop", (False, True))
def test_chunks_parse_back_and_every_reader_still_reads_the_audio(tmp_path, subtype, loop):
    take = _take(loop)
    path = write_audio(tmp_path / "take.wav", take.audio, take.sample_rate, subtype=subtype, chunks=take.chunks())
    data = path.read_bytes()
    chunks = riff.read_chunks(data)
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8  # the RIFF size covers the new chunks
    assert riff.parse_acid(chunks[b"acid"]) == riff.Tempo(126.0, 8, 4, one_shot=False)
    if loop:
        period, loops = riff.parse_smpl(chunks[b"smpl"])
        assert period == round(1e9 / 48000) and loops == [riff.Loop(0, take.samples)]
    else:
        assert b"smpl" not in chunks
    # soundfile: same samples as written without chunks
    back, rate = sf.read(path, dtype="float32", always_2d=True)
    plain, _ = sf.read(write_audio(tmp_path / "plain.wav", take.audio, take.sample_rate, subtype=subtype),
                       dtype="float32", always_2d=True)
    assert rate == 48000 and back.shape == (take.samples, 1) and np.array_equal(back, plain)
    # libsndfile's own loop info (acid) and instrument (smpl)
    info, loop_info, instrument = read_metadata(path)
    assert info.frames == take.samples and info.samplerate == 48000
    assert (loop_info.bpm, loop_info.num_beats, loop_info.time_sig_num, loop_info.time_sig_den) == (126.0, 8, 4, 4)
    assert loop_info.loop_mode == 801  # SF_LOOP_FORWARD: a tempo-synced loop, not a one-shot
    if loop:
        assert instrument.loop_count == 1
        assert (instrument.loops[0].mode, instrument.loops[0].start, instrument.loops[0].end) == (801, 0, take.samples)
    else:
        assert instrument is None


def test_smpl_end_point_matches_what_libsndfile_writes(tmp_path):
    """The smpl loop end is the last sample played; libsndfile writes end - 1 for its exclusive
    end.  Our chunk, for the same loop, is byte for byte libsndfile's loop record."""
    write_with_instrument(tmp_path / "ref.wav", 1000, RATE, 10, 900)
    reference = riff.read_chunks((tmp_path / "ref.wav").read_bytes())[b"smpl"]
    ours = riff.smpl_chunk([riff.Loop(10, 900)], RATE)
    assert riff.parse_smpl(reference)[1] == riff.parse_smpl(ours)[1] == [riff.Loop(10, 900)]
    assert reference[36 + 8:36 + 16] == ours[36 + 8:36 + 16] == struct.pack("<II", 10, 899)


def test_a_duration_take_has_no_tempo_chunks(tmp_path):
    made = np.zeros((1, RATE), np.float32)
    take = finish(made, RATE, Finish())
    assert take.chunks() == [] and take.tempo is None and take.loop is None
    path = write_audio(tmp_path / "x.wav", take.audio, RATE, chunks=take.chunks())
    assert set(riff.read_chunks(path.read_bytes())) == {b"fmt ", b"data"}


def test_chunks_are_padded_and_other_formats_get_none(tmp_path):
    wav = write_audio(tmp_path / "odd.wav", np.zeros((1, 3)), RATE, chunks=[(b"test", b"abc")]).read_bytes()
    assert len(wav) % 2 == 0 and riff.read_chunks(wav)[b"test"] == b"abc"
    flac = write_audio(tmp_path / "x.flac", np.zeros((1, 300)), RATE, chunks=_take().chunks())
    assert sf.info(flac).frames == 300


def test_a_lying_chunk_size_is_an_error_not_a_hang():
    wav = bytearray(riff.append_chunks(b"RIFF\0\0\0\0WAVE", [(b"abcd", b"12")]))
    wav[16:20] = struct.pack("<I", 10**6)
    with pytest.raises(ValueError, match="past the end"):
        riff.read_chunks(bytes(wav))
    with pytest.raises(ValueError, match="not a RIFF"):
        riff.append_chunks(b"OggS" + bytes(20), [])


# --- levels ---------------------------------------------------------------------------------------


def _tone(seconds, rate, frequency=997.0, amplitude=0.25):
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t))[None].astype(np.float32)


@pytest.mark.parametrize("target", (44100, 48000))
def test_resampling_keeps_level_pitch_and_duration(target):
    tone = _tone(2.0, RATE)
    out = levels.resample(tone, RATE, target)
    assert abs(out.shape[-1] - 2 * target) <= 1
    middle = out[0, target // 4:-target // 4].astype(np.float64)  # away from the filter's edges
    rms_db = 20 * np.log10(np.sqrt((middle ** 2).mean()) / (0.25 / np.sqrt(2)))
    assert abs(rms_db) < 0.01  # soxr VHQ is flat to far better than 0.01 dB at 1 kHz
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    peak_hz = np.argmax(spectrum) * target / len(middle)
    assert abs(peak_hz - 997.0) < target / len(middle)  # within one FFT bin


def test_resampling_does_not_alias_a_tone_above_the_new_nyquist_back_in():
    tone = _tone(1.0, 48000, frequency=20000.0)
    out = levels.resample(tone, 48000, 32000)  # 20 kHz is above 16 kHz: must be filtered out
    assert levels.peak_db(out[:, 2000:-2000]) < -60


def test_peak_normalisation_hits_the_target():
    out, gain = levels.normalize(_tone(1.0, RATE), RATE, "peak", peak=-1.0)
    assert levels.peak_db(out) == pytest.approx(-1.0, abs=1e-4) and gain == pytest.approx(-1.0 + 12.0412, abs=1e-3)


@pytest.mark.parametrize("rate", (32000, 48000))
def test_loudness_normalisation_measures_the_target_after_resampling(rate):
    made = levels.resample(_tone(3.0, RATE, amplitude=0.05), RATE, rate)
    out, _ = levels.normalize(made, rate, "loudness", peak=-1.0, loudness=-18.0)
    # BS.1770: a 997 Hz sine's loudness is its RMS level -0.691 dB K-weighting offset ≈ peak -3.01 dB
    assert levels.loudness_lufs(out, rate) == pytest.approx(-18.0, abs=0.01)
    assert levels.peak_db(out) == pytest.approx(-18.0 + 3.01, abs=0.1)


def test_loudness_never_pushes_the_peak_over_the_ceiling():
    clicks = np.zeros((1, 2 * RATE), np.float32)
    clicks[0, ::RATE // 4] = 0.1  # sparse clicks: very quiet in LUFS, so -14 LUFS would need +40 dB
    out, gain = levels.normalize(clicks, RATE, "loudness", peak=-1.0, loudness=-14.0)
    assert levels.peak_db(out) == pytest.approx(-1.0, abs=1e-4) and gain == pytest.approx(19.0, abs=1e-3)


def test_silence_and_short_takes():
    silent = np.zeros((1, RATE), np.float32)
    assert levels.normalize(silent, RATE, "loudness")[1] == 0.0
    short = _tone(0.2, RATE)  # under one 400 ms gating block: peak-normalised instead
    out, _ = levels.normalize(short, RATE, "loudness", peak=-3.0)
    assert levels.peak_db(out) == pytest.approx(-3.0, abs=1e-4)
    with pytest.raises(ValueError, match="normalize"):
        levels.normalize(short, RATE, "lufs")


@pytest.mark.parametrize("kwargs,message", [
    ({"sample_rate": 1000}, "sample_rate"), ({"sample_rate": 44100.0}, "sample_rate"), ({"fade_in": -1}, "fade_in"),
    ({"normalize": "rms"}, "normalize"), ({"peak_db": 3}, "peak_db"), ({"loudness_lufs": 5}, "loudness_lufs"),
])
def test_bad_finish_options_are_value_errors_naming_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Finish(**kwargs)
