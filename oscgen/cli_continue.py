"""``oscgen continue take.wav "prompt" --duration 8``: continue a WAV (oscgen.generate_continuation)
and write the prompt followed by its continuation to a new WAV."""

from __future__ import annotations

import sys


def add_parser(sub):
    from oscgen.cli import add_knobs

    p = sub.add_parser("continue", help="continue a WAV: its end followed by new music in the same vein",
                       description="Continue AUDIO (a WAV/FLAC/OGG/AIFF file, any rate; converted to the model's "
                       "channels and resampled) guided by PROMPT. The result is the prompt followed by its "
                       "continuation, decoded together, as audiocraft's generate_continuation returns it.")
    p.set_defaults(handler=cmd_continue)
    p.add_argument("audio", help="the audio file to continue (shorter than 30 s; see --prompt-seconds)")
    p.add_argument("prompt", help='what the continuation should sound like, e.g. "same groove, add strings"')
    p.add_argument("--duration", "-d", type=float, default=10.0,
                   help="seconds of new music, (0, 300] with the prompt (default 10); past 30 s in total windowed")
    p.add_argument("--prompt-seconds", type=float, default=None, metavar="S",
                   help="continue only the last S seconds of AUDIO (default: all of it, which must be under 30 s)")
    p.add_argument("-o", "--output", help="output file (.wav; default out/<audio name>-continued-<seed>.wav)")
    add_knobs(p)
    return p


def cmd_continue(args) -> int:
    import os
    import secrets
    import warnings
    from pathlib import Path

    from oscgen import api, continuation, prompt_audio
    from oscgen.cli import ProgressBar

    warnings.filterwarnings("ignore", message=".*random weights.*")  # said louder below
    if args.seed == -1:  # -1 = random, as over OSC and in config.toml
        args.seed = None
    # every argument checked before a model loads
    continuation.check_long(args.prompt, args.duration, continuation.EXTEND_STRIDE, args.temperature, args.top_k,
                            args.top_p, args.cfg, args.seed, None)
    samples, rate = prompt_audio.read_file(Path(args.audio))
    if args.prompt_seconds is not None:
        if not 0 < args.prompt_seconds < continuation.WINDOW_SECONDS:
            raise ValueError(f"--prompt-seconds must be in (0, {continuation.WINDOW_SECONDS:g}), got {args.prompt_seconds:g}")
        samples = samples[:, -max(1, round(args.prompt_seconds * rate)):]
    seed = args.seed if args.seed is not None else secrets.randbelow(api.RANDOM_SEED_BOUND)
    output = args.output or f"out/{Path(args.audio).stem}-continued-{seed}.wav"
    api.sound_format(output)
    if os.path.dirname(output):
        os.makedirs(os.path.dirname(output), exist_ok=True)
    engine = api.load_model(args.model)
    if engine.random_weights:
        print(f"oscgen: NOISE WARNING: {args.model} has random weights; {output} will be noise, not music.",
              file=sys.stderr)
    progress = None if args.quiet else ProgressBar(f"continuing {Path(args.audio).name} by {args.duration:g}s")
    result = continuation.generate_continuation(
        samples, args.prompt, duration=args.duration, model=args.model, temperature=args.temperature, top_k=args.top_k,
        top_p=args.top_p, cfg_scale=args.cfg, seed=seed, progress_callback=progress, output_file=output,
        sample_rate=rate)
    print(os.path.abspath(output))
    if not args.quiet:
        print(f"{result.duration:.3f} s: {result.prompt_duration:.2f} s of prompt + "
              f"{result.duration - result.prompt_duration:.2f} s new, at {result.sample_rate} Hz, "
              f"model {args.model}, seed {result.seed}", file=sys.stderr)
    return 0
