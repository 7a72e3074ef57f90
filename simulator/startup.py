"""The app a started simulator serves: `create_app` plus what only a started server needs: the request log on
stdout and the scenario's fault rules. `perf-sim`, its workers and the in-process simulator all start through here.

Scenario rules: with the in-memory state each process holds its own rules, so the app adds them as it starts.
With a shared state (Redis) the rules outlive processes and every worker sees them, so whatever starts the run
(`perf-sim`, `simulator_running`) puts them in once, before any worker starts (`start_shared_run`).

Decision: a run on a shared state starts from an empty one, as a run in memory does. Redis outlives the processes,
and a run that carried on from the last one's clock, windows, journal, rules and id sequence (another seed's, even)
broke the promise that the same seed and requests give the same bytes. So whatever starts the run empties its
database first, as a full `POST /_sim/reset` does; a database another simulator is using is refused before that
(simulator.state.claim), since emptying it would empty that simulator's state under it.
"""

from __future__ import annotations

import asyncio
import logging
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
from simulator.state.open import is_shared, open_state

_UVICORN_CUT = "Cancel %s running task(s), timeout graceful shutdown exceeded"


class _StopCutIsNoError(logging.Filter):
    """uvicorn logs the cut of requests still running when a graceful stop's time is up (simulator.serve's
    GRACEFUL_STOP_SECONDS) as an ERROR, which a CI log scanner takes for a failure. It is the stop doing what it is
    documented to do, so it is said as a warning, in the simulator's words."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _UVICORN_CUT:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = (
                "stopped %s request(s) still running when the stop's grace time ran out (a delay or dribble fault, a modelled latency)"
            )
        return True


def _say_stop_cut_calmly() -> None:
    """Install the filter on uvicorn's logger, once per process (each worker makes its app through here)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(known, _StopCutIsNoError) for known in logger.filters):
        logger.addFilter(_StopCutIsNoError())


def started_app(config: SimulatorConfig) -> ASGIApp:
    _say_stop_cut_calmly()
    app = create_app(config)
    if not config.quiet:
        app.state.journal_listeners.append(request_logger(config.log_format))
    if config.scenario:
        specs = load_scenario(config.scenario, config.file_text(config.scenario)).rule_specs()
        app.state.control.starting_rules = specs
        if not is_shared(config.state):
            _add_rules_at_startup(app, specs)
    return app


def start_shared_run(config: SimulatorConfig) -> None:
    """Empty the shared state (windows, clocks, images, ids, journal, rules) and put in the scenario's rules; called
    once per run (`perf-sim`, `simulator_running`) before serving."""
    if not is_shared(config.state):
        return
    specs = load_scenario(config.scenario, config.file_text(config.scenario)).rule_specs() if config.scenario else []

    async def start() -> None:
        state = open_state(config.state, config.clock, config.start_time)
        plane = open_plane(config)
        try:
            await state.reset(None)  # every key under the prefix, the journal's and the rules' too
            await plane.rules.clear(None)  # and tells any rule store listening that the rules changed
            await plane.journal.start_numbering()
            await plane.rules.start_numbering()  # before the scenario's rules, which then are fault_1, fault_2, ...
            await plane.rules.add_all(specs)
        finally:
            await plane.close()
            await state.close()

    asyncio.run(start())


def _add_rules_at_startup(app: Starlette, specs: list[RuleSpec]) -> None:
    """Add the rules as the app starts (in its event loop, where the rule store lives), before the first request."""
    plane: ControlPlane = app.state.control
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner(app):
            await plane.rules.add_all(specs)
            yield

    app.router.lifespan_context = lifespan
