"""Whole passes of 1 and N takes interleaved in one process (issue 17: "4 takes ≤ 2x the wall
time of 1"), so that both sizes meet the same moments of load from the host's other work.

    python benchmarks/takes_ab.py [--takes 1,4] [--rounds 4] [--duration 2] [--json out.json]

Loads the bench's random musicgen-small checkpoint (``oscgen bench`` writes it once into the
oscgen cache), runs one warm-up pass of every size (tracing its shapes), then ``--rounds``
rounds of one pass per size, the order reversed every other round.  A pass is what
``oscgen bench --batch`` times: text, decoding and EnCodec for that many variations of one
prompt.  Per size: every wall time, best and median; per round the ratio of each size to the
first size's pass in the same round (paired), with their median and range.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oscgen  # noqa: E402,F401  (MKL under MLX)
import mlx.core as mx  # noqa: E402

from oscgen import _blas  # noqa: E402
from oscgen.bench.common import checkpoint_dir, ensure_checkpoint  # noqa: E402
from oscgen.bench_batch import PROMPT  # noqa: E402
from oscgen.musicgen.pipeline import MusicGen  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--takes", default="1,4", help="comma-separated take counts; the first is the reference")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per take")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    sizes = [int(n) for n in args.takes.split(",")]

    ensure_checkpoint("small")
    engine = MusicGen.from_pretrained(checkpoint_dir("small"))
    frames = round(args.duration * 50)

    def one_pass(n: int) -> float:
        takes = [engine.take(PROMPT, frames, args.seed + i) for i in range(n)]
        start = time.perf_counter()
        mx.eval(engine.decode_takes(engine.generate_takes(takes, top_k=250)))
        return time.perf_counter() - start

    for n in sizes:
        one_pass(n)
    walls: dict[int, list[float]] = {n: [] for n in sizes}
    ratios: dict[int, list[float]] = {n: [] for n in sizes[1:]}
    for r in range(args.rounds):
        this_round = {n: one_pass(n) for n in (sizes if r % 2 == 0 else sizes[::-1])}
        for n, wall in this_round.items():
            walls[n].append(wall)
        for n in sizes[1:]:
            ratios[n].append(this_round[n] / this_round[sizes[0]])
        print(f"round {r + 1}: " + ", ".join(f"{n} take(s) {this_round[n]:.2f} s" for n in sizes), flush=True)

    host = f"{_blas.cpu_model()}, load average {os.getloadavg()[0]:.1f}"
    print(f"{host}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.duration:g} s a take")
    for n in sizes:
        print(f"  {n} take(s): best {min(walls[n]):.2f} s, median {statistics.median(walls[n]):.2f} s")
    for n in sizes[1:]:
        print(f"  {n} takes / {sizes[0]}, paired by round: median {statistics.median(ratios[n]):.2f}x "
              f"({min(ratios[n]):.2f}-{max(ratios[n]):.2f}x)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "host": host, "duration_s": args.duration, "rounds": args.rounds, "mlx": mx.__version__,
            "walls_s": {str(n): w for n, w in walls.items()},
            "ratios": {str(n): r for n, r in ratios.items()}}, indent=1))


if __name__ == "__main__":
    main()
