"""The app a started simulator serves: `create_app` plus what only a started server needs (the request log on
stdout, the scenario's fault rules). `perf-sim`, its workers and the in-process simulator all start through here."""

from __future__ import annotations

from starlette.types import ASGIApp

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.namespace_path import NamespacePathPrefix


def started_app(config: SimulatorConfig) -> ASGIApp:
    return NamespacePathPrefix(create_app(config))
