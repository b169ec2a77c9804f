"""Subprocess entry points: ``python -m oscgen.bench build SIZE DIR | worker SIDE SPEC.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from oscgen.bench import common


def _main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        common.write_random_checkpoint(argv[1], Path(argv[2]))
        return 0
    if argv[:1] == ["worker"]:
        side, spec_path = argv[1], argv[2]
        spec = json.loads(Path(spec_path).read_text())
        # keep stdout for the line protocol: libraries' prints go to stderr
        common.PROTOCOL, sys.stdout = sys.stdout, sys.stderr
        if side == "oscgen":
            from oscgen.bench.oscgen_side import worker
        else:
            from oscgen.bench.transformers_side import worker
        common.emit("result", worker(spec))
        return 0
    print("usage: python -m oscgen.bench build SIZE DIR | worker SIDE SPEC.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
