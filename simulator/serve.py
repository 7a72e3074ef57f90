"""Run the simulator in one process, or in several uvicorn workers that share their state through Redis.

uvicorn starts workers by importing an app factory by name, so the settings travel to each worker as JSON in
an environment variable, and each worker builds its own app (and its own Redis connections) from them.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict

import uvicorn
from starlette.applications import Starlette

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.state.base import StateUnavailable
from simulator.state.open import is_shared
from simulator.state.redis import RedisState

CONFIG_ENV = "PERF_SIM_CONFIG"


def app_from_environment() -> Starlette:
    """The app factory each worker process calls."""
    return create_app(SimulatorConfig(**json.loads(os.environ[CONFIG_ENV])))


async def _check_reachable(config: SimulatorConfig) -> None:
    state = RedisState(config.state, config.clock, config.start_time)
    try:
        await state.ping()
    finally:
        await state.close()


def state_problem(config: SimulatorConfig) -> str | None:
    """Why the configured shared state cannot serve, or None: checked once before serving, so a wrong URL
    fails at start with a message instead of answering every request with 503."""
    if not is_shared(config.state):
        return None
    try:
        asyncio.run(_check_reachable(config))
    except StateUnavailable as exc:
        return str(exc)
    return None


def serve(config: SimulatorConfig) -> None:
    if config.workers == 1:
        uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")
        return
    os.environ[CONFIG_ENV] = json.dumps(asdict(config))
    uvicorn.run(
        "simulator.serve:app_from_environment",
        factory=True,
        workers=config.workers,
        host=config.host,
        port=config.port,
        log_level="warning",
    )
