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
    p = sub.add_parser("midi-ports", help="list MIDI input ports",
                       description="List the MIDI input ports `oscgen serve` could listen to. Put a "
                                   "unique part of a name into config.toml as [midi] port.")
    p.add_argument("--api", choices=("auto", "alsa", "jack", "coremidi", "windows"), default=None,
                   help="MIDI backend (default: $OSCGEN_MIDI_API, else auto: ALSA if /dev/snd/seq "
                        "is usable, else a running JACK server)")
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
    raise NotImplementedError


def cmd_midi_ports(args) -> int:
    from oscgen.service.midi_input import MidiUnavailable, jack_server_name, list_ports

    try:
        backend, names = list_ports(args.api)
    except MidiUnavailable as exc:
        print(f"oscgen: no MIDI backend: {exc}", file=sys.stderr)
        return 1
    where = f" (server {jack_server_name()!r})" if backend == "jack" else ""
    print(f"MIDI backend: {backend.upper()}{where}")
    if not names:
        print("no MIDI input ports; a DAW can still send to the virtual port `oscgen serve` opens "
              "([midi] virtual = true)")
    for name in names:
        print(f"  {name}")
    return 0


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
