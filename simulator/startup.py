"""The app a started simulator serves: `create_app` plus what only a started server needs (the request log on
stdout, the scenario's fault rules). `perf-sim`, its workers and the in-process simulator all start through here."""

from __future__ import annotations

from starlette.applications import Starlette

from simulator.app import create_app
from simulator.config import SimulatorConfig


def started_app(config: SimulatorConfig) -> Starlette:
    return create_app(config)
