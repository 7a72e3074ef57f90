"""The simulator without the headers the API document does not promise (`uvicorn --factory tests.load.headerless:app`):
no x-ratelimit-* header on any generation answer and no Retry-After on a 429, the body's retry_after kept. Its limits
hold, so the load verdict must pass it, saying what it could not judge (docs/load.md)."""

from __future__ import annotations

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.state.memory import MemoryState
from spec import tiers
from tests.contract.asgi_defects import Answer, ASGIApp, RewriteAnswers


def _drop_headers(answer: Answer) -> None:
    for name in (*tiers.RATE_LIMIT_HEADERS, "retry-after"):
        answer.headers.pop(name, None)


def app() -> ASGIApp:
    config = SimulatorConfig(clock="real")
    return RewriteAnswers(create_app(config, MemoryState(config.clock, config.start_time)), _drop_headers)
