"""`python -m load.without_control [perf-sim options]`: the simulator with its control plane taken out, for the
benchmark's baseline only.

The same app as `perf-sim` in one process, served the same way, minus the control layer in front of the faces: no
fault rules, headers or tokens, no request journal, hence no request log or metrics counts, and every request in the
default namespace. What the benchmark's control-plane figure divides by: issue 9 bounds the cost of the control plane
(with no fault rules) at 5% of url throughput.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from simulator.app import create_app
from simulator.cli import parse_args
from simulator.config import SimulatorConfig


def app_without_control(config: SimulatorConfig) -> ASGIApp:
    """Starlette's own stack of the simulator's app (error handling, CORS, routes, lifespan): what the control layer
    wraps in `SimulatorApp.build_middleware_stack`. Also without the namespace base paths (`/_sim/ns/<name>/...`)
    that `perf-sim` serves in front of it; the request log is off as with `--quiet`."""
    return Starlette.build_middleware_stack(create_app(config))


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    uvicorn.run(app_without_control(config), host=config.host, port=config.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
