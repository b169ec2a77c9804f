"""Shared test setup: every test run gets its own oscgen cache (the tiny-random model is written
there on first use) and never touches the Hugging Face hub."""

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="oscgen-test-cache-")
os.environ.setdefault("OSCGEN_CACHE", _CACHE)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", os.path.join(_CACHE, "hf"))

# Load oscgen (and with it MKL, oscgen/_blas.py) before any test module imports mlx.core, so the
# test process runs on the same BLAS as the product.
import oscgen  # noqa: E402,F401

# No test depends on which MKL thread count this host's calibration would choose: model loads
# in tests (and in the daemons they start) decode at the uncalibrated default.  test_calibrate.py
# exercises the calibration itself.
os.environ.setdefault("OSCGEN_CALIBRATE", "0")

# Property tests: the same examples on every host (derandomize, no example database carried between
# runs) and no per-example deadline — a loaded or one-core CI machine is slower, and timing never
# decides a test (benchmarks measure it).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("oscgen", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("oscgen")
