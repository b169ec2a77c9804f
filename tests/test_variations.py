"""oscgen.generate_variations / generate_batch: several takes in one engine pass, each what
generate() makes with its .params, bit-identical on a repeated call, refused up front when the
batch cannot fit."""

import numpy as np
import pytest
import soundfile as sf

import oscgen
from oscgen import variations

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights.*:UserWarning")
MODEL = "tiny-random"


def _same_take(a, b):
    """A take made in a batch against the same take made alone: the codes are the same (the
    batch's GEMMs round in another order, ~1e-7 on these logits, and a draw only changes when
    two perturbed scores fall that close), so EnCodec's audio from them is too, to the last bit
    or to float32 rounding where MKL picks another kernel."""
    np.testing.assert_allclose(a.audio.numpy(), b.audio.numpy(), rtol=0, atol=1e-6)


def test_variations_are_n_takes_with_consecutive_seeds_each_regenerable_alone():
    seen = []
    takes = oscgen.generate_variations("lo-fi hip hop beat", n=4, duration=0.4, model=MODEL, top_k=50,
                                       seed=11, progress_callback=seen.append)
    assert [t.seed for t in takes] == [11, 12, 13, 14]
    assert all(t.audio.shape == (1, 20 * 640) for t in takes)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert not np.array_equal(takes[0].audio.numpy(), takes[1].audio.numpy())
    for take in takes:
        assert take.params["seed"] == take.seed and take.params["prompt"] == "lo-fi hip hop beat"
        _same_take(take, oscgen.generate(**take.params))
    again = oscgen.generate_variations("lo-fi hip hop beat", n=4, duration=0.4, model=MODEL, top_k=50, seed=11)
    for a, b in zip(takes, again):
        np.testing.assert_array_equal(a.audio.numpy(), b.audio.numpy())


def test_variations_without_a_seed_draw_one_that_fits_osc(tmp_path):
    takes = oscgen.generate_variations("ambient pad", n=2, duration=0.2, model=MODEL, output_dir=tmp_path)
    first = takes[0].seed
    assert 0 <= first and takes[1].seed == first + 1 < 2**31
    for i, take in enumerate(takes, 1):
        path = tmp_path / f"variation-{i}-seed-{take.seed}.wav"
        data, rate = sf.read(path, dtype="float32")
        assert rate == 32000 and data.shape == (take.audio.shape[1],)
        assert take.params["output_file"] == str(path)


def test_batch_of_different_prompts_lengths_knobs_and_top_k_keeps_the_order(tmp_path):
    progress = {0: [], 1: [], 2: []}
    requests = [
        {"prompt": "drums", "duration": 0.3, "model": MODEL, "seed": 1, "progress_callback": progress[0].append},
        {"prompt": "slow evolving synth textures", "duration": 0.5, "model": MODEL, "seed": 2, "temperature": 0.6,
         "top_p": 0.9, "cfg_scale": 1.0, "top_k": 250, "progress_callback": progress[1].append,
         "output_file": tmp_path / "two.wav"},
        {"prompt": "jazz", "duration": 0.2, "model": MODEL, "seed": 3, "top_k": 7, "progress_callback": progress[2].append},
    ]
    results = oscgen.generate_batch(requests)
    assert [r.seed for r in results] == [1, 2, 3]
    assert [r.audio.shape[1] for r in results] == [15 * 640, 25 * 640, 10 * 640]
    for fractions in progress.values():
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert (tmp_path / "two.wav").is_file()
    for result in results:
        _same_take(result, oscgen.generate(**{**result.params, "output_file": None}))
    again = oscgen.generate_batch([{k: v for k, v in r.items() if k != "progress_callback"} for r in requests])
    for a, b in zip(results, again):
        np.testing.assert_array_equal(a.audio.numpy(), b.audio.numpy())


def test_a_raising_callback_stops_the_batch():
    class Cancelled(Exception):
        pass

    def cancel(fraction):
        if fraction > 0.2:
            raise Cancelled

    with pytest.raises(Cancelled):
        oscgen.generate_variations("x", n=2, duration=1.0, model=MODEL, progress_callback=cancel)


def test_a_batch_that_will_not_fit_is_refused_before_it_starts(monkeypatch, tmp_path):
    monkeypatch.setattr(variations, "free_memory", lambda: 1_000_000)
    seen = []
    with pytest.raises(ValueError, match=r"a batch of 3 take\(s\) of up to 1 s needs about .* GiB .* are free"):
        oscgen.generate_variations("x", n=3, duration=1.0, model=MODEL, output_dir=tmp_path, progress_callback=seen.append)
    assert seen == [] and list(tmp_path.iterdir()) == []


def test_free_memory_is_what_mlx_and_the_system_have_left():
    free = variations.free_memory()
    with open("/proc/meminfo") as meminfo:
        total = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal:"))
    assert 0 < free < total


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: oscgen.generate_variations("x", n=0, model=MODEL), r"n must be in \[1, 64\]"),
        (lambda: oscgen.generate_variations("x", n=2.5, model=MODEL), "n must be an integer"),
        (lambda: oscgen.generate_variations("x", n=3, seed=2**32 - 2, model=MODEL), "room for 3 seeds"),
        (lambda: oscgen.generate_variations("", n=2, model=MODEL), "prompt must be a non-empty string"),
        (lambda: oscgen.generate_variations("x", output_dir="/no/such/folder", model=MODEL), "output_dir"),
        (lambda: oscgen.generate_batch([]), "non-empty list"),
        (lambda: oscgen.generate_batch("x"), "non-empty list"),
        (lambda: oscgen.generate_batch([{"prompt": "x"}, 3]), r"requests\[1\] must be a dict"),
        (lambda: oscgen.generate_batch([{"prompt": "x", "sed": 3}]), r"requests\[0\]: unknown argument\(s\) sed"),
        (lambda: oscgen.generate_batch([{"duration": 1.0}]), r"requests\[0\]: prompt is required"),
        (lambda: oscgen.generate_batch([{"prompt": "x"}, {"prompt": "y", "temperature": 0}]),
         r"requests\[1\]: temperature must be > 0"),
    ],
    ids=["n-0", "n-float", "seed-room", "empty-prompt", "output-dir", "empty", "not-a-list", "not-a-dict",
         "unknown-key", "no-prompt", "bad-knob"],
)
def test_bad_calls_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()
