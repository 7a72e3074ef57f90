"""`simulator.registry.error_response`: any error, at any status, in any face's own envelope, with Retry-After when
the error says how long to wait (what fault injection answers with)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.engine.errors import ApiError
from simulator.registry import FACE_NAMES, error_response
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
