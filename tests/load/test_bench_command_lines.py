"""The benchmarks' command lines as a person types them: `--help` prints help, a bad N is a usage error (exit 2)
before any server starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.load.conftest import environment

BENCHMARKS = ("load.bench_gateway", "load.bench_native_faces")


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60, env=environment())


@pytest.mark.parametrize("module", BENCHMARKS)
def test_a_benchmarks_help_is_printed_not_a_traceback(module: str) -> None:
    shown = _run(module, "--help")
    assert shown.returncode == 0 and shown.stdout.startswith(f"usage: python -m {module} [-h] [N]"), shown.stdout + shown.stderr


@pytest.mark.parametrize("module", BENCHMARKS)
@pytest.mark.parametrize("n", ["0", "many"])
def test_a_benchmarks_n_that_is_not_a_positive_number_is_a_usage_error(module: str, n: str) -> None:
    refused = _run(module, n)
    assert refused.returncode == 2 and f"python -m {module}: error: " in refused.stderr, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
