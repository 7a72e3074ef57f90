"""`python -m load.instructions`: instructions per url request of `perf-sim` and of the same server without its
control plane (`load.without_control`), counted by callgrind on real servers under `wrk` load.

Why: issue 9 bounds the control plane's cost at 5% of url throughput, and `python -m load.bench --only control`
measures that cost in wall-clock time, whose medians moved from 3% to 16% between runs of the same code on a shared
2-core machine. Instructions counted by callgrind are the same from run to run within about 0.2%, so they tell whether
a change to the fast path helped; they do not count what the processor's caches and branch predictors add, which the
wall-clock figure does (it came out at about twice the instruction count's).

Each server runs under `valgrind --tool=callgrind` with instrumentation off, pinned to one core with wrk on the
other; after a warm-up, instrumentation is switched on (`callgrind_control`) for `--seconds` of load and the
instructions counted are divided by the requests wrk completed. Needs the Debian package `valgrind`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from load.bench import CONTROL_PLANE_BOUND, KEY, PATH, SERVER_CPU, URL_BODY, WRK_CPU, bench_files, can_pin, pinned
from load.wrk import Wrk
from simulator.launcher import free_port, running

CONNECTIONS = 4
"""wrk's connections: a server under callgrind answers about 200 requests a second, so more would only queue."""
WARM_SECONDS = 8
"""Load before counting: Python specializes its hot bytecode and the caches and pools fill, as in a long run."""
STARTUP_SECONDS = 300.0
"""How long a server under callgrind may take to answer its health check (a few seconds natively)."""
WITHOUT_CONTROL = "load.without_control"


@dataclass(frozen=True)
class Count:
    instructions: int
    requests: int

    @property
    def per_request(self) -> float:
        return self.instructions / max(1, self.requests)


def count(module: str, keys_file: Path, wrk: Wrk, seconds: int, work_dir: Path, cpu: int | None) -> Count:
    """Instructions per url request of `python -m module` (perf-sim's options) under `seconds` of wrk load, the server
    on core `cpu` (None: any)."""
    port = free_port()
    out = work_dir / f"{module}.callgrind"
    server = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), "--quiet", "--keys", str(keys_file)]
    log = f"--log-file={work_dir / module}.valgrind.log"  # its banner and warnings, not the figures
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", log, *server]
    with running(pinned(command, cpu), port, silent=True, startup_seconds=STARTUP_SECONDS) as running_server:
        url = running_server.base_url + PATH
        wrk.run(url, URL_BODY, seconds=WARM_SECONDS)
        pid = str(running_server.process.pid)
        _control("-i", "on", pid)
        load = wrk.run(url, URL_BODY, seconds=seconds)
        _control("-i", "off", pid)
        _control("-d", pid)
    # Each dump is a file of its own (`out.1`), the one at exit `out` itself: their totals add up.
    return Count(sum(_totals(path) for path in work_dir.glob(f"{out.name}*")), load.requests)


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def _totals(path: Path) -> int:
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return 0


def report(full: Count, bare: Count) -> list[str]:
    cost = full.per_request / bare.per_request - 1
    return [
        f"perf-sim: {full.per_request / 1000:,.1f}k instructions per url request ({full.requests:,} requests counted)",
        f"without its control plane: {bare.per_request / 1000:,.1f}k ({bare.requests:,} requests counted)",
        f"the control plane: {(full.per_request - bare.per_request) / 1000:+,.1f}k instructions per request, {cost:+.1%} "
        f"(issue 9 bounds its cost at {CONTROL_PLANE_BOUND:.0%} of url throughput, measured by load.bench in wall-clock time)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=25, help="seconds of counted load per server (default 25)")
    args = parser.parse_args(argv)
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")
    missing = [tool for tool in ("valgrind", "callgrind_control", "wrk") if shutil.which(tool) is None]
    if missing:
        print(f"load.instructions needs {', '.join(missing)}: apt-get install -y valgrind wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        script, keys = bench_files(work_dir)
        pin = can_pin()
        wrk = Wrk(script, KEY, args.seconds, CONNECTIONS, WRK_CPU if pin else None)
        server_cpu = SERVER_CPU if pin else None
        full = count("simulator", keys, wrk, args.seconds, work_dir, server_cpu)
        bare = count(WITHOUT_CONTROL, keys, wrk, args.seconds, work_dir, server_cpu)
    print("\n".join(report(full, bare)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
