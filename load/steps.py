"""The throughput climb's steps and its report, apart from Locust (whose import patches the process for gevent), so
they can be checked in a test's own process."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from load.refusals import at_least

SATURATED_SHARE = 0.9
SETTLE_SECONDS = 1.0
"""Each step settles this long before it is measured: the users it adds are still being spawned."""


def climb_problem(options: Any) -> str | None:
    """What is wrong with the climb's options, or None. Locust ignores `-t` with a load shape, so the steps alone end
    the run: `--rate-step 0` climbed for ever (a negative one down to no users), a start over `--max-rate` ran no
    step and exited 0, `--step-seconds 0` crashed dividing by it, and `--p99-ms nan` passed every step (no p99 is
    over nan), while a bound of 0 or under sent the user to lower a rate that could never pass it."""
    if not 0 < options.p99_ms < math.inf:  # also refuses nan, which every comparison fails
        return f"--p99-ms must be a number of milliseconds above 0, got {options.p99_ms:g}"
    for option, value in (("--start-rate", options.start_rate), ("--rate-step", options.rate_step)):
        if problem := at_least(option, value):
            return problem
    if options.max_rate < options.start_rate:
        return f"--max-rate must be at least --start-rate ({options.start_rate}), got {options.max_rate}"
    if not SETTLE_SECONDS < options.step_seconds < math.inf:
        return (
            f"--step-seconds must be a finite number above the {SETTLE_SECONDS:g} s each step settles before it is measured "
            f"(5 or more measure a step well), got {options.step_seconds:g}"
        )
    return None


@dataclass
class Step:
    rate: int
    achieved: float
    p50: float
    p99: float
    failures: int

    def problem(self, bound_ms: float) -> str | None:
        """Why the step failed, for the table and the answer (a step over its p99 bound and one the load generator
        could not drive call for different remedies), or None when it passed. A step in which no request was answered
        has no p99 (nan), which no bound is under: it failed, though no comparison with nan does."""
        if math.isnan(self.p99):
            return NOTHING_MEASURED
        problems = [
            name
            for name, failed in (
                ("failures", self.failures > 0),
                ("rate not reached", self.achieved < SATURATED_SHARE * self.rate),
                ("p99 over", self.p99 > bound_ms),
            )
            if failed
        ]
        return ", ".join(problems) or None

    def passed(self, bound_ms: float) -> bool:
        return self.problem(bound_ms) is None


NOTHING_MEASURED = "nothing measured"

SHORT_WINDOW_SECONDS = 3.0
"""Decision: a step measured for less than this is too short for users sending once a second each: its achieved rate
falls under its target by chance (7.4 of 10 req/s against an idle simulator), read as saturation."""


def report(steps: list[Step], bound_ms: float, max_rate: int | None = None, window: float | None = None) -> str:
    """The table and the answer. `max_rate` is the climb's cap (`--max-rate`); `window` each step's measured seconds."""
    lines = [
        f"throughput steps (p99 bound {bound_ms:g} ms)",
        f"  {'target/s':>9}{'achieved/s':>12}{'p50 ms':>8}{'p99 ms':>8}{'failures':>10}  verdict",
    ]
    for step in steps:
        verdict = step.problem(bound_ms) or "ok"
        lines.append(f"  {step.rate:>9}{step.achieved:>12.1f}{step.p50:>8.0f}{step.p99:>8.0f}{step.failures:>10}  {verdict}")
    good = [s for s in steps if s.passed(bound_ms)]
    failed = next((s for s in steps if not s.passed(bound_ms)), None)
    short = window is not None and window < SHORT_WINDOW_SECONDS and failed is not None
    short = short and "rate not reached" in (failed.problem(bound_ms) or "")  # type: ignore[union-attr]
    if good:
        best = max(good, key=lambda s: s.rate)
        measured = f"achieved {best.achieved:.1f} req/s, p99 {best.p99:.0f} ms"
        lines.append(f"THROUGHPUT: highest rate with p99 <= {bound_ms:g} ms: {best.rate} req/s ({measured})")
        if failed is None:
            cap = f"--max-rate ({max_rate} req/s)" if max_rate is not None else "--max-rate"
            lines.append(
                f"  note: every step passed: the climb stopped at {cap}, not where the server gave out; raise it to find its "
                "limit (Locust ignores -t with a load shape)"
            )
    elif steps and steps[0].problem(bound_ms) == NOTHING_MEASURED:
        lines.append(
            f"THROUGHPUT: no step passed (the first: {NOTHING_MEASURED}: no request was answered while it was measured); "
            "check that the target answers, or give each step longer (--step-seconds)"
        )
    elif steps:
        lines.append(f"THROUGHPUT: no step passed (the first: {steps[0].problem(bound_ms)}); lower --start-rate")
    else:
        lines.append("THROUGHPUT: no step was measured: the run ended before its first step did")
    if short:
        lines.append(
            f"  note: each step was measured for only {window:g} s, too short for users sending once a second: its rate "
            "falls short by chance, so 'rate not reached' may not be saturation; give --step-seconds 5 or more"
        )
    return "\n".join(lines)


def exit_status(steps: list[Step], bound_ms: float) -> int:
    """0 when a step passed (the answer), 1 when none did: a CI job gating on the bound could not tell a server that
    met no rate from one that met it, both exiting 0. (2 is a run refused before any step: NOT RUN.)"""
    return 0 if any(step.passed(bound_ms) for step in steps) else 1
