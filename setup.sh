#!/usr/bin/env bash
# One command from a fresh clone to a first WAV: system packages, a virtualenv in .venv with
# oscgen installed, then `oscgen demo` (real musicgen-small if its weights are cached, else the
# built-in tiny random-weight model, which is clearly labelled and makes noise).
set -euo pipefail
cd "$(dirname "$0")"

# liblo-tools: oscsend/oscdump; jackd2: MIDI without hardware; puredata-core: the Pd patch headless;
# g++: the BLAS shim and the CPU attention extension, compiled on first use (oscgen/_mlx_ext.py).
APT_PACKAGES="python3-venv liblo-tools jackd2 puredata-core libsndfile1 g++"
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $APT_PACKAGES >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .

.venv/bin/oscgen doctor
.venv/bin/oscgen demo
