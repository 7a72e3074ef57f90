"""While Redis is away, a browser's CORS preflight is answered as usual, so a browser app sees the 503 of the request it
precedes (the documented outage answer) instead of a network error."""

from __future__ import annotations

import asyncio

import pytest

from spec import tiers
from tests.conftest import app_on_own_redis

pytestmark = pytest.mark.anyio

ORIGIN = "http://app.test"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


async def test_a_preflight_while_redis_is_down_gets_its_usual_200_and_the_request_after_it_the_503_a_browser_can_read() -> None:
    """The preflight went through the fault rules, which could not be read, and got the 503 without the allow headers:
    the browser then reported "Failed to fetch", and the app's 503 and Retry-After handling could not be tested."""
    async with app_on_own_redis() as (server, app, client):
        before = await client.options("/v1/images/generations", headers=PREFLIGHT)
        server.stop()
        listener = app.state.control.rules._listener
        async with asyncio.timeout(10):  # until the worker's rule listener hears its connection close: rules unknown
            while not listener.done():
                await asyncio.sleep(0.01)
        preflight = await client.options("/v1/images/generations", headers=PREFLIGHT)
        headers = {"Origin": ORIGIN, "Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"}
        answer = await client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=headers)
    assert before.status_code == 200
    assert (preflight.status_code, preflight.headers) == (200, before.headers)
    assert preflight.headers["access-control-allow-methods"] and preflight.headers["access-control-allow-headers"]
    assert (answer.status_code, answer.headers["retry-after"], answer.json()["error"]["type"]) == (503, "1", "service_unavailable")
    assert answer.headers["access-control-allow-origin"] == ORIGIN
