"""The Perf API's own tests hold in gateway mode: a representative subset run with `pytest --gateway` in a subprocess.

`pytest --gateway tests/test_*.py` runs them all; this test (in the slow pass) keeps to the tests of the rules a gateway could
most easily break (rate windows on the gateway's manual clock, image bytes and URLs re-hosted with their expiry,
byte-for-byte determinism), leaving out the FLUX cases (test_gateway.py covers FLUX through the gateway), about 10 s.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from simulator.launcher import PROJECT_ROOT
from simulator.registry import PROVIDER_NAMES

# A subprocess pytest run of the Perf API's tests through a gateway: the slow pass (CI runs it).
pytestmark = pytest.mark.slow

SUBSET = ["tests/test_rate_limits.py", "tests/test_images.py", "tests/test_determinism.py::test_same_seed_same_bytes_across_processes"]


def test_rate_limit_image_and_determinism_tests_pass_through_a_gateway() -> None:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--gateway",
        "-q",
        "-s",
        "-p",
        "no:cacheprovider",
        "--timeout",
        "60",
        "-k",
        "not flux",
        *SUBSET,
    ]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
    # -s lets the simulators' start-up banners through: the Perf API under test really was a gateway.
    assert all(f"gateway mode: {provider} models via http://127.0.0.1:" in done.stdout for provider in PROVIDER_NAMES)
