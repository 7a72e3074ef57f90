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
from simulator.face_lanes import FaceLanes


def app_without_control(config: SimulatorConfig) -> ASGIApp:
    """The simulator's app served through the faces' lanes and Starlette's own stack (error handling, CORS, routes,
    lifespan), which the control layer wraps in `SimulatorApp.build_middleware_stack`: the app is called as usual
    (`Starlette.__call__` puts it in the scope, as the faces' error handling needs), its stack built without the
    layer, hence also without the namespace base paths (`/_sim/ns/<name>/...`) the layer takes; the request log is off
    as with `--quiet`."""
    app = create_app(config)
    app.middleware_stack = FaceLanes(Starlette.build_middleware_stack(app), app.router)
    return app


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    uvicorn.run(app_without_control(config), host=config.host, port=config.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
