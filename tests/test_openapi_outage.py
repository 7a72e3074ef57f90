"""The Perf API's OpenAPI document lists the answers the API gives while its shared state (Redis) is down, so a client
generated from it reads them as the error envelope they are."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from load.redis_server import RedisServer, redis_available
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import free_port
from simulator.state.base import CLOCK_MANUAL
from spec import tiers
from spec.openapi import openapi_document

pytestmark = pytest.mark.anyio


async def test_an_image_fetch_while_redis_is_down_answers_the_503_the_document_lists_for_it() -> None:
    """The document listed only 200 and 404 for `GET /images/{image_file}`, though the fetch answers 503 with
    Retry-After while Redis is down: a generated client did not know the fetch may be retried."""
    if not redis_available():
        pytest.skip("redis-server is not installed (CI installs it with scripts/redis.sh)")
    server = RedisServer(free_port())
    server.start()
    try:
        app = create_app(SimulatorConfig(clock=CLOCK_MANUAL, state=server.url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as client:
            made = await client.post(
                "/v1/images/generations",
                json={"prompt": "a fox", "model": "dall-e-2", "size": "256x256"},
                headers={"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"},
            )
            server.stop()
            fetched = await client.get(httpx.URL(made.json()["data"][0]["url"]).path)
    finally:
        server.stop()
    document = openapi_document()
    answers = document["paths"]["/images/{image_file}"]["get"]["responses"]
    assert fetched.status_code == 503 and "503" in answers
    documented = answers["503"]
    jsonschema.Draft202012Validator({**documented["content"]["application/json"]["schema"], "components": document["components"]}).validate(
        fetched.json()
    )
    assert fetched.json()["error"]["type"] == "service_unavailable"
    assert {name.lower() for name in documented["headers"]} <= set(fetched.headers) and fetched.headers["retry-after"] == "1"
