"""`python -m load.same_core`: the control plane's cost in CPU time per url request, both servers on one core at once."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from load.same_core import Round, report
from simulator.launcher import PROJECT_ROOT


def test_a_rounds_cost_is_cpu_per_request_whatever_share_of_the_core_each_server_got() -> None:
    # The first server got a little more of the core, the second served twice the requests with less of it.
    assert Round((1000, 2000), (1.1, 2.0)).cost == pytest.approx(0.10)
    assert Round((500, 500), (0.5, 0.5)).cost == pytest.approx(0.0)


def test_the_report_decides_the_bound_only_from_enough_rounds() -> None:
    few = report([Round((1000, 1000), (1.1, 1.0))] * 3, against_itself=False)
    assert few[-1].endswith("NOT DECIDED (too few paired runs, 3, for a 95% interval; give --rounds 15 or more)")
    many = report([Round((1000, 1000), (1.0 + i / 100, 1.0)) for i in range(8, 23)], against_itself=False)
    assert many[-1].startswith("the control plane with no fault rules: +15.0% CPU per url request (median of 15 rounds")
    assert "MISSED (95% interval of the median 11.0% to 19.0%)" in many[-1]


@pytest.mark.slow
def test_both_servers_are_measured_at_once_under_real_load() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    command = [sys.executable, "-m", "load.same_core", "--rounds", "2", "--seconds", "1"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    served = re.findall(
        r"^round \d: perf-sim ([\d,]+) requests, without its control plane ([\d,]+); [+-][\d.]+% CPU per request$", result.stdout, re.M
    )
    assert len(served) == 2 and all(int(a.replace(",", "")) > 0 and int(b.replace(",", "")) > 0 for a, b in served), result.stdout
    assert "(median of 2 rounds on one core, both servers at once; bound 5%): NOT DECIDED" in result.stdout


def test_without_wrk_it_says_what_to_install_and_exits_2(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "load.same_core"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env={"PATH": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "load.same_core needs wrk (apt-get install -y wrk), taskset and two cores" in result.stderr
