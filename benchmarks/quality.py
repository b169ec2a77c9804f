"""What lower-precision decoder weights cost in output quality, against float32, on one checkpoint.

    python benchmarks/quality.py --model small --seconds 10 --json out.json [--device gpu]

For each variant (float16, bfloat16, 8-bit, 4-bit) and the float32 baseline, on the same
prompt and seed:

- teacher-forced: the float32 job's own code sequence is fed to both decoders in one
  full-sequence pass; reported are the relative L2 error of the guided logits and how often the
  most likely code is the same (argmax agreement).  This isolates the numeric error of the
  weights from the chaos of sampling.
- sampled: the whole job with the same seed; reported are the share of codes equal to float32's,
  the first step where they differ, and the audio's error against float32's audio (SNR in dB).
  Once one code differs the rest of the sequence is a different (equally valid) sample, so this
  shows how soon a variant diverges, not how good it sounds.

Caveat: on random weights the logits are nearly flat (every code is almost equally likely), so a
tiny numeric error flips the argmax far more often than with trained weights, whose
distributions are peaked.  These numbers are a pessimistic proxy until real weights can be
measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oscgen  # noqa: E402,F401  (MKL before mlx)
import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from oscgen import bench  # noqa: E402
from oscgen.musicgen import quantize  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402
from oscgen.musicgen.sampling import classifier_free_guidance  # noqa: E402

VARIANTS = {
    "float16": ("float16", None),
    "bfloat16": ("bfloat16", None),
    "8-bit": ("float32", 8),
    "4-bit": ("float32", 4),
}


def delayed_inputs(codes: np.ndarray, start: int) -> np.ndarray:
    """codes (1, K, frames) → the decoder inputs the job saw: (1, K, frames + K - 1), position 0
    the start token, codebook k's frame f at position f + k + 1, pads elsewhere."""
    _, K, frames = codes.shape
    steps = frames + K - 1
    seq = np.full((1, K, steps + 1), start, dtype=np.int32)
    for k in range(K):
        seq[0, k, k + 1 : k + 1 + frames] = codes[0, k]
    return seq[:, :, :steps]


def guided_logits(engine, input_ids, inputs, cfg_scale):
    states, mask = engine._conditioning(input_ids, guided=True)
    dtype = engine.decoder.layer_norm.weight.dtype
    rows = mx.concatenate([inputs, inputs], axis=0)
    logits = engine.decoder(rows, states.astype(dtype), mask)
    return classifier_free_guidance(logits.astype(mx.float32), cfg_scale)


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    noise = np.sum((reference - other) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(reference**2) / noise))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="small")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    mx.set_default_device(mx.gpu if args.device == "gpu" else mx.cpu)

    checkpoint = str(bench.ensure_checkpoint(args.model))
    frames = int(round(args.seconds * bench.FRAME_RATE))
    knobs = dict(temperature=1.0, top_k=250, cfg_scale=3.0, seed=args.seed)
    base = MusicGen.from_pretrained(checkpoint)
    input_ids = mx.array([base.tokenizer.encode(bench.PROMPT)], dtype=mx.int32)
    base.generate_codes(input_ids, min(frames, 8), **knobs)  # compile outside the timing
    t0 = time.perf_counter()
    codes32 = base.generate_codes(input_ids, frames, **knobs)
    mx.eval(codes32)
    codes32_s = time.perf_counter() - t0
    audio32 = np.array(base.decode_audio(codes32)[0, 0])
    inputs = mx.array(delayed_inputs(np.array(codes32), base.start_token_id))
    logits32 = guided_logits(base, input_ids, inputs, knobs["cfg_scale"])
    mx.eval(logits32)
    # only positions that predict a real code: codebook k at positions k .. frames + k - 1
    K = base.num_codebooks
    valid = np.zeros((K, inputs.shape[-1]), dtype=bool)
    for k in range(K):
        valid[k, k : k + frames] = True
    top32 = np.array(mx.argmax(logits32, axis=-1))[0]
    del base

    report = {"model": args.model, "frames": frames, "seed": args.seed, "device": str(mx.default_device()),
              "prompt": bench.PROMPT, "float32_codes_s": codes32_s, "variants": {}}
    for name in args.variants.split(","):
        dtype, bits = VARIANTS[name]
        engine = MusicGen.from_pretrained(checkpoint)
        quantize.convert_decoder(engine, dtype=dtype, bits=bits)
        engine.generate_codes(input_ids, min(frames, 8), **knobs)
        t0 = time.perf_counter()
        codes = engine.generate_codes(input_ids, frames, **knobs)
        mx.eval(codes)
        job_s = time.perf_counter() - t0
        audio = np.array(engine.decode_audio(codes)[0, 0])
        logits = guided_logits(engine, input_ids, inputs, knobs["cfg_scale"])
        diff = np.array(mx.sqrt(mx.sum((logits - logits32) ** 2)) / mx.sqrt(mx.sum(logits32**2)))
        top = np.array(mx.argmax(logits, axis=-1))[0]
        same = np.array(codes) == np.array(codes32)
        # first differing frame, in decode-step order (frame f of codebook k is step f + k)
        steps_differ = [f + k for k in range(K) for f in np.nonzero(~same[0, k])[0]]
        report["variants"][name] = {
            "teacher_forced_logits_rel_error": float(diff),
            "teacher_forced_argmax_agreement": float((top == top32)[valid].mean()),
            "sampled_code_agreement": float(same.mean()),
            "first_divergent_step": int(min(steps_differ)) if steps_differ else None,
            "audio_snr_db_vs_float32": snr_db(audio32, audio),
            "codes_s": job_s,
            "speed_vs_float32": codes32_s / job_s,
        }
        print(name, json.dumps(report["variants"][name]), flush=True)
        del engine
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
