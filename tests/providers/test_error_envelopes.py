"""Errors in each face's own envelope: `simulator.registry.error_response` answers any error at any status (what fault
injection sends) with Retry-After when the error says how long to wait, and a shared-state outage is every face's
own 503."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.launcher import free_port
from simulator.registry import FACE_NAMES, error_response
from simulator.state.redis import RedisState
from spec import errors


def _message(face: str, body: Any) -> str:
    """Where each face's envelope carries the message."""
    if face in ("perf", "openai", "google"):
        return str(body["error"]["message"])
    if face == "stability":
        return str(body["errors"][0])
    if face == "bfl":
        return str(body["detail"])
    return str(body["error"])


@pytest.mark.parametrize("status", [400, 418, 500, 502, 503, 529])
@pytest.mark.parametrize("face", FACE_NAMES)
def test_an_error_of_any_status_keeps_its_status_and_message(face: str, status: int) -> None:
    response = error_response(face, ApiError(errors.SERVICE_UNAVAILABLE, "injected: try later", status=status))
    assert response.status_code == status
    assert _message(face, json.loads(bytes(response.body))) == "injected: try later"


@pytest.mark.parametrize("face", FACE_NAMES)
def test_a_wait_is_sent_as_retry_after_with_the_extra_headers(face: str) -> None:
    exc = ApiError(errors.RATE_LIMIT_EXCEEDED, "slow down", retry_after=7)
    response = error_response(face, exc, {"x-sim-fault": "rule-1"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-sim-fault"] == "rule-1"


def test_a_google_error_names_its_rpc_status() -> None:
    body = json.loads(bytes(error_response("google", ApiError(errors.SERVICE_UNAVAILABLE, "down")).body))
    assert body["error"] == {"code": 503, "message": "down", "status": "UNAVAILABLE"}


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
                await c.get("/v1/get_result?id=abc", headers={"x-key": "pk_live_abc123"}),
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
