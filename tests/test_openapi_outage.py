"""The Perf API's OpenAPI document lists the answers the API gives while its shared state (Redis) is down, so a client
generated from it reads them as the error envelope they are."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from spec import tiers
from spec.openapi import openapi_document
from tests.conftest import app_on_own_redis

pytestmark = pytest.mark.anyio


async def test_an_image_fetch_while_redis_is_down_answers_the_503_the_document_lists_for_it() -> None:
    """The document listed only 200 and 404 for `GET /images/{image_file}`, though the fetch answers 503 with
    Retry-After while Redis is down: a generated client did not know the fetch may be retried."""
    async with app_on_own_redis() as (server, _, client):
        made = await client.post(
            "/v1/images/generations",
            json={"prompt": "a fox", "model": "dall-e-2", "size": "256x256"},
            headers={"Authorization": f"Bearer {tiers.TEST_KEY_PREFIX}pro_a"},
        )
        server.stop()
        fetched = await client.get(httpx.URL(made.json()["data"][0]["url"]).path)
    document = openapi_document()
    answers = document["paths"]["/images/{image_file}"]["get"]["responses"]
    assert fetched.status_code == 503 and "503" in answers
    documented = answers["503"]
    jsonschema.Draft202012Validator({**documented["content"]["application/json"]["schema"], "components": document["components"]}).validate(
        fetched.json()
    )
    assert fetched.json()["error"]["type"] == "service_unavailable"
    assert {name.lower() for name in documented["headers"]} <= set(fetched.headers) and fetched.headers["retry-after"] == "1"
