"""The throughput scenario climbs the rate in steps and reports the highest rate that kept p99 under the bound."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest

from load.refusals import host_problem
from load.steps import Step, climb_problem, exit_status, report
from simulator.launcher import PROJECT_ROOT, free_port, running_simulator
from tests.load.conftest import environment


@pytest.mark.slow
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
    assert "every step passed: the climb stopped at --max-rate (20 req/s), not where the server gave out" in text
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


CLIMB = {"p99_ms": 50.0, "start_rate": 20, "rate_step": 20, "max_rate": 400, "step_seconds": 5.0}
"""The climb's defaults (load/throughput.py), which climb_problem takes."""


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"rate_step": 0}, "--rate-step must be at least 1, got 0"),
        ({"rate_step": -5}, "--rate-step must be at least 1, got -5"),
        ({"start_rate": 0}, "--start-rate must be at least 1, got 0"),
        ({"start_rate": 50, "max_rate": 10}, "--max-rate must be at least --start-rate (50), got 10"),
        ({"step_seconds": 0.0}, "--step-seconds must be a finite number above the 1 s each step settles"),
        ({"step_seconds": 1.0}, "--step-seconds must be a finite number above the 1 s each step settles"),
        ({"step_seconds": math.inf}, "--step-seconds must be a finite number above the 1 s each step settles"),
        ({"p99_ms": math.nan}, "--p99-ms must be a number of milliseconds above 0, got nan"),
        ({"p99_ms": 0.0}, "--p99-ms must be a number of milliseconds above 0, got 0"),
        ({"p99_ms": -5.0}, "--p99-ms must be a number of milliseconds above 0, got -5"),
        ({"p99_ms": math.inf}, "--p99-ms must be a number of milliseconds above 0, got inf"),
    ],
)
def test_climb_options_that_never_end_crash_or_pass_every_step_are_refused(given: dict[str, float], said: str) -> None:
    """Locust ignores -t with a load shape: `--rate-step 0` climbed for ever; `--step-seconds 0` crashed dividing by
    it; `--p99-ms nan` passed every step; a start over the cap measured nothing and exited 0."""
    problem = climb_problem(Namespace(**{**CLIMB, **given}))
    assert problem is not None and problem.startswith(said), problem


def test_the_climbs_sane_options_are_taken() -> None:
    assert climb_problem(Namespace(**CLIMB)) is None
    assert climb_problem(Namespace(**{**CLIMB, "start_rate": 10, "max_rate": 10, "step_seconds": 1.5, "p99_ms": 0.5})) is None


def test_a_step_in_which_nothing_was_answered_does_not_pass() -> None:
    """Its p99 is nan, which no comparison is over: a step of 0 users, or against a hung target, read as `ok`."""
    empty = Step(rate=0, achieved=0.0, p50=math.nan, p99=math.nan, failures=0)
    hung = Step(rate=10, achieved=0.0, p50=math.nan, p99=math.nan, failures=0)
    assert empty.problem(50) == hung.problem(50) == "nothing measured"
    assert not empty.passed(50) and not hung.passed(50)
    text = report([hung], 50)
    assert "THROUGHPUT: no step passed (the first: nothing measured" in text and "lower --start-rate" not in text, text


def test_a_climb_in_which_no_step_passed_exits_1_and_one_with_an_answer_0() -> None:
    """A CI job gating on `--p99-ms` could not tell a server that met no rate from one that met the bound: both exited 0."""
    over = Step(rate=10, achieved=10.0, p50=40, p99=80, failures=0)
    ok = Step(rate=10, achieved=10.0, p50=3, p99=7, failures=0)
    assert exit_status([over], 50) == 1 and exit_status([], 50) == 1
    assert exit_status([ok, over], 50) == 0


def test_a_host_without_a_scheme_is_named_as_such_not_as_a_host_where_nothing_answers() -> None:
    assert host_problem("127.0.0.1:8080") == "-H must be the target's http:// or https:// base URL, got '127.0.0.1:8080'"
    assert host_problem("http://127.0.0.1:8080") is None and host_problem("https://gateway.example") is None


def _climb(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "locust", "-f", str(PROJECT_ROOT / "load" / "throughput.py"), "--headless", "--only-summary"]
    return subprocess.run([*command, *args], cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=60)


def test_the_climb_refuses_a_bad_option_and_a_host_without_a_scheme_in_one_line_before_any_step() -> None:
    """`--rate-step 0` ran until killed (nothing bounds a load shape's run but its steps); `-H host:port` was told
    nothing answers there. Each is refused at once, with exit status 2 and no traceback, before any user is spawned."""
    started = time.monotonic()
    endless = _climb("-H", f"http://127.0.0.1:{free_port()}", "--rate-step", "0", "--step-seconds", "3")
    bare = _climb("-H", f"127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 30
    for result, said in (
        (endless, "THROUGHPUT: NOT RUN: --rate-step must be at least 1, got 0"),
        (bare, "THROUGHPUT: NOT RUN: -H must be the target's http:// or https:// base URL, got '127.0.0.1:"),
    ):
        output = result.stdout + result.stderr
        assert result.returncode == 2 and result.stdout.count("THROUGHPUT:") == 1 and said in result.stdout, output
        assert "Traceback" not in output and "throughput steps" not in result.stdout, output
