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
    p = sub.add_parser(
        "serve",
        help="run the OSC/MIDI daemon",
        description="Run the daemon: OSC in (and MIDI if enabled), WAVs out into the watched folder. "
        "Settings come from the built-in config.toml, then --config FILE, then these flags.",
    )
    p.add_argument("--config", metavar="FILE", help="config.toml to use over the built-in defaults")
    p.add_argument("--host", help="address to listen on (default from config: 127.0.0.1)")
    p.add_argument("--port", type=int, metavar="N", help="UDP port to listen on (default 9000; 0 = any free port)")
    p.add_argument("--reply-port", type=int, metavar="N", help="port replies go to on the sender's host (default 9001)")
    p.add_argument("--out", metavar="DIR", help="the watched folder WAVs land in")
    p.add_argument("--model", metavar="M", help="model to start with (musicgen-small, tiny-random, a repo id or folder)")
    p.add_argument("--verbose", "-v", action="store_true", help="log every OSC message in and out")
    p.add_argument("--print-config", action="store_true", help="print the built-in config.toml (to start your own) and exit")
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
    raise NotImplementedError


def cmd_serve(args) -> int:
    from oscgen import config

    if args.print_config:
        sys.stdout.write(config.default_text())
        return 0
    cfg = config.with_overrides(
        config.load_config(args.config),
        host=args.host, port=args.port, reply_port=args.reply_port, out=args.out, model=args.model,
    )
    from oscgen.service.server import run

    try:
        return run(cfg, verbose=args.verbose)
    except OSError as exc:  # the port is taken, a reply target does not resolve
        print(f"oscgen: error: {exc}", file=sys.stderr)
        return 1


def cmd_midi_ports(args) -> int:
    raise NotImplementedError


def cmd_bench(args) -> int:
    raise NotImplementedError


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
