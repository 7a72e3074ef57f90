"""The throughput scenario climbs the rate in steps and reports the highest rate that kept p99 under the bound."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from load.steps import Step, report
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator
from tests.load.conftest import environment


def test_throughput_scenario_reports_the_highest_rate_within_the_p99_bound() -> None:
    command = [sys.executable, "-m", "locust", "-f", str(PROJECT_ROOT / "load" / "throughput.py"), "--headless", "--only-summary"]
    steps = ["--start-rate", "10", "--rate-step", "20", "--max-rate", "50", "--step-seconds", "2.5", "--p99-ms", "250", "-t", "30s"]
    with running_simulator() as sim:
        result = subprocess.run(
            [*command, *steps, "-H", sim.base_url], cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=90
        )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+(\d+|nan)\s+(\d+|nan)\s+(\d+)\s+(ok|[a-z9, ]+)$", result.stdout, re.MULTILINE)
    assert [int(r[0]) for r in rows][:1] == [10], result.stdout
    best = re.search(r"THROUGHPUT: highest rate with p99 <= 250 ms: (\d+) req/s", result.stdout)
    assert best, result.stdout
    assert int(best[1]) == max(int(r[0]) for r in rows if r[5] == "ok")


@pytest.mark.slow
def test_benchmark_runs_end_to_end_in_its_smallest_form(tmp_path: Path) -> None:
    """`python -m load.bench` bounded to one short run per figure (the full run takes about five minutes)."""
    from shutil import which

    if which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    output = tmp_path / "results.md"
    runs = ["--duration", "1", "--repeats", "1", "--control-repeats", "1", "--calls", "200"]
    args = [*runs, "--burst", "20", "--waiting", "20", "--render-samples", "2"]
    command = [sys.executable, "-m", "load.bench", *args, "--skip-cap", "--output", str(output)]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = output.read_text()
    for heading in (
        "## Throughput",
        "## In process",
        "## The control plane's cost",
        "## State and workers",
        "## Burst",
        "## Many requests waiting",
        "## Memory",
    ):
        assert heading in text
    assert "**simulator**, b64_json 1024x1024 (render cache)" in text and "**simulator**, url, a new key every request" in text
    assert "| 10,000 |" in text and "answers 20 × 200" in text


def test_the_report_names_why_each_step_failed_not_always_the_p99_bound() -> None:
    """A step the load generator could not drive (p99 well inside the bound) is not reported as over the bound."""
    short = Step(rate=50, achieved=41.6, p50=12, p99=25, failures=0)
    slow = Step(rate=100, achieved=99.0, p50=40, p99=80, failures=2)
    text = report([short, slow], 50)
    assert re.search(r"^\s+50\s+41\.6\s+12\s+25\s+0\s+rate not reached$", text, re.MULTILINE), text
    assert re.search(r"^\s+100\s+99\.0\s+40\s+80\s+2\s+failures, p99 over$", text, re.MULTILINE), text
    assert "THROUGHPUT: no step passed (the first: rate not reached); lower --start-rate" in text
    assert "no step kept p99" not in text


def test_a_climb_whose_every_step_passed_says_it_stopped_at_the_cap_not_at_the_servers_limit() -> None:
    """`THROUGHPUT: ... 20 req/s` read as the server's capacity when 20 was only --max-rate."""
    steps = [Step(rate=10, achieved=10.0, p50=3, p99=7, failures=0), Step(rate=20, achieved=19.8, p50=3, p99=8, failures=0)]
    text = report(steps, 50, max_rate=20)
    assert "every step passed: the climb stopped at --max-rate (20 req/s) or the run's end (-t), not where the server gave out" in text
    stopped = report([*steps, Step(rate=30, achieved=29.9, p50=40, p99=90, failures=0)], 50, max_rate=40)
    assert "every step passed" not in stopped, stopped


def test_a_rate_missed_in_a_step_too_short_to_measure_is_not_read_as_saturation() -> None:
    """A 3 s step (2 s measured) of once-a-second users reached 7.4 of 10 req/s against an idle simulator."""
    steps = [Step(rate=5, achieved=5.0, p50=3, p99=7, failures=0), Step(rate=10, achieved=7.4, p50=3, p99=7, failures=0)]
    assert "give --step-seconds 5 or more" in report(steps, 50, max_rate=20, window=2.0)
    assert "give --step-seconds 5 or more" not in report(steps, 50, max_rate=20, window=4.0)


@pytest.mark.slow
def test_a_throughput_climb_against_a_host_where_nothing_answers_is_refused_not_told_to_lower_the_rate() -> None:
    command = [sys.executable, "-m", "locust", "-f", str(PROJECT_ROOT / "load" / "throughput.py"), "--headless", "--only-summary"]
    steps = ["--start-rate", "5", "--rate-step", "5", "--max-rate", "5", "--step-seconds", "2", "-t", "10s"]
    nowhere = f"http://127.0.0.1:{free_port()}"
    command += [*steps, "-H", nowhere]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.count(f"THROUGHPUT: NOT RUN: nothing answers at {nowhere}: [Errno 111]") == 1, result.stdout
    assert "lower --start-rate" not in result.stdout
