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


GARBAGE = [b"", b"[]", b"null", b"{not json", b'{"prompt": 5}', b'{"prompt": "x", "n": 1e400}', b'{"image_request": []}', b"\xff\xfe"]


@pytest.mark.parametrize("payload", GARBAGE)
def test_bad_input_gets_a_native_4xx_never_a_500(client: httpx.Client, payload: bytes) -> None:
    bearer = {"Authorization": f"Bearer {KEY}"}
    answers = [
        client.post("/openai/v1/images/generations", headers=bearer, content=payload),
        client.post("/ideogram/generate", headers={"Api-Key": KEY}, content=payload),
        client.post(
            "/stability/v2beta/stable-image/generate/sd3",
            headers={**bearer, "content-type": "multipart/form-data; boundary=b"},
            content=payload,
        ),
    ]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "error" in answers[0].json() and "error" in answers[1].json() and answers[2].json()["name"] == "bad_request"


def test_stability_refuses_bodies_over_its_limit_with_413(client: httpx.Client) -> None:
    response = client.post(
        "/stability/v2beta/stable-image/generate/sd3",
        headers={"Authorization": f"Bearer {KEY}"},
        files={"image": ("big.png", b"\0" * (10 * 1024 * 1024 + 1))},
        data={"prompt": "x"},
    )
    assert response.status_code == 413 and response.json()["name"] == "payload_too_large"
