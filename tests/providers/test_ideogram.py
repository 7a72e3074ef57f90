"""The Ideogram face with httpx, following Ideogram's documented /generate request example."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from simulator.launcher import RunningServer
from spec.policy import OUTPUT_FILTER_PHRASE, TRIGGER_PHRASE
from spec.providers.ideogram import IDEOGRAM_MAX_SEED

KEY = "pk_test_pro_ideogram"


def generate(client: httpx.Client, image_request: Any, key: str = KEY, header: str = "Api-Key") -> httpx.Response:
    value = f"Bearer {key}" if header == "Authorization" else key
    return client.post(
        "/ideogram/generate", headers={header: value, "Content-Type": "application/json"}, json={"image_request": image_request}
    )


def assert_ideogram_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str)
    return str(body["error"])


def png_size(content: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(content)).size


def test_documented_example(client: httpx.Client) -> None:
    response = generate(
        client,
        {
            "prompt": "A serene tropical beach scene, palm trees swaying, turquoise water, a hammock between two trees",
            "aspect_ratio": "ASPECT_10_16",
            "model": "V_2",
            "magic_prompt_option": "AUTO",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["created"]).timestamp() == int(client.get("/_sim/clock").json()["now"])
    (image,) = body["data"]
    assert set(image) == {"prompt", "resolution", "is_image_safe", "seed", "style_type", "url"}
    assert image["is_image_safe"] is True and image["resolution"] == "800x1280" and image["style_type"] == "GENERAL"
    fetched = httpx.get(image["url"])
    assert fetched.status_code == 200 and png_size(fetched.content) == (800, 1280)


def test_num_images_seed_and_style_are_reported(client: httpx.Client) -> None:
    data = generate(client, {"prompt": "a sign", "num_images": 3, "seed": 7, "style_type": "DESIGN"}).json()["data"]
    assert [image["seed"] for image in data] == [7, 8, 9]
    assert len({image["url"] for image in data}) == 3 and {image["style_type"] for image in data} == {"DESIGN"}


def test_seed_k_starts_at_the_kth_image_of_the_perf_request(client: httpx.Client) -> None:
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "ideogram-2", "prompt": "a sign", "n": 4, "response_format": "b64_json"},
    ).json()
    data = generate(client, {"prompt": "a sign", "num_images": 2, "seed": 2}).json()["data"]
    fetched = [base64.b64encode(httpx.get(image["url"]).content).decode() for image in data]
    assert fetched == [item["b64_json"] for item in perf["data"][2:]]
    assert [image["seed"] for image in generate(client, {"prompt": "a sign", "num_images": 2}).json()["data"]] == [0, 1]


def test_seeds_past_the_maximum_wrap_to_seeds_ideogram_accepts_and_each_gives_its_image_back(client: httpx.Client) -> None:
    top = IDEOGRAM_MAX_SEED
    data = generate(client, {"prompt": "a sign", "num_images": 4, "seed": top - 1}).json()["data"]
    assert [image["seed"] for image in data] == [top - 1, top, 0, 1]
    for image in data:
        again = generate(client, {"prompt": "a sign", "num_images": 1, "seed": image["seed"]})
        assert again.status_code == 200, again.text
        assert again.json()["data"][0]["seed"] == image["seed"]
        assert httpx.get(again.json()["data"][0]["url"]).content == httpx.get(image["url"]).content


def test_output_filter_is_200_with_unsafe_images_without_urls(client: httpx.Client) -> None:
    response = generate(client, {"prompt": f"a sign {OUTPUT_FILTER_PHRASE}", "num_images": 2})
    assert response.status_code == 200
    assert [(image["is_image_safe"], image["url"]) for image in response.json()["data"]] == [(False, None), (False, None)]


def test_resolution_picks_the_pixels(client: httpx.Client) -> None:
    (image,) = generate(client, {"prompt": "a sign", "resolution": "RESOLUTION_1280_720"}).json()["data"]
    assert image["resolution"] == "1280x720" and png_size(httpx.get(image["url"]).content) == (1280, 720)


@pytest.mark.parametrize(
    "image_request",
    [
        {},
        {"prompt": ""},
        {"prompt": 5},
        {"prompt": "x", "aspect_ratio": "16:9"},
        {"prompt": "x", "aspect_ratio": "ASPECT_16_9", "resolution": "RESOLUTION_1280_720"},
        {"prompt": "x", "model": "V_1", "resolution": "RESOLUTION_1280_720"},
        {"prompt": "x", "model": "V_3"},
        {"prompt": "x", "num_images": 9},
        {"prompt": "x", "num_images": "2"},
        {"prompt": "x", "seed": -1},
        {"prompt": "x", "magic_prompt_option": "MAYBE"},
        {"prompt": "x" * 10_001},
    ],
)
def test_invalid_requests_are_400(client: httpx.Client, image_request: dict[str, Any]) -> None:
    assert_ideogram_error(generate(client, image_request), 400)


def test_missing_envelope_is_400(client: httpx.Client) -> None:
    response = client.post("/ideogram/generate", headers={"Api-Key": KEY}, json={"prompt": "x"})
    assert "image_request" in assert_ideogram_error(response, 400)


def test_bearer_auth_is_not_accepted(client: httpx.Client) -> None:
    assert "Api-Key" in assert_ideogram_error(generate(client, {"prompt": "x"}, header="Authorization"), 401)
    assert_ideogram_error(generate(client, {"prompt": "x"}, key="ideogram-made-up-key"), 401)


def test_safety_check_is_422(client: httpx.Client) -> None:
    message = assert_ideogram_error(generate(client, {"prompt": f"a sign {TRIGGER_PHRASE}"}), 422)
    assert message == "Prompt or provided image failed the safety checks"


def test_rate_limit_is_429_and_an_impossible_batch_is_400(limited: RunningServer, fresh_key: str) -> None:
    with httpx.Client(base_url=limited.base_url) as client:
        assert_ideogram_error(generate(client, {"prompt": "x", "num_images": 5}, key=fresh_key), 400)
        assert generate(client, {"prompt": "x", "num_images": 4}, key=fresh_key).status_code == 200
        response = generate(client, {"prompt": "x"}, key=fresh_key)
    assert_ideogram_error(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_same_bytes_as_the_perf_api(client: httpx.Client) -> None:
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "ideogram-2", "prompt": "a neon sign", "size": "1312x736", "n": 2, "response_format": "b64_json"},
    ).json()
    data = generate(client, {"prompt": "a neon sign", "aspect_ratio": "ASPECT_16_9", "num_images": 2}).json()["data"]
    fetched = [base64.b64encode(httpx.get(image["url"]).content).decode() for image in data]
    assert fetched == [image["b64_json"] for image in perf["data"]]
