"""Continuous batching, measured: take B arrives while take A's pass runs.  Joining the running
pass (oscgen.take_batch's ``incoming``, what the daemon's worker does with [queue] join = true)
against waiting for the pass to end (join = false: B starts after A, alone).

The daemon joins only where DecodePass.worth_joining expects the summed wait to fall (the bench
joins regardless, and reports the verdict).  Both are the daemon's path: each take is finished (EnCodec, loudness, file-ready audio) as soon
as it is done, in the decode loop.  Reported per way: seconds from each take's arrival to its
result, and the whole.  The joined way runs twice: the first pays MLX's traces of the step for
two rows with offsets (a daemon's warm-up traces one take's shapes only), the second is warm.

    python benchmarks/join_bench.py --model small --seconds 6 --arrive 0.33 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import oscgen  # noqa: F401 (loads MKL before MLX)
from oscgen.bench.common import ensure_checkpoint
from oscgen.musicgen.pipeline import DECODE_SHARE
from oscgen.take_batch import generate_take_batch


def _request(path, seconds: float, prompt: str, seed: int) -> dict:
    return {"prompt": prompt, "duration": seconds, "model": str(path), "seed": seed}


def waiting(a: dict, b: dict, arrive: float) -> dict:
    """A alone; B arrives at A's ``arrive`` share and starts when A's pass is over."""
    start = time.perf_counter()
    arrived = []

    def progress(fraction: float) -> None:
        if not arrived and fraction >= DECODE_SHARE * arrive:
            arrived.append(time.perf_counter())

    generate_take_batch([a], progress_callbacks=[progress])
    a_done = time.perf_counter()
    generate_take_batch([b])
    b_done = time.perf_counter()
    return {"a_s": a_done - start, "b_s": b_done - arrived[0], "whole_s": b_done - start}


def joining(a: dict, b: dict, arrive: float) -> dict:
    """A's pass, B joining it at the first step after A's ``arrive`` share."""
    start = time.perf_counter()
    arrived, done = [], {}

    def progress(fraction: float) -> None:
        if not arrived and fraction >= DECODE_SHARE * arrive:
            arrived.append(time.perf_counter())

    def incoming(admit) -> None:
        if arrived and "joined" not in done:
            # what the daemon would do (DecodePass.worth_joining), then joined regardless to measure it
            done["worth_joining"] = admit([b]) is not None
            done["joined"] = done["worth_joining"] or admit([b], always=True) is not None

    def on_result(row: int, result) -> None:
        done[row] = time.perf_counter()

    generate_take_batch([a], progress_callbacks=[progress], incoming=incoming, on_result=on_result)
    if not done.get("joined"):
        raise SystemExit("B could not join (the CUDA kernels' step takes no joiners)")
    return {"a_s": done[0] - start, "b_s": done[1] - arrived[0], "whole_s": max(done[0], done[1]) - start,
            "worth_joining": done["worth_joining"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="small")
    parser.add_argument("--seconds", type=float, default=6.0, help="each take's length")
    parser.add_argument("--arrive", type=float, default=0.33, help="B arrives at this share of A's decoding")
    parser.add_argument("--json")
    args = parser.parse_args()
    path = ensure_checkpoint(args.model)
    a = _request(path, args.seconds, "upbeat jazz piano solo with brushed drums", 1)
    b = _request(path, args.seconds, "slow ambient pads, warm analog synth", 2)
    generate_take_batch([a])  # load, trace one take's steps (a daemon's warm-up does this)
    runs = {"join_cold": joining(a, b, args.arrive), "wait": waiting(a, b, args.arrive),
            "join_warm": joining(a, b, args.arrive)}
    report = {"host": platform.processor() or platform.machine(), "model": args.model, "seconds": args.seconds,
              "arrive": args.arrive, "date": time.strftime("%Y-%m-%d"), **runs}
    for name, run in runs.items():
        print(f"{name:10s} A {run['a_s']:6.2f} s   B (from its arrival) {run['b_s']:6.2f} s   both {run['whole_s']:6.2f} s")
    w, j = runs["wait"], runs["join_warm"]
    print(f"joining: B lands {w['b_s'] - j['b_s']:+.2f} s sooner, A {j['a_s'] - w['a_s']:+.2f} s later, "
          f"both done {w['whole_s'] - j['whole_s']:+.2f} s sooner; summed wait {w['a_s'] + w['b_s']:.2f} s waiting, "
          f"{j['a_s'] + j['b_s']:.2f} s joined; DecodePass.worth_joining said {j['worth_joining']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
