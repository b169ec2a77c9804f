"""The ``oscgen`` command line.  Each subcommand's work lives in the layer it belongs to; this
module only parses arguments and maps errors to clear messages and exit codes."""

from __future__ import annotations

import argparse
import sys


def _add_generate(sub):
    p = sub.add_parser("generate", help="generate a WAV from a text prompt")
    p.set_defaults(handler=cmd_generate)
    # owned by the engine: see cmd_generate
    return p


def _add_doctor(sub):
    p = sub.add_parser("doctor", help="report MLX, BLAS, weights cache and what is missing")
    p.set_defaults(handler=cmd_doctor)
    return p


def _add_serve(sub):
    p = sub.add_parser("serve", help="run the OSC/MIDI daemon")
    p.set_defaults(handler=cmd_serve)
    return p


def _add_midi_ports(sub):
    p = sub.add_parser("midi-ports", help="list MIDI input ports")
    p.set_defaults(handler=cmd_midi_ports)
    return p


def _add_bench(sub):
    p = sub.add_parser(
        "bench",
        help="benchmark oscgen against transformers on random weights at the real sizes",
        description="Time oscgen and transformers on the same random-weight checkpoint (the real "
        "musicgen-small/-medium sizes, written once into the oscgen cache): same prompt, decoder "
        "steps, sampling settings and thread count, each side in its own process. Prints a table "
        "of component times, whole-job time, real-time factor, peak memory, first-progress latency, "
        "the matmul bandwidth and the weight-bandwidth floor, with oscgen/transformers ratios.",
    )
    p.add_argument("--model", default="small", help="small, medium, tiny-random or a checkpoint folder (default small)")
    p.add_argument("--steps", type=int, default=None,
                   help="decoder steps (default: a whole 10 s job for small = 503, 2 s for medium = 103)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                   help="oscgen decoder weight dtype (default float32)")
    p.add_argument("--quantize", type=int, default=None, choices=[8, 4], help="quantize oscgen's decoder to 8 or 4 bits")
    p.add_argument("--reference-dtype", action="append", choices=["float32", "float16", "bfloat16"],
                   help="transformers dtype (repeat for several; default float32)")
    p.add_argument("--no-reference", action="store_true", help="skip transformers (oscgen only)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu", "auto"],
                   help="where both sides run: cpu, gpu (MLX gpu / torch cuda) or auto (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for both sides (default: all usable cores)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--top-k", type=int, default=250)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--cfg-scale", type=float, default=3.0)
    p.add_argument("--json", metavar="PATH", default=None, help="also write the full report as JSON here")
    p.set_defaults(handler=cmd_bench)
    return p


def cmd_generate(args) -> int:
    raise NotImplementedError


def cmd_doctor(args) -> int:
    raise NotImplementedError


def cmd_serve(args) -> int:
    raise NotImplementedError


def cmd_midi_ports(args) -> int:
    raise NotImplementedError


def cmd_bench(args) -> int:
    from oscgen import bench

    bench.run_bench(
        model=args.model,
        steps=args.steps,
        dtype=args.dtype,
        quantize=args.quantize,
        reference=not args.no_reference,
        reference_dtypes=tuple(args.reference_dtype or ["float32"]),
        device=args.device,
        threads=args.threads,
        seed=args.seed,
        top_k=args.top_k,
        temperature=args.temperature,
        cfg_scale=args.cfg_scale,
        json_path=args.json,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oscgen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_generate, _add_doctor, _add_serve, _add_midi_ports, _add_bench):
        add(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"oscgen: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
