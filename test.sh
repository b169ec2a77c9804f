#!/usr/bin/env bash
# Runs the whole test suite in .venv (made by setup.sh), installing the test extra first:
# torch 2.13.0 (CPU) and transformers, used only as the parity reference.
set -uo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || { echo "run ./setup.sh first" >&2; exit 1; }
.venv/bin/python -m pip install -q -e '.[test]' || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
# pytest exits 5 when it collected no tests: that is a broken suite, not a pass.
[ "$rc" = 5 ] && { echo "pytest collected no tests" >&2; exit 1; }
exit "$rc"
