"""One engine behind every face: the same prompt gets the same content-policy decision on each of them."""

from __future__ import annotations

import httpx
import pytest

from spec.policy import TRIGGER_PHRASE

KEY = "pk_test_pro_agree"


def decisions(client: httpx.Client, prompt: str) -> dict[str, int]:
    """The status each face answers the same prompt with."""
    bearer = {"Authorization": f"Bearer {KEY}"}
    return {
        "perf": client.post("/v1/images/generations", headers=bearer, json={"model": "dall-e-3", "prompt": prompt}).status_code,
        "openai": client.post("/openai/v1/images/generations", headers=bearer, json={"model": "dall-e-3", "prompt": prompt}).status_code,
        "stability": client.post(
            "/stability/v2beta/stable-image/generate/sd3",
            headers={**bearer, "Accept": "application/json"},
            files={"none": ""},
            data={"prompt": prompt},
        ).status_code,
        "ideogram": client.post("/ideogram/generate", headers={"Api-Key": KEY}, json={"image_request": {"prompt": prompt}}).status_code,
    }


REFUSED = {"perf": 400, "openai": 400, "stability": 403, "ideogram": 422}
ALLOWED = {"perf": 200, "openai": 200, "stability": 200, "ideogram": 200}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (f"a quiet harbour {TRIGGER_PHRASE.lower()}", REFUSED),
        ("a GORY scene", REFUSED),
        ("a nudibranch on a reef", ALLOWED),
        ("a self-harmonising choir", ALLOWED),
    ],
)
def test_every_face_makes_the_same_policy_decision(client: httpx.Client, prompt: str, expected: dict[str, int]) -> None:
    assert decisions(client, prompt) == expected
