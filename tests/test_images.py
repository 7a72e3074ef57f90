"""Image bytes and URLs: real PNGs of the requested size, deterministic, showing the request, expiring in an hour.

The contract suite (contract_tests/, run against the simulator by tests/contract/) judges the same rules for any
implementation; these stay because `pytest --gateway` runs them through a real gateway (tests/gateway/
test_gateway_suite.py), and they pin this simulator's own answers that the contract leaves open (what the picture shows,
--public-url, the bytes of a given seed)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest
from PIL import Image
from starlette.testclient import TestClient

from simulator.app import create_app
from simulator.launcher import RunningServer
from spec.models import IMAGE_URL_TTL_SECONDS, MODELS, parse_size

KEY = {"Authorization": "Bearer pk_test_enterprise_images"}


def _generate(client: httpx.Client, **body: object) -> dict:
    response = client.post("/v1/images/generations", json={"prompt": "a red fox", **body}, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("model", list(MODELS))
def test_every_size_family_renders_exactly(client: httpx.Client, model: str) -> None:
    sizes = MODELS[model].sizes
    for size in {sizes[0], sizes[-1], sizes[len(sizes) // 2]}:
        item = _generate(client, model=model, size=size, response_format="b64_json")["data"][0]
        image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))
        assert image.format == "PNG" and image.size == parse_size(size)


def test_b64_json_carries_the_same_bytes_the_url_serves(client: httpx.Client) -> None:
    body = {"model": "dall-e-2", "n": 3, "size": "512x512"}
    by_url = _generate(client, **body)["data"]
    by_b64 = _generate(client, **body, response_format="b64_json")["data"]
    for u, b in zip(by_url, by_b64, strict=True):
        served = client.get(u["url"])
        assert served.headers["content-type"] == "image/png"
        assert served.content == base64.b64decode(b["b64_json"])
    assert len({base64.b64decode(b["b64_json"]) for b in by_b64}) == 3


def test_different_prompts_give_different_images(client: httpx.Client) -> None:
    a = _generate(client, prompt="a red fox", response_format="b64_json")["data"][0]["b64_json"]
    b = _generate(client, prompt="a blue whale", response_format="b64_json")["data"][0]["b64_json"]
    assert a != b


def test_urls_expire_after_one_hour_of_simulator_time(client: httpx.Client) -> None:
    url = _generate(client)["data"][0]["url"]
    client.post("/_sim/clock/advance", json={"seconds": IMAGE_URL_TTL_SECONDS - 1})
    assert client.get(url).status_code == 200
    client.post("/_sim/clock/advance", json={"seconds": 1})
    expired = client.get(url)
    assert expired.status_code == 404 and expired.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize("namespace", ["default", "team-a"])
def test_a_cache_may_keep_an_image_no_longer_than_its_url_lives(client: httpx.Client, gateway_mode: bool, namespace: str) -> None:
    """Cache-Control's max-age counts down on the clock of the namespace that made the image, whoever fetches it."""
    made_in = {"X-Sim-Namespace": namespace}
    response = client.post("/v1/images/generations", json={"prompt": "a red fox"}, headers={**KEY, **made_in})
    url = response.json()["data"][0]["url"]
    fresh = client.get(url).headers["cache-control"]
    client.post("/_sim/clock/advance", json={"seconds": IMAGE_URL_TTL_SECONDS - 10}, headers=made_in)
    nearly_expired = client.head(url).headers["cache-control"]
    if gateway_mode:  # the gateway's copy of an upstream image: its expiry is the state's to keep, so no cache keeps it
        assert fresh == nearly_expired == "private, no-cache"
    else:
        assert (fresh, nearly_expired) == (f"private, max-age={IMAGE_URL_TTL_SECONDS}", "private, max-age=10")


def test_an_image_says_a_page_of_any_origin_may_embed_it(client: httpx.Client) -> None:
    """`Cross-Origin-Resource-Policy: cross-origin`: a page isolated by `Cross-Origin-Embedder-Policy: require-corp`
    (for SharedArrayBuffer, WebAssembly threads) shows it in a plain `<img>`, which Chromium blocked without it."""
    url = _generate(client)["data"][0]["url"]
    assert client.get(url).headers["cross-origin-resource-policy"] == "cross-origin"
    assert client.head(url).headers["cross-origin-resource-policy"] == "cross-origin"


def test_urls_are_absolute_on_the_host_the_client_used(client: httpx.Client) -> None:
    url = _generate(client)["data"][0]["url"]
    assert url.startswith(str(client.base_url).rstrip("/") + "/images/img_") and url.endswith(".png")
    via_localhost = client.post(
        str(client.base_url).replace("127.0.0.1", "localhost") + "/v1/images/generations", json={"prompt": "a fox"}, headers=KEY
    )
    assert via_localhost.json()["data"][0]["url"].startswith("http://localhost:")


def test_public_url_overrides_the_host(perf_sim: Callable[..., AbstractContextManager[RunningServer]]) -> None:
    with perf_sim("--public-url", "https://images.example.test/sim") as server:
        response = httpx.post(server.base_url + "/v1/images/generations", json={"prompt": "a fox"}, headers=KEY)
        assert response.json()["data"][0]["url"].startswith("https://images.example.test/sim/images/img_")


def test_image_shows_the_model_size_and_prompt(client: httpx.Client) -> None:
    """A person looking at the picture can tell which request made it (checked by rendering the text alone)."""
    from simulator.engine.render import RenderKey, render_png

    a = render_png(RenderKey(7, "dall-e-3", "a red fox", "1024x1024", 0))
    b = render_png(RenderKey(7, "dall-e-2", "a red fox", "1024x1024", 0))
    c = render_png(RenderKey(7, "dall-e-3", "a red fox", "1024x1024", 1))
    assert len({a, b, c}) == 3
    pixels = Image.open(io.BytesIO(a)).convert("L")
    assert len(pixels.getcolors(maxcolors=256) or []) > 3, "expected drawn text and shapes, not a flat image"


@pytest.mark.parametrize("size", ["1024x1024", "1792x1024", "256x256", "640x1536"])
def test_no_shape_covers_the_label_or_the_prompt(size: str) -> None:
    """Wherever a row of the picture holds text, nothing but background lies between its first and last letter."""
    from simulator.engine.render import RenderKey, render_png

    text, shadow = 6, 7  # palette indexes of the text and its shadow; 1-4 are the shapes
    for index in range(8):
        image = Image.open(
            io.BytesIO(render_png(RenderKey(index, "flux-dev", "a lighthouse on a cliff at dawn, oil painting", size, index)))
        )
        width, height = image.size
        pixels = image.load()
        for y in range(height):
            row = [pixels[x, y] for x in range(width)]
            letters = [x for x, value in enumerate(row) if value in (text, shadow)]
            if letters:
                covered = [x for x in range(letters[0], letters[-1] + 1) if 1 <= row[x] <= 4]
                assert not covered, f"seed {index}: a shape lies under the text at row {y}, x {covered[0]}"


def test_url_responses_work_under_starlettes_test_client() -> None:
    """TestClient puts the ASGI `server` in the scope as a list, which the base-URL cache must accept."""
    with TestClient(create_app()) as test_client:
        response = test_client.post("/v1/images/generations", json={"prompt": "a fox"}, headers={"Authorization": "Bearer pk_live_abc123"})
    assert response.status_code == 200 and response.json()["data"][0]["url"].startswith("http://testserver/images/")
