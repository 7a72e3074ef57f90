"""`python -m load.instructions`: the control plane's cost in instructions per url request, counted by callgrind."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.launcher import PROJECT_ROOT


@pytest.mark.slow
def test_both_servers_instructions_per_url_request_are_counted_under_real_load() -> None:
    if shutil.which("valgrind") is None or shutil.which("wrk") is None:
        pytest.skip("valgrind and wrk are not installed (apt-get install -y valgrind wrk)")
    # Three seconds, not one: beside the suite's other worker, a server under callgrind once answered nothing in one.
    command = [sys.executable, "-m", "load.instructions", "--seconds", "3"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    full = re.search(r"^perf-sim: ([\d,.]+)k instructions per url request \(([\d,]+) requests counted\)$", result.stdout, re.M)
    bare = re.search(r"^without its control plane: ([\d,.]+)k \(([\d,]+) requests counted\)$", result.stdout, re.M)
    assert full and bare, result.stdout
    assert int(full[2].replace(",", "")) > 0 and int(bare[2].replace(",", "")) > 0
    # The control plane does work on every request: with it, a request costs more instructions, not a few percent less.
    assert float(full[1].replace(",", "")) > float(bare[1].replace(",", "")), result.stdout
    assert re.search(r"^the control plane: \+[\d.]+k instructions per request, \+[\d.]+%", result.stdout, re.M), result.stdout
    assert "==" not in result.stdout + result.stderr, "valgrind's own messages go to its log file"


def test_without_valgrind_it_says_what_to_install_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "load.instructions"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env={"PATH": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "load.instructions needs valgrind, callgrind_control, wrk: apt-get install -y valgrind wrk" in result.stderr
