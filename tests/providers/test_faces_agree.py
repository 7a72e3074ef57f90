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


def test_a_whole_number_written_as_a_float_is_taken_or_refused_on_each_face_as_docs_providers_md_says(client: httpx.Client) -> None:
    """Not alike, and written down so (docs/providers.md, "A whole number written as a float"): a change to one face's
    reading must change that line too."""
    bearer = {"Authorization": f"Bearer {KEY}"}
    answers = {
        "perf": client.post("/v1/images/generations", headers=bearer, json={"prompt": "a", "n": 1.0}),
        "openai": client.post("/openai/v1/images/generations", headers=bearer, json={"prompt": "a", "model": "dall-e-2", "n": 2.0}),
        "stability": client.post(
            "/stability/v2beta/stable-image/generate/sd3",
            headers={**bearer, "Accept": "application/json"},
            files={"none": ""},
            data={"prompt": "a", "seed": "2.0"},
        ),
        "bfl": client.post("/bfl/v1/flux-dev", headers={"x-key": KEY}, json={"prompt": "a", "width": 1024.0}),
        "ideogram": client.post("/ideogram/generate", headers={"Api-Key": KEY}, json={"image_request": {"prompt": "a", "num_images": 2.0}}),
        "google": client.post(
            "/google/v1beta/models/imagen-3.0-generate-002:predict",
            headers={"x-goog-api-key": KEY},
            json={"instances": [{"prompt": "a"}], "parameters": {"sampleCount": 2.0}},
        ),
    }
    statuses = {face: answer.status_code for face, answer in answers.items()}
    assert statuses == {"perf": 200, "openai": 400, "stability": 400, "bfl": 200, "ideogram": 400, "google": 200}
    assert answers["openai"].json()["error"]["code"] == "invalid_type" and len(answers["google"].json()["predictions"]) == 2
