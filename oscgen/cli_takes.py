"""``oscgen generate``'s set-ready take flags (--bars, --loop, the rate, level and fade options)
and how they combine with config.toml's [output], which gives their defaults so the CLI's files
match the daemon's."""

from __future__ import annotations


def add_take_flags(parser) -> None:
    takes = parser.add_argument_group(
        "set-ready takes", "Bars mode: --bars at --bpm, cut to exactly round(bars x beats x 60 / bpm x rate) samples, "
        "tempo in the prompt and in the WAV (acid chunk). Defaults for the level, fade and rate options come from "
        "[output] in config.toml (--config FILE, else the built-in one: 32 kHz, peak -1 dBFS, 2/10 ms fades).")
    takes.add_argument("--bars", type=float, default=None, help="length in bars at --bpm (instead of --duration)")
    takes.add_argument("--bpm", type=float, default=120.0, help="tempo for --bars, [20, 300] (default 120)")
    takes.add_argument("--beats-per-bar", type=int, default=4, help="beats in a bar, [1, 16] (default 4)")
    takes.add_argument("--loop", action="store_true",
                       help="a seamless loop: the music past the end crossfaded into the start; a smpl loop in the WAV")
    takes.add_argument("--crossfade", type=float, metavar="MS", help="loop seam in ms (default [output] loop_crossfade_ms)")
    takes.add_argument("--sample-rate", type=int, metavar="HZ", help="output rate, e.g. 44100 or 48000; 0 = 32000, the model's")
    takes.add_argument("--normalize", choices=("peak", "loudness", "off"), help="level: sample peak or BS.1770 loudness")
    takes.add_argument("--peak-db", type=float, metavar="DB", help="peak target / ceiling in dBFS (default -1)")
    takes.add_argument("--lufs", type=float, metavar="LUFS", help="loudness target for --normalize loudness (default -14)")
    takes.add_argument("--fade-in", type=float, metavar="MS", help="one-shot fade-in in ms (default 2)")
    takes.add_argument("--fade-out", type=float, metavar="MS", help="one-shot fade-out in ms (default 10)")
    takes.add_argument("--tempo-text", metavar="TEXT", help='added to the prompt in bars mode (default ", {bpm} bpm"; "" = none)')
    takes.add_argument("--config", metavar="FILE", help="config.toml whose [output] gives the defaults above")


def take_options(args) -> dict:
    """generate_take's length and finishing arguments from the flags over config's [output]."""
    import dataclasses

    from oscgen import config

    output = config.load_config(args.config).output
    finish = output.finish
    flags = {"sample_rate": ("--sample-rate", args.sample_rate, 1), "normalize": ("--normalize", args.normalize, None),
             "peak_db": ("--peak-db", args.peak_db, 1), "loudness_lufs": ("--lufs", args.lufs, 1),
             "fade_in": ("--fade-in", args.fade_in, 1000), "fade_out": ("--fade-out", args.fade_out, 1000)}
    for field, (flag, value, per) in flags.items():
        if value is not None:
            try:
                finish = dataclasses.replace(finish, **{field: value / per if per == 1000 else value})
            except ValueError as exc:
                raise ValueError(f"{flag}: {exc}") from None
    if args.crossfade is not None and not 0 <= args.crossfade <= 1000:
        raise ValueError(f"--crossfade must be in [0, 1000] ms, got {args.crossfade:g}")
    if args.bars is not None and args.duration is not None:
        raise ValueError("give --duration or --bars, not both")
    return {
        "duration": 10.0 if args.duration is None else args.duration, "bars": args.bars, "bpm": args.bpm, "beats_per_bar": args.beats_per_bar,
        "loop": args.loop, "crossfade": output.loop_crossfade if args.crossfade is None else args.crossfade / 1000,
        "tempo_text": output.tempo_text if args.tempo_text is None else args.tempo_text, "finish": finish,
    }
