"""A Redis kept busy past its busy threshold (a long script or slow command) answers every other command BUSY: that
is a stuck Redis, so every call gets the state's 503, never a 500 saying the simulator has a bug."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import redis

from load.redis_server import RedisServer, Stall, redis_available
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import free_port
from simulator.state.base import CLOCK_MANUAL
from spec import tiers

pytestmark = pytest.mark.anyio

BUSY_AFTER_MS = 100
"""The busy threshold of this module's Redis (5 s by default), so a stall of a second is past it."""


@pytest.fixture(scope="module")
def quickly_busy_redis() -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    server = RedisServer(free_port(), options=("--lua-time-limit", str(BUSY_AFTER_MS)))
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_every_call_to_a_redis_busy_past_its_threshold_is_the_503_of_a_stuck_redis(quickly_busy_redis: RedisServer) -> None:
    with redis.Redis(port=quickly_busy_redis.port) as plain:
        plain.flushall()
    app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=quickly_busy_redis.url))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://sim") as client:

        async def generate() -> httpx.Response:
            return await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=headers)

        assert (await generate()).status_code == 200
        stall = Stall(quickly_busy_redis, 1.0)
        await asyncio.sleep(3 * BUSY_AFTER_MS / 1000)
        answers = [
            await generate(),
            await client.get("/_sim/ready"),
            await client.get("/_sim/clock"),
            await client.post("/_sim/faults", json={"action": {"status": 418}}),
            await client.get("/_sim/requests"),
        ]
        await asyncio.to_thread(stall.wait)
        for answer in answers:
            assert answer.status_code == 503, f"{answer.request.method} {answer.request.url.path}: {answer.text}"
            assert answer.headers["retry-after"] == "1"
            assert "is busy" in answer.json()["error"]["message"]
        assert (await generate()).status_code == 200
