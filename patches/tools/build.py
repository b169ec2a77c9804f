"""Regenerates the patches from the daemon's OSC table: ``python patches/tools/build.py``.
Run it after editing a generator or protocol.py, and commit the results with it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from patches.tools import build_maxpat, build_pd  # noqa: E402

OUTPUTS = {
    ROOT / "patches" / "oscgen.pd": build_pd.build,
    ROOT / "patches" / "oscgen.maxpat": build_maxpat.build,
}


def main() -> int:
    for path, build in OUTPUTS.items():
        path.write_text(build())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
