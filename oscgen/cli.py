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
    p = sub.add_parser("doctor", help="report MLX, BLAS, weights cache and what is missing",
                       description="One line per check: MLX and its device, the BLAS under it, Python "
                       "packages, the oscgen and Hugging Face caches and which models are there, "
                       "the test-only extras, and the OSC/MIDI/Pd tools. Exits 0 when the engine can run.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.set_defaults(handler=cmd_doctor)
    return p


def _add_fetch(sub):
    p = sub.add_parser("fetch", help="download model weights into the Hugging Face cache (or a folder)",
                       description="Download a model's weights (safetensors, config, tokenizer; no torch "
                       "files) so later runs work offline. Run it on a connected machine; copy the "
                       "folder printed (or the one given with --to) to an offline one and pass it "
                       "as --model.")
    p.add_argument("models", nargs="*", default=["musicgen-small"],
                   help="musicgen-small, musicgen-medium or a hub repo id (default: musicgen-small)")
    p.add_argument("--to", metavar="DIR", help="also copy the files into DIR/<name> (a plain folder)")
    p.set_defaults(handler=cmd_fetch)
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
    p = sub.add_parser("bench", help="benchmark oscgen against transformers on random weights")
    p.set_defaults(handler=cmd_bench)
    return p


def cmd_generate(args) -> int:
    raise NotImplementedError


def cmd_doctor(args) -> int:
    from oscgen import doctor

    return doctor.report(as_json=args.json)


def cmd_fetch(args) -> int:
    from oscgen.musicgen import weights

    for model in args.models:
        path = weights.fetch(model, to=args.to)
        print(f"{model}: {path}")
    return 0


def cmd_serve(args) -> int:
    raise NotImplementedError


def cmd_midi_ports(args) -> int:
    raise NotImplementedError


def cmd_bench(args) -> int:
    raise NotImplementedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oscgen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_generate, _add_doctor, _add_fetch, _add_serve, _add_midi_ports, _add_bench):
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
