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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.control.open import RedisControlPlane
from simulator.control.plane import ControlPlane
from simulator.control.redis_rules import PutBack
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
        specs = _scenario_rules(config)
        control = app.state.control
        control.starting_rules = specs
        if isinstance(control, RedisControlPlane):
            control.shared_rules.starting_rules = specs  # put back by the worker if Redis loses them (after_redis_restart)
        else:
            _add_rules_at_startup(app, specs)
    return app


def _scenario_rules(config: SimulatorConfig) -> list[RuleSpec]:
    return load_scenario(config.scenario, config.file_text(config.scenario)).rule_specs() if config.scenario else []


def start_shared_run(config: SimulatorConfig) -> None:
    """Empty the shared state (windows, clocks, images, ids, journal, rules) and put in the scenario's rules; called
    once per run (`perf-sim`, `simulator_running`) before serving."""
    if not is_shared(config.state):
        return
    specs = _scenario_rules(config)

    async def start() -> None:
        state = open_state(config.state, config.clock, config.start_time)
        plane = RedisControlPlane(config.state, config)
        try:
            await state.reset(None)  # every key under the prefix, the journal's and the rules' too
            await plane.journal.start_numbering()
            await plane.rules.start_numbering()  # before the scenario's rules, which then are fault_1, fault_2, ...
            await plane.shared_rules.add_starting(specs)  # empties the rules too, and tells any rule store listening
        finally:
            await plane.close()
            await state.close()

    asyncio.run(start())


def after_redis_restart(config: SimulatorConfig) -> Callable[[], str]:
    """What the run's claim (simulator.state.claim) does when it finds Redis restarted: put the scenario's rules back
    if Redis lost the run's data, and say what the run now holds, to end the claim's warning.

    Decision: a Redis restarted without its data has started the run over on its own: the clock is back at its start
    (its offsets are gone), and the windows, images, journal and id counters are empty. The rules were the one part
    of a run's start left out (a scenario's retry test then passed with no 503 at all), so they are put back as a full
    `POST /_sim/reset` does, and the run is where a reset takes it. The claim is one per run (in the parent process,
    not in each worker), and every step that puts the rules in (the run's start, a reset, this one) is one atomic
    step with a mark (`RedisRuleStore.put_back_starting`), so they go in once however many ask, and not again where a
    reset since the restart (before the claim's check found it) put them back; a Redis that kept its data (persistence)
    kept the mark, and gets nothing twice. The claim checks each second, and a worker reconnects at its next request,
    so the first worker to reconnect puts them back itself by the same step, before it answers
    (`RedisRuleStore._put_back_lost`); the claim then says what that step did, as its own."""
    specs = _scenario_rules(config)

    async def put_back() -> PutBack | None:
        plane = RedisControlPlane(config.state, config)
        try:
            return await plane.shared_rules.put_back_starting(specs)
        finally:
            await plane.close()

    def restarted() -> str:
        put = asyncio.run(put_back())
        if put is None:
            return "and kept this run's data (it persists it): the run goes on where it was"
        said = (
            "without this run's data, so the run started over as after a full POST /_sim/reset: clock advances are "
            "undone, the rate windows, images and journal are empty, request ids and image URLs given before are given "
            "again, and the fault rules added before it are gone"
        )
        return said + _rules_put_back(len(specs), put)

    return restarted


def _rules_put_back(count: int, put: PutBack) -> str:
    """The warning's end: which of the scenario's `count` rules went back, and after which rules added since the
    restart (by a client, or a reset), which then hold the first ids."""
    if not count:
        return ""
    rules = f"{count} fault rules" if count > 1 else "fault rule"
    if not put.added:
        by = "a full POST /_sim/reset" if put.full_reset else "POST /_sim/reset of their namespaces"
        return f"; {by} since the restart had put the scenario's {rules} back already"
    if len(put.added) < count:
        said = (
            f"; {len(put.added)} of the scenario's {rules} {'were' if len(put.added) > 1 else 'was'} put back "
            f"({_ids(put.added)}), and a POST /_sim/reset of their namespace since the restart had put back the others"
        )
    else:
        said = f"; the scenario's {rules} {'were' if count > 1 else 'was'} put back ({_ids(put.added)})"
    if put.before:
        held = f"the {len(put.before)} rules" if len(put.before) > 1 else "the rule"
        said += f", after {held} added since the restart ({_ids(put.before)})"
    return said


def _ids(ids: list[str]) -> str:
    """`fault_1 to fault_3` for ids in a row, else each one."""
    numbers = [int(rule_id.rsplit("_", 1)[1]) for rule_id in ids]
    if len(ids) > 1 and numbers == list(range(numbers[0], numbers[0] + len(ids))):
        return f"{ids[0]} to {ids[-1]}"
    return ", ".join(ids)


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
