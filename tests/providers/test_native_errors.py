"""Every native face, one table: a missing key, a bad field, a refused prompt and a spent window each get the
provider's own status and error envelope, and none of them uses quota on the face's window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulator.launcher import RunningServer
from spec.policy import TRIGGER_PHRASE

Send = Callable[[httpx.Client, str | None, str, dict[str, Any]], httpx.Response]


def _openai(client: httpx.Client, key: str | None, prompt: str, extra: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": "dall-e-2", "prompt": prompt, "size": "256x256", **extra}
    return client.post("/openai/v1/images/generations", headers=headers, json=body)


def _stability(client: httpx.Client, key: str | None, prompt: str, extra: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"} if key else {"Accept": "application/json"}
    return client.post("/stability/v2beta/stable-image/generate/sd3", headers=headers, files={"none": ""}, data={"prompt": prompt, **extra})


def _bfl(client: httpx.Client, key: str | None, prompt: str, extra: dict[str, Any]) -> httpx.Response:
    headers = {"x-key": key} if key else {}
    return client.post("/v1/flux-dev", headers=headers, json={"prompt": prompt, "width": 256, "height": 256, **extra})


def _ideogram(client: httpx.Client, key: str | None, prompt: str, extra: dict[str, Any]) -> httpx.Response:
    headers = {"Api-Key": key} if key else {}
    return client.post("/ideogram/generate", headers=headers, json={"image_request": {"prompt": prompt, **extra}})


def _google(client: httpx.Client, key: str | None, prompt: str, extra: dict[str, Any]) -> httpx.Response:
    headers = {"x-goog-api-key": key} if key else {}
    body = {"instances": [{"prompt": prompt}], "parameters": {"sampleCount": 1, **extra}}
    return client.post("/google/v1beta/models/imagen-3.0-generate-002:predict", headers=headers, json=body)


def _bfl_moderated(client: httpx.Client, answer: httpx.Response) -> bool:
    """BFL accepts the task and reports the moderation when polled (known at once)."""
    poll = (
        client.get(answer.json()["polling_url"], headers={"x-key": answer.request.headers["x-key"]}) if answer.status_code == 200 else None
    )
    return poll is not None and poll.json()["status"] == "Request Moderated"


@dataclass(frozen=True)
class Face:
    name: str
    send: Send
    bad_field: dict[str, Any]
    unauthenticated: int
    invalid: int
    refused: int | Callable[[httpx.Client, httpx.Response], bool]
    envelope: Callable[[Any], bool]


FACES = [
    Face("openai", _openai, {"size": "7x7"}, 401, 400, 400, lambda b: isinstance(b["error"]["message"], str)),
    Face("stability", _stability, {"aspect_ratio": "4:3"}, 401, 400, 403, lambda b: set(b) == {"id", "name", "errors"}),
    Face("bfl", _bfl, {"width": 100}, 401, 422, _bfl_moderated, lambda b: "detail" in b and "message" in b),
    Face("ideogram", _ideogram, {"num_images": 9}, 401, 400, 422, lambda b: list(b) == ["error"]),
    # Gemini answers a request without a key with 403 PERMISSION_DENIED.
    Face("google", _google, {"sampleCount": 9}, 403, 400, 400, lambda b: isinstance(b["error"]["status"], str)),
]


@pytest.mark.parametrize("face", FACES, ids=[f.name for f in FACES])
def test_native_failures_are_native_and_cost_nothing(
    limited: RunningServer, fresh_key: str, provider_limits: dict[str, tuple[int, int]], face: Face
) -> None:
    def used() -> int:
        return int(client.get(f"/_sim/usage/{fresh_key}").json()["providers"][face.name]["minute"]["used"])

    with httpx.Client(base_url=limited.base_url, timeout=30) as client:
        missing = face.send(client, None, "a kite", {})
        assert missing.status_code == face.unauthenticated and face.envelope(missing.json()), missing.text
        invalid = face.send(client, fresh_key, "a kite", face.bad_field)
        assert invalid.status_code == face.invalid and face.envelope(invalid.json()), invalid.text
        refused = face.send(client, fresh_key, f"a kite {TRIGGER_PHRASE}", {})
        if isinstance(face.refused, int):
            assert refused.status_code == face.refused and face.envelope(refused.json()), refused.text
        else:
            assert face.refused(client, refused), refused.text
        assert used() == 0
        per_minute = provider_limits[face.name][0]
        for _ in range(per_minute):
            assert face.send(client, fresh_key, "a kite", {}).status_code == 200
        limited_answer = face.send(client, fresh_key, "a kite", {})
        assert limited_answer.status_code == 429 and face.envelope(limited_answer.json()), limited_answer.text
        assert 1 <= int(limited_answer.headers["retry-after"]) <= 60
        assert used() == per_minute
