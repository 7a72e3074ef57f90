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


def report(steps: list[Step], bound_ms: float) -> str:
    lines = [
        f"throughput steps (p99 bound {bound_ms:g} ms)",
        f"  {'target/s':>9}{'achieved/s':>12}{'p50 ms':>8}{'p99 ms':>8}{'failures':>10}  verdict",
    ]
    for step in steps:
        verdict = step.problem(bound_ms) or "ok"
        lines.append(f"  {step.rate:>9}{step.achieved:>12.1f}{step.p50:>8.0f}{step.p99:>8.0f}{step.failures:>10}  {verdict}")
    good = [s for s in steps if s.passed(bound_ms)]
    if good:
        best = max(good, key=lambda s: s.rate)
        measured = f"achieved {best.achieved:.1f} req/s, p99 {best.p99:.0f} ms"
        lines.append(f"THROUGHPUT: highest rate with p99 <= {bound_ms:g} ms: {best.rate} req/s ({measured})")
    elif steps:
        lines.append(f"THROUGHPUT: no step passed (the first: {steps[0].problem(bound_ms)}); lower --start-rate")
    else:
        lines.append("THROUGHPUT: no step was measured; give each step more than a second (--step-seconds)")
    return "\n".join(lines)
