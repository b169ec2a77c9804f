"""The ``oscgen`` command line.  Each subcommand's work lives in the layer it belongs to; this
module only parses arguments and maps errors to clear messages (naming flags, not Python
arguments) and exit codes."""

from __future__ import annotations

import argparse
import difflib
import re
import sys

from oscgen.cli_output import ProgressBar, TakeNotSaved, check_writable, default_output, save_take, cli_message
from oscgen.cli_takes import add_take_flags, take_options

DESCRIPTION = "oscgen: text-to-music (MusicGen on MLX) for the stage and the studio."
EPILOG = """examples:
  oscgen generate "dusty boom bap drums, vinyl crackle" --duration 8 -o beat.wav
  oscgen generate "dub techno chords" --model tiny-random    # no weights needed (the WAV is noise)
  oscgen serve --out ~/Music/oscgen      # OSC in on 9000, replies on 9001, WAVs into that folder
  oscgen doctor                          # what is installed, which weights are here, what is missing

Run `oscgen COMMAND --help` for a command's options."""

class Parser(argparse.ArgumentParser):
    """argparse, plus "did you mean" for a mistyped command or flag."""

    def error(self, message):
        choice = re.search(r"invalid choice: '([^']*)'", message)
        if choice:
            names = [a for action in self._actions if isinstance(action, argparse._SubParsersAction)
                     for a in action.choices]
            message += _did_you_mean(choice.group(1), names)
        super().error(message)


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _add_generate(sub):
    p = sub.add_parser("generate", help="generate a WAV from a text prompt")
    p.set_defaults(handler=cmd_generate)
    p.add_argument("prompt", help='what to play, e.g. "upbeat jazz piano solo"')
    p.add_argument("--duration", "-d", type=float, default=None,
                   help="seconds, (0, 300] (default 10; or --bars); past 30 s the take is built from 30 s windows")
    p.add_argument("-o", "--output", help="output file (.wav; default out/<prompt>-<seed>.wav)")
    add_knobs(p)
    add_take_flags(p)
    return p


def add_knobs(p) -> None:
    """The model and sampling flags every generating command takes."""
    p.add_argument("--model", "-m", default="musicgen-small",
                   help="musicgen-small (default), musicgen-medium, musicgen-large, musicgen-stereo-small/-medium/-large, "
                        "tiny-random, a hub repo id or a local folder")
    p.add_argument("--temperature", type=float, default=1.0, help="> 0 (default 1.0)")
    p.add_argument("--top-k", type=int, default=250, help="keep the k most likely codes; 0 = off, 1 = greedy (default 250)")
    p.add_argument("--top-p", type=float, default=0.0, help="nucleus sampling in [0, 1]; 0 = off (default)")
    p.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance scale >= 1; 1 = off (default 3.0)")
    p.add_argument("--seed", type=int, default=None,
                   help="same seed + same arguments = identical audio; -1 = random (the default)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_demo(sub):
    p = sub.add_parser("demo", help="generate out/demo.wav (musicgen-small if cached, else the tiny noise model)")
    p.set_defaults(handler=cmd_demo)
    p.add_argument("-o", "--output", default="out/demo.wav", help="output file (default out/demo.wav)")
    return p


def _add_doctor(sub):
    p = sub.add_parser("doctor", help="report MLX, BLAS, weights cache and what is missing",
                       description="One line per check: MLX and its device, the BLAS under it, Python "
                       "packages, the oscgen and Hugging Face caches and which models are there, "
                       "the test-only extras, and the OSC/MIDI/Pd tools. Exits 0 when the engine can run.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.add_argument("--calibrate", action="store_true",
                   help="measure MKL's decode thread counts again (x @ W.T at each count, and the real "
                        "decode step when a musicgen checkpoint is at hand) and cache the choice")
    p.add_argument("--model", default=None,
                   help="with --calibrate: the checkpoint whose decode step is timed (default: "
                        "musicgen-small if cached, else the bench's random musicgen-small if written)")
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
    p = sub.add_parser("midi-ports", help="list MIDI input ports",
                       description="List the MIDI input ports `oscgen serve` could listen to. Put a "
                                   "unique part of a name into config.toml as [midi] port.")
    p.add_argument("--api", choices=("auto", "alsa", "jack", "coremidi", "windows"), default=None,
                   help="MIDI backend (default: $OSCGEN_MIDI_API, else auto: ALSA if /dev/snd/seq "
                        "is usable, else a running JACK server)")
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
                   help="oscgen weight dtype: the decoder runs in it, the text encoder is stored in it "
                        "(default float32)")
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
    p.add_argument("--batch", metavar="N,N,...", type=_batch_sizes, default=None,
                   help="instead: several takes in one pass at these batch sizes (e.g. 1,2,4,8): wall per take, "
                        "takes per minute, peak memory, against transformers' batched generate")
    p.add_argument("--duration", type=float, default=2.0, help="with --batch: seconds per take (default 2)")
    p.set_defaults(handler=cmd_bench)
    return p


def _generate_to_file(prompt, output, *, quiet=False, take=None, **knobs) -> int:
    import os
    import secrets

    from oscgen import api
    from oscgen.take import check_take, generate_take

    if knobs["seed"] == -1:  # -1 = random, as over OSC and in config.toml
        knobs["seed"] = None
    take = take or {"duration": knobs.pop("duration")}
    plan = check_take(prompt, **take, **{k: v for k, v in knobs.items() if k != "model"})  # before loading a model
    length = plan["length"]
    if knobs["seed"] is None:
        knobs["seed"] = secrets.randbelow(api.RANDOM_SEED_BOUND)
    output = output or default_output(prompt, knobs["seed"])
    api.sound_format(output)
    check_writable(output)
    engine = api.load_model(knobs["model"])
    if engine.random_weights:
        print(f"oscgen: NOISE WARNING: {knobs['model']} has random weights; {output} will be noise, "
              "not music (it proves the pipeline works).", file=sys.stderr)
    what = f"{length.bars:g} bars at {length.bpm:g} bpm" if length and length.musical else f"{take['duration']:g}s"
    progress = None if quiet else ProgressBar(f"generating {what}{' loop' if take.get('loop') else ''}")
    result = generate_take(prompt, progress_callback=progress, **take, **knobs)
    output = save_take(result, output, prompt)
    print(os.path.abspath(output))
    if not quiet:
        print(f"{result.duration:.3f} s ({result.audio.shape[1]} samples) at {result.sample_rate} Hz, "
              f"model {knobs['model']}, seed {result.seed}" + (f", text {result.text!r}" if result.text != prompt else ""),
              file=sys.stderr)
    return 0


def cmd_generate(args) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*random weights.*")  # the CLI says it louder itself
    return _generate_to_file(
        args.prompt, args.output, quiet=args.quiet, take=take_options(args), model=args.model,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, cfg_scale=args.cfg, seed=args.seed,
    )


def cmd_demo(args) -> int:
    """musicgen-small when its weights are already in the local HF cache (never downloads), else
    the built-in tiny random model, labelled as noise."""
    import warnings

    from oscgen.musicgen import weights

    warnings.filterwarnings("ignore", message=".*random weights.*")
    if weights.cached_hub_snapshot(weights.KNOWN_MODELS["musicgen-small"]) is not None:
        model, prompt = "musicgen-small", "upbeat jazz piano solo with brushed drums"
    else:
        model, prompt = weights.TINY_MODEL, "upbeat jazz piano solo with brushed drums"
        print("oscgen demo: musicgen-small is not in the local Hugging Face cache, so this demo uses the "
              "built-in tiny-random model. Its weights are random: the WAV is NOISE, not music. "
              "Fetch real weights to hear music.", file=sys.stderr)
    return _generate_to_file(prompt, args.output, duration=5.0, model=model, seed=0, temperature=1.0, top_k=250,
                             top_p=0.0, cfg_scale=3.0)


def cmd_doctor(args) -> int:
    from oscgen import doctor

    if args.model is not None and not args.calibrate:
        print("oscgen doctor: --model goes with --calibrate", file=sys.stderr)
        return 2
    if args.calibrate:
        try:
            doctor.recalibrate(args.model, out=sys.stderr)
        except ValueError as exc:
            print(f"oscgen doctor: --model: {exc}", file=sys.stderr)
            return 2
    return doctor.report(as_json=args.json)


def cmd_fetch(args) -> int:
    from oscgen.musicgen import weights

    for model in args.models:
        path = weights.fetch(model, to=args.to)
        print(f"{model}: {path}")
    return 0


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
    from oscgen.service.midi_input import MidiUnavailable, jack_server_name, list_ports

    try:
        backend, names = list_ports(args.api)
    except MidiUnavailable as exc:
        print(f"oscgen: no MIDI backend: {exc}", file=sys.stderr)
        return 1
    where = f" (server {jack_server_name()!r})" if backend == "jack" else ""
    print(f"MIDI backend: {backend.upper()}{where}")
    if not names:
        from oscgen.config import load_config

        virtual = load_config().midi.virtual or "oscgen"
        print(f"no MIDI input ports; a DAW can still send to the virtual port `oscgen serve` opens "
              f"with [midi] enabled = true (it is named by [midi] virtual = \"{virtual}\")")
    for name in names:
        print(f"  {name}")
    return 0


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes are integers separated by commas, e.g. 1,2,4,8; got {text!r}")
    if not sizes or min(sizes) < 1 or max(sizes) > 64:
        raise argparse.ArgumentTypeError(f"batch sizes must be in 1..64, got {text!r}")
    return sizes


def cmd_bench(args) -> int:
    from oscgen import bench

    if args.batch:
        from oscgen import bench_batch

        # what the single-job bench takes and a batch run would silently drop
        for flag, given in (("--steps", args.steps is not None), ("--quantize", args.quantize is not None),
                            ("--reference-dtype (more than one)", len(args.reference_dtype or []) > 1)):
            if given:
                print(f"oscgen bench: {flag} does not go with --batch (--duration sets the takes' length)",
                      file=sys.stderr)
                return 2

        bench_batch.run(model=args.model, sizes=args.batch, duration=args.duration, seed=args.seed, top_k=args.top_k,
                        reference=not args.no_reference, threads=args.threads, device=args.device, dtype=args.dtype,
                        reference_dtype=(args.reference_dtype or ["float32"])[0], json_path=args.json)
        return 0

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
    from oscgen import __version__, cli_continue

    parser = Parser(prog="oscgen", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"oscgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_generate, cli_continue.add_parser, _add_demo, _add_doctor, _add_fetch, _add_serve, _add_midi_ports,
                _add_bench):
        add(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv):
    """parse_args, with a suggestion for each mistyped flag of the command given."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
        flags = [o for action in sub._actions for o in action.option_strings]
        hints = "".join(_did_you_mean(word.split("=", 1)[0], flags) for word in extra if word.startswith("-"))
        sub.error(f"unrecognized arguments: {' '.join(extra)}{hints}")
    return args


def main(argv=None) -> int:
    args = _parse(build_parser(), argv)
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except TakeNotSaved as exc:
        print(f"oscgen: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad input: one clear line per problem, no traceback
        for line in str(cli_message(exc) if args.command in ("generate", "continue", "demo") else exc).splitlines():
            print(f"oscgen: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
