"""EnCodec 32 kHz at musicgen's real size, random weights: the MLX encoder against transformers'
EncodecModel.encode in the same process, and the memory a long decode takes in one pass
against oscgen's chunked decode (musicgen/encodec_long.py).

    python benchmarks/encodec_codec.py [--seconds 10] [--long-seconds 40] [--repeats 3]

Prints one JSON object: encode seconds (median) for both and their ratio, the share of codes
that agree (random weights at full size do have near-ties), the long decode's MLX peak memory
(MB over the weights) one pass vs chunked, and the largest sample difference between the two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oscgen  # noqa: E402,F401  (MKL before mlx)
import mlx.core as mx  # noqa: E402
import numpy as np  # noqa: E402

from oscgen import _blas, bench  # noqa: E402
from oscgen.musicgen import encodec_long, tiny  # noqa: E402
from oscgen.musicgen.encodec import EncodecDecoder, sanitize  # noqa: E402
from oscgen.musicgen.encodec_encoder import EncodecEncoder  # noqa: E402

MB = 1e6


def _models():
    import torch
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    config = tiny.audio_encoder_config("small")
    reference = EncodecModel(EncodecConfig(**config)).eval()
    with torch.no_grad():
        for name, tensor in reference.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * (1.0 if "codebook" in name or "original0" in name else 0.05))
    weights = {k: mx.array(v.detach().numpy()) for k, v in reference.state_dict().items()}
    encoder, decoder = EncodecEncoder(config), EncodecDecoder(config)
    encoder.load_weights(list(sanitize(weights, "encoder").items()), strict=True)
    decoder.load_weights(list(sanitize(weights).items()), strict=True)
    mx.eval(encoder.parameters(), decoder.parameters())
    return reference, encoder, decoder


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), fn()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--long-seconds", type=float, default=40.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import torch

    reference, encoder, decoder = _models()
    audio = (0.3 * np.random.default_rng(0).standard_normal((1, 1, int(args.seconds * 32000)))).astype(np.float32)

    def ours():
        with _blas.all_cores():
            codes = encoder.encode(mx.array(audio), decoder.quantizer)
            mx.eval(codes)
        return np.array(codes)

    def theirs():
        with torch.no_grad():
            return reference.encode(torch.from_numpy(audio)).audio_codes[0].numpy()

    ours(), theirs()  # warm: MKL threads, MLX's compiled kernels
    mlx_s, mlx_codes = _median_seconds(ours, args.repeats)
    torch_s, torch_codes = _median_seconds(theirs, args.repeats)

    frames = int(args.long_seconds * 50)
    codes = mx.array(np.random.default_rng(1).integers(0, 2048, (1, 4, frames)).astype(np.int32))
    peaks, outputs = {}, {}
    for name, fn in (("one_pass", lambda: decoder.decode(codes)), ("chunked", lambda: encodec_long.decode(decoder, codes))):
        mx.clear_cache()
        base = mx.get_active_memory()
        mx.reset_peak_memory()
        with _blas.all_cores():
            out = fn()
            mx.eval(out)
        peaks[name] = round((mx.get_peak_memory() - base) / MB)
        outputs[name] = np.array(out)
        del out
    print(json.dumps({
        "host": bench._cpu_name(),
        "encode_seconds_of_audio": args.seconds,
        "encode_s": {"mlx": round(mlx_s, 3), "transformers": round(torch_s, 3), "mlx_over_transformers": round(mlx_s / torch_s, 3)},
        "codes_agree": float((mlx_codes == torch_codes).mean()),
        "decode_seconds_of_audio": args.long_seconds,
        "decode_peak_mb_over_weights": peaks,
        "chunked_max_abs_diff": float(np.abs(outputs["one_pass"] - outputs["chunked"]).max()),
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
