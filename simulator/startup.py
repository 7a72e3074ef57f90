"""The app a started simulator serves: `create_app` plus what only a started server needs: the request log on
stdout and the scenario's fault rules. `perf-sim`, its workers and the in-process simulator all start through here.

Scenario rules: with the in-memory state each process holds its own rules, so the app adds them as it starts.
With a shared state (Redis) the rules outlive processes and every worker sees them, so whatever starts the run
(`perf-sim`, `simulator_running`) puts them in once, before any worker starts, replacing whatever rules the store
held (else each restart would add them again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control.open import open_plane
from simulator.control.plane import ControlPlane
from simulator.control.rules import RuleSpec
from simulator.request_log import request_logger
from simulator.scenario import load_scenario
from simulator.state.open import is_shared


def started_app(config: SimulatorConfig) -> ASGIApp:
    app = create_app(config)
    if not config.quiet:
        app.state.journal_listeners.append(request_logger(config.log_format))
    if config.scenario:
        specs = load_scenario(config.scenario).rule_specs()
        app.state.control.starting_rules = specs
        if not is_shared(config.state):
            _add_rules_at_startup(app, specs)
    return app


def install_shared_scenario_rules(config: SimulatorConfig) -> None:
    """Replace the shared store's fault rules with the scenario's; called once per run (`perf-sim`, `simulator_running`)
    before serving."""
    if not (config.scenario and is_shared(config.state)):
        return
    specs = load_scenario(config.scenario).rule_specs()

    async def install() -> None:
        plane = open_plane(config)
        try:
            await plane.rules.clear(None)
            for spec in specs:
                await plane.rules.add(spec)
        finally:
            await plane.close()

    asyncio.run(install())


def _add_rules_at_startup(app: Starlette, specs: list[RuleSpec]) -> None:
    """Add the rules as the app starts (in its event loop, where the rule store lives), before the first request."""
    plane: ControlPlane = app.state.control
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner(app):
            for spec in specs:
                await plane.rules.add(spec)
            yield

    app.router.lifespan_context = lifespan
