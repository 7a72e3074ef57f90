"""Edges a review found: inputs that once broke the clock, leaked a secret, or turned a state outage into a foreign
error format. Each runs the real app (in process over ASGI, or as a server) with real dependencies."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.testclient import TestClient

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.launcher import free_port
from simulator.state.redis import RedisState


@pytest.mark.parametrize("seconds", [1e12, 10**400, -1, "60", None])
def test_an_advance_the_clock_cannot_show_is_refused_and_the_clock_keeps_working(client: httpx.Client, seconds: object) -> None:
    body = b'{"seconds": 1' + b"0" * 400 + b"}" if seconds == 10**400 else None
    response = client.post("/_sim/clock/advance", content=body) if body else client.post("/_sim/clock/advance", json={"seconds": seconds})
    assert response.status_code == 400 and response.json()["error"]["param"] == "seconds"
    assert client.get("/_sim/clock").status_code == 200
    key = {"Api-Key": "pk_test_pro_clock"}
    assert client.post("/ideogram/generate", json={"image_request": {"prompt": "a fox"}}, headers=key).status_code == 200


def test_config_shows_no_secret() -> None:
    config = SimulatorConfig(upstream="https://user:pw@gw.example", upstream_overrides={"bfl": "https://k:pw@api.example"},
                             upstream_key="sk-provider-secret")  # fmt: skip
    with TestClient(create_app(config)) as test_client:
        shown = test_client.get("/_sim/config").text
    assert "pw@" not in shown and "sk-provider-secret" not in shown


def test_url_responses_work_under_starlettes_test_client() -> None:
    """TestClient puts the ASGI `server` in the scope as a list, which the base-URL cache must accept."""
    with TestClient(create_app()) as test_client:
        response = test_client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={"Authorization": "Bearer pk_live_abc123"})
    assert response.status_code == 200 and response.json()["data"][0]["url"].startswith("http://testserver/images/")


def test_every_native_face_answers_a_state_outage_as_a_503_in_its_own_envelope() -> None:
    bearer = {"Authorization": "Bearer pk_live_abc123"}

    async def scenario() -> list[httpx.Response]:
        state = RedisState(f"redis://127.0.0.1:{free_port()}/0", "manual", 1_767_225_600.0)
        app = create_app(SimulatorConfig(clock="manual"), state=state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
            return [
                await c.post("/openai/v1/images/generations", json={"prompt": "a fox"}, headers=bearer),
                await c.post("/stability/v2beta/stable-image/generate/sd3", data={"prompt": "a fox"}, files={"none": ("", b"")},
                             headers=bearer),
                await c.post("/v1/flux-dev", json={"prompt": "a fox"}, headers={"x-key": "pk_live_abc123"}),
                await c.get("/v1/get_result?id=abc"),
                await c.post("/ideogram/generate", json={"image_request": {"prompt": "a fox"}}, headers={"Api-Key": "pk_live_abc123"}),
                await c.post("/google/v1beta/models/imagen-3.0-generate-002:predict", json={"instances": [{"prompt": "a fox"}]},
                             headers={"x-goog-api-key": "pk_live_abc123"}),
            ]  # fmt: skip

    openai, stability, flux, poll, ideogram, imagen = asyncio.run(scenario())
    assert [r.status_code for r in (openai, stability, flux, poll, ideogram, imagen)] == [503] * 6
    assert "unavailable" in openai.json()["error"]["message"]
    assert "unavailable" in stability.json()["errors"][0]
    assert "unavailable" in flux.json()["detail"] and "unavailable" in poll.json()["message"]
    assert "unavailable" in ideogram.json()["error"]
    assert imagen.json()["error"]["status"] == "UNAVAILABLE"
