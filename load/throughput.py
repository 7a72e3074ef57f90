"""Locust scenario: the highest request rate at which p99 latency stays under a bound.

    locust -f load/throughput.py --headless -H http://127.0.0.1:8080 --p99-ms 50 --max-rate 400

The rate climbs in steps (`--start-rate`, `--rate-step`, `--step-seconds`, up to `--max-rate`); every user sends
one request a second on its own enterprise key (60 images a minute, well inside the tier), so the rate equals
the user count and rate limits never interfere. Each step is measured after a one-second settling time from the
difference of the response-time histograms. On a distributed master those arrive with the workers' reports, every
3 s, so there a step needs 10 s or more for its rate to be measured within a few percent (docs/load.md).
The climb stops at the first step whose p99 exceeds the bound, whose failures are not zero, or whose achieved
rate falls under 90% of its target (the server, or the load generator, is saturated); the answer is the last
step that passed; the exit status is 0 with an answer, 1 without, 2 for a climb refused before any step (bad
options, `-H` without a scheme, a host where nothing answers: `THROUGHPUT: NOT RUN`). The Locust processes share
the machine with the server, so on a small machine the answer is a floor, not the server's ceiling:
`python -m load.bench` measures that with a C load generator.
"""

from __future__ import annotations

import itertools
import json
import socket
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from load.refusals import host_problem
from load.steps import SETTLE_SECONDS, Step, climb_problem, exit_status, report
from spec import tiers

BODY = json.dumps({"prompt": "A serene Japanese garden with cherry blossoms at sunset, photorealistic"})


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("perf-image-sim throughput")
    group.add_argument("--p99-ms", type=float, default=50.0, help="the p99 latency bound (ms)")
    group.add_argument("--start-rate", type=int, default=20, help="first step's requests per second")
    group.add_argument("--rate-step", type=int, default=20, help="rate added per step")
    group.add_argument("--max-rate", type=int, default=400, help="highest rate tried")
    group.add_argument("--step-seconds", type=float, default=5.0, help="length of each step")
    group.add_argument("--body", default=BODY, help="the JSON request body (default: the document's example, url response)")


class SteadyUser(FastHttpUser):
    wait_time = constant_throughput(1)
    _counter: ClassVar[itertools.count[int]] = itertools.count()

    def on_start(self) -> None:
        self.key = f"{tiers.TEST_KEY_PREFIX}enterprise_tput{next(self._counter)}"

    @task
    def generate(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        self.client.post("/v1/images/generations", data=self.environment.parsed_options.body, headers=headers, name="generate")


@dataclass
class _Snapshot:
    at: float
    requests: int
    failures: int
    histogram: dict[int, int]


STEPS: list[Step] = []


def _percentile(histogram: dict[int, int], share: float) -> float:
    total = sum(histogram.values())
    if not total:
        return float("nan")
    seen = 0
    for millis in sorted(histogram):
        seen += histogram[millis]
        if seen >= share * total:
            return float(millis)
    return float(max(histogram))


class StepRate(LoadTestShape):
    def __init__(self) -> None:
        super().__init__()
        self.index = -1
        self.start: _Snapshot | None = None
        self.done = False

    def _snapshot(self) -> _Snapshot:
        assert self.runner is not None
        total = self.runner.stats.total
        return _Snapshot(self.get_run_time(), total.num_requests, total.num_failures, dict(total.response_times))

    def _close_step(self, rate: int) -> Step | None:
        if self.start is None:
            return None
        end = self._snapshot()
        diff = {ms: count - self.start.histogram.get(ms, 0) for ms, count in end.histogram.items()}
        diff = {ms: count for ms, count in diff.items() if count > 0}
        elapsed = max(1e-9, end.at - self.start.at)
        step = Step(
            rate,
            (end.requests - self.start.requests) / elapsed,
            _percentile(diff, 0.5),
            _percentile(diff, 0.99),
            end.failures - self.start.failures,
        )
        STEPS.append(step)
        return step

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None and self.runner.environment.parsed_options is not None
        options = self.runner.environment.parsed_options
        if self.done:
            return None
        if self.index < 0 and self.start is None and _refused(self.runner.environment):
            self.done = True  # before any user spawns: Locust asks the shape first, then starts the run
            return None
        index = int(self.get_run_time() // options.step_seconds)
        rate = options.start_rate + index * options.rate_step
        if index != self.index:
            if self.index >= 0:
                finished = self._close_step(options.start_rate + self.index * options.rate_step)
                if finished is not None and not finished.passed(options.p99_ms):
                    self.done = True
                    return None
            if rate > options.max_rate:
                self.done = True
                return None
            self.index, self.start = index, None
        if self.start is None and self.get_run_time() - index * options.step_seconds >= SETTLE_SECONDS:
            self.start = self._snapshot()
        return rate, float(max(rate, 50))


REFUSED: list[str] = []
"""Why the climb was refused before any user spawned, when so; said once, then its report is not printed."""


def _refused(environment: Environment) -> bool:
    """Refuse bad options and a host where nothing answers, before the first step, in one line with exit status 2, as
    the rate-limit run does (`NOT RUN`). The shape's first tick is the place: it runs before `test_start` (where
    `--step-seconds 0` had already crashed dividing by it), and on a distributed master, which alone runs it."""
    assert environment.parsed_options is not None
    host = environment.host or ""
    problem = climb_problem(environment.parsed_options) or host_problem(host)
    if problem is None:
        target = urlsplit(host)
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            socket.create_connection((target.hostname or "", port), timeout=5).close()
        except OSError as exc:  # every request would fail, and 'lower --start-rate' was no remedy
            problem = f"nothing answers at {host}: {exc}"
    if problem is None:
        return False
    REFUSED.append(problem)
    print(f"THROUGHPUT: NOT RUN: {problem}", flush=True)
    environment.process_exit_code = 2
    return True


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or REFUSED:
        return
    assert environment.parsed_options is not None
    options = environment.parsed_options
    print(report(STEPS, options.p99_ms, options.max_rate, options.step_seconds - SETTLE_SECONDS), flush=True)
    environment.process_exit_code = exit_status(STEPS, options.p99_ms)
