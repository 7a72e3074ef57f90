"""`python -m load.same_core`: the control plane's cost in CPU time per url request, with `perf-sim` and the same
server without its control plane (`load.without_control`) serving at the same time, on one core.

Why: `python -m load.bench --only control` runs the two servers one after the other, and the host's other work from
minute to minute moved its medians from 3% to 16% between runs of the same code. Here both servers share one core
for every round, each loaded by a wrk of its own on the other core, so whatever the host does during a round slows
both alike. A round's figure is the ratio of the two servers' CPU time per request (from /proc), which does not
depend on how the scheduler split the core between them. `--against-itself` runs `perf-sim` against a second
`perf-sim`: how far apart two copies of one server measure is the method's own noise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from load.bench import CONTROL_PLANE_BOUND, KEY, PATH, SERVER_CPU, URL_BODY, WRK_CPU, bench_files, bound_verdict, can_pin, simulator
from load.wrk import Wrk, cpu_seconds
from simulator.launcher import RunningServer

CONNECTIONS = 16
WARM_SECONDS = 2
WITHOUT_CONTROL = "load.without_control"


@dataclass(frozen=True)
class Round:
    requests: tuple[int, int]
    cpu_used: tuple[float, float]

    @property
    def cost(self) -> float:
        """How much more CPU time a request took the first server than the second."""
        (first, second), (first_cpu, second_cpu) = self.requests, self.cpu_used
        return (first_cpu / max(1, first)) / (second_cpu / max(1, second)) - 1


def rounds(servers: tuple[RunningServer, RunningServer], wrk: Wrk, count: int, seconds: int) -> Iterator[Round]:
    urls = [server.base_url + PATH for server in servers]
    pids = [server.process.pid for server in servers]
    wrk.requests_together(urls, URL_BODY, WARM_SECONDS)
    for _ in range(count):
        before = [cpu_seconds(pid) for pid in pids]
        first, second = wrk.requests_together(urls, URL_BODY, seconds)
        used = [cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
        yield Round((first, second), (used[0], used[1]))


def report(measured: list[Round], against_itself: bool) -> list[str]:
    costs = [one.cost for one in measured]
    names = ("perf-sim", "a second perf-sim") if against_itself else ("perf-sim", "without its control plane")
    lines = [
        f"round {i + 1}: {names[0]} {r.requests[0]:,} requests, {names[1]} {r.requests[1]:,}; {r.cost:+.1%} CPU per request"
        for i, r in enumerate(measured)
    ]
    median = statistics.median(costs)
    if against_itself:
        spread = f"{min(costs):+.1%} to {max(costs):+.1%}"
        lines.append(f"two copies of perf-sim: median {median:+.1%} CPU per request apart over {len(costs)} rounds (rounds {spread})")
    else:
        verdict = bound_verdict(costs, CONTROL_PLANE_BOUND, more="--rounds")
        lines.append(
            f"the control plane with no fault rules: {median:+.1%} CPU per url request (median of {len(costs)} rounds on one core, "
            f"both servers at once; bound {CONTROL_PLANE_BOUND:.0%}): {verdict}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.same_core", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of load, both servers at once (default 15)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each round (default 5)")
    parser.add_argument("--against-itself", action="store_true", help="perf-sim against a second perf-sim: the method's own noise")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    if shutil.which("wrk") is None or not can_pin():
        print("load.same_core needs wrk (apt-get install -y wrk), taskset and two cores", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        script, keys = bench_files(Path(tmp))
        second = "simulator" if args.against_itself else WITHOUT_CONTROL
        servers = (
            stack.enter_context(simulator("--keys", str(keys), cpu=SERVER_CPU)),
            stack.enter_context(simulator("--keys", str(keys), cpu=SERVER_CPU, module=second)),
        )
        wrk = Wrk(script, KEY, args.seconds, CONNECTIONS, WRK_CPU)
        measured = list(rounds(servers, wrk, args.rounds, args.seconds))
    print("\n".join(report(measured, args.against_itself)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
