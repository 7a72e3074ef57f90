"""While Redis is away, a browser's CORS preflight is answered as usual, so a browser app sees the 503 of the request it
precedes (the documented outage answer) instead of a network error."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from load.redis_server import RedisServer, redis_available
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import free_port
from simulator.state.base import CLOCK_MANUAL
from spec import tiers

pytestmark = pytest.mark.anyio

ORIGIN = "http://app.test"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


async def test_a_preflight_while_redis_is_down_gets_its_usual_200_and_the_request_after_it_the_503_a_browser_can_read() -> None:
    """The preflight went through the fault rules, which could not be read, and got the 503 without the allow headers:
    the browser then reported "Failed to fetch", and the app's 503 and Retry-After handling could not be tested."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    server = RedisServer(free_port())
    server.start()
    try:
        app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=server.url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
            before = await client.options("/v1/images/generations", headers=PREFLIGHT)
            server.stop()
            listener = app.state.control.rules._listener
            async with asyncio.timeout(10):  # until the worker's rule listener hears its connection close: rules unknown
                while not listener.done():
                    await asyncio.sleep(0.01)
            preflight = await client.options("/v1/images/generations", headers=PREFLIGHT)
            headers = {"Origin": ORIGIN, "Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"}
            answer = await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=headers)
    finally:
        server.stop()
    assert before.status_code == 200
    assert (preflight.status_code, preflight.headers) == (200, before.headers)
    assert preflight.headers["access-control-allow-methods"] and preflight.headers["access-control-allow-headers"]
    assert (answer.status_code, answer.headers["retry-after"], answer.json()["error"]["type"]) == (503, "1", "service_unavailable")
    assert answer.headers["access-control-allow-origin"] == "*"
