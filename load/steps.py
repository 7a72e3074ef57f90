"""The throughput climb's steps and its report, apart from Locust (whose import patches the process for gevent), so
they can be checked in a test's own process."""

from __future__ import annotations

from dataclasses import dataclass

SATURATED_SHARE = 0.9


@dataclass
class Step:
    rate: int
    achieved: float
    p50: float
    p99: float
    failures: int

    def problem(self, bound_ms: float) -> str | None:
        """Why the step failed, for the table and the answer (a step over its p99 bound and one the load generator
        could not drive call for different remedies), or None when it passed."""
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
                f"  note: every step passed: the climb stopped at {cap} or the run's end (-t), not where the server gave out; "
                "raise them to find its limit"
            )
    elif steps:
        lines.append(f"THROUGHPUT: no step passed (the first: {steps[0].problem(bound_ms)}); lower --start-rate")
    else:
        lines.append("THROUGHPUT: no step was measured; give each step more than a second (--step-seconds)")
    if short:
        lines.append(
            f"  note: each step was measured for only {window:g} s, too short for users sending once a second: its rate "
            "falls short by chance, so 'rate not reached' may not be saturation; give --step-seconds 5 or more"
        )
    return "\n".join(lines)
