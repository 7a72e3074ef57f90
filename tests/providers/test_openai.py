"""The OpenAI Images face through the official `openai` SDK, pointed at the simulator with max_retries=0."""

from __future__ import annotations

import base64
import time

import httpx
import openai
import pytest

from simulator.launcher import RunningServer
from spec import tiers
from spec.policy import TRIGGER_PHRASE

KEY = "pk_test_pro_openai"


def sdk(server: RunningServer, key: str = KEY, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{server.base_url}/openai/v1", max_retries=max_retries)


def test_dall_e_3_b64_json_with_revised_prompt_and_request_id(sim: RunningServer) -> None:
    result = sdk(sim).images.generate(
        model="dall-e-3", prompt="a red fox", size="1792x1024", quality="hd", style="natural", response_format="b64_json"
    )
    assert result.data is not None
    png = base64.b64decode(result.data[0].b64_json or "")
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 1792
    assert result.data[0].revised_prompt and result.data[0].revised_prompt != "a red fox"
    assert result._request_id and result._request_id.startswith("req_img_")
    assert isinstance(result.created, int)


def test_dall_e_2_urls_without_revised_prompt_serve_the_images(sim: RunningServer) -> None:
    result = sdk(sim).images.generate(model="dall-e-2", prompt="a red fox", n=3, size="256x256")
    assert result.data is not None
    assert len(result.data) == 3
    for image in result.data:
        assert image.revised_prompt is None and image.b64_json is None
        fetched = httpx.get(image.url or "")
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"


def test_a_namespace_reset_forgets_its_image_urls_and_leaves_other_namespaces_alone(sim: RunningServer) -> None:
    def image_url(namespace: str, prompt: str) -> str:
        client = openai.OpenAI(api_key=KEY, base_url=f"{sim.base_url}/_sim/ns/{namespace}/openai/v1", max_retries=0)
        data = client.images.generate(model="dall-e-2", prompt=prompt, size="256x256").data
        assert data is not None and data[0].url
        return data[0].url

    apple, kept = image_url("rst", "apple"), image_url("other", "apple")
    httpx.post(f"{sim.base_url}/_sim/reset", params={"namespace": "rst"}).raise_for_status()
    assert httpx.get(apple).status_code == 404, "the reset namespace's images are forgotten"
    assert httpx.get(kept).status_code == 200
    banana = image_url("rst", "banana")
    assert banana == apple, "the reset namespace starts over with the ids of a fresh start"


def test_default_model_is_openai_default_dall_e_2(sim: RunningServer) -> None:
    raw = sdk(sim).images.with_raw_response.generate(prompt="a red fox", size="512x512")
    assert raw.status_code == 200
    image = (raw.parse().data or [])[0]
    assert image.revised_prompt is None  # dall-e-2 does not rewrite; dall-e-3 would not take 512x512


@pytest.mark.parametrize(
    ("kwargs", "code", "param"),
    [
        ({"model": "dall-e-3", "prompt": "x", "n": 2}, "invalid_value", "n"),
        ({"model": "dall-e-2", "prompt": "x", "n": 11}, "invalid_value", "n"),
        ({"model": "dall-e-3", "prompt": "x", "size": "512x512"}, "invalid_size", "size"),
        ({"model": "dall-e-2", "prompt": "x", "size": "1792x1024"}, "invalid_size", "size"),
        ({"model": "dall-e-2", "prompt": "x", "quality": "hd"}, "invalid_value", "quality"),
        ({"model": "dall-e-2", "prompt": "x", "style": "vivid"}, "invalid_value", "style"),
        ({"model": "dall-e-3", "prompt": "x", "style": "warm"}, "invalid_value", "style"),
        ({"model": "dall-e-3", "prompt": "x", "style": ""}, "invalid_value", "style"),
        ({"model": "dall-e-3", "prompt": "x", "response_format": "png"}, "invalid_value", "response_format"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "string_above_max_length", "prompt"),
        ({"model": "dall-e-3", "prompt": "x" * 4001}, "string_above_max_length", "prompt"),
        ({"model": "gpt-image-1", "prompt": "x"}, "invalid_value", "model"),
        ({"model": "dall-e-3", "prompt": "x", "output_format": "webp"}, "unknown_parameter", "output_format"),
    ],
)
def test_openai_rules_raise_bad_request_with_code_and_param(sim: RunningServer, kwargs: dict[str, object], code: str, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(sim).images.generate(**kwargs)  # type: ignore[call-overload]
    assert caught.value.status_code == 400
    assert (caught.value.code, caught.value.param, caught.value.type) == (code, param, "invalid_request_error")


def test_prompt_limits_are_per_model(sim: RunningServer) -> None:
    assert sdk(sim).images.generate(model="dall-e-2", prompt="x" * 1000, size="256x256").data
    assert sdk(sim).images.generate(model="dall-e-3", prompt="x" * 4000).data


def test_content_policy_violation_is_bad_request_with_its_code(sim: RunningServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(sim).images.generate(model="dall-e-3", prompt=f"a cat {TRIGGER_PHRASE}")
    assert caught.value.code == "content_policy_violation"
    assert "safety system" in caught.value.message


@pytest.mark.parametrize("key", ["sk-proj-notarealkey123", "pk_test_gold_x"])
def test_unknown_keys_raise_authentication_error(sim: RunningServer, key: str) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk(sim, key).images.generate(model="dall-e-3", prompt="x")
    assert caught.value.code == "invalid_api_key"
    assert caught.value.request_id and "pk_test_" in caught.value.message


def test_missing_key_is_401_in_openai_envelope(client: httpx.Client) -> None:
    response = client.post("/openai/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_field_and_bad_json_are_openai_400s(client: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    unknown = client.post("/openai/v1/images/generations", headers=headers, json={"prompt": "x", "colour": "red"})
    assert unknown.status_code == 400 and unknown.json()["error"]["message"] == "Unrecognized request argument supplied: colour"
    broken = client.post("/openai/v1/images/generations", headers=headers, content=b"{not json")
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_openai_404(client: httpx.Client) -> None:
    response = client.get("/openai/v1/models", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 404
    expected = {"message": "Invalid URL (GET /v1/models)", "type": "invalid_request_error", "param": None, "code": None}
    assert response.json() == {"error": expected}


def test_rate_limit_raises_rate_limit_error_and_retry_advice(limited: RunningServer, fresh_key: str) -> None:
    client = sdk(limited, fresh_key)
    client.images.generate(model="dall-e-3", prompt="one")
    client.images.generate(model="dall-e-3", prompt="two")
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model="dall-e-3", prompt="three")
    error = caught.value
    assert error.code == "rate_limit_exceeded" and "Limit: 2/1m" in error.message
    retry_after = int(error.response.headers["retry-after"])
    assert 1 <= retry_after <= 60 and error.response.headers["retry-after-ms"] == str(retry_after * 1000)
    # Real clock, wait within what the SDK honours: a retry after the wait can succeed.
    assert error.response.headers["x-should-retry"] == "true"
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_manual_clock_429_tells_the_sdk_not_to_retry(sim: RunningServer) -> None:
    key = "pk_test_free_openai_retry"
    for _ in range(5):
        sdk(sim, key).images.generate(model="dall-e-3", prompt="fill the free tier")
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as caught:
        sdk(sim, key, max_retries=2).images.generate(model="dall-e-3", prompt="one too many")
    assert caught.value.response.headers["x-should-retry"] == "false"
    # Had the SDK retried, it would have slept the Retry-After (up to 60 s) twice on a clock that never moves.
    assert time.monotonic() - started < 20


def test_a_429_refused_by_both_windows_names_the_day_whose_wait_it_gives(client: httpx.Client) -> None:
    """A full minute on an exhausted day: the wait is to midnight, so the message names the day, not the minute a
    reader would think one minute frees."""
    headers = {"Authorization": "Bearer pk_test_free_openai_both"}
    free = tiers.TIERS["free"]
    for minute in range(free.images_per_day // free.images_per_minute):
        if minute:
            client.post("/_sim/clock/advance", json={"seconds": 60}).raise_for_status()
        body = {"model": "dall-e-2", "prompt": f"minute {minute}", "n": free.images_per_minute, "size": "256x256"}
        assert client.post("/openai/v1/images/generations", headers=headers, json=body).status_code == 200
    refused = client.post("/openai/v1/images/generations", headers=headers, json={"model": "dall-e-2", "prompt": "one more"})
    now = client.get("/_sim/clock").json()["now"]
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(tiers.seconds_to_utc_midnight(now))
    message = refused.json()["error"]["message"]
    assert f"images per day in organization org-perf-image-sim. Limit: {free.images_per_day}/1d." in message, message
    assert f"Current: {free.images_per_day + 1}/1d." in message


def test_openai_face_has_its_own_window(limited: RunningServer, fresh_key: str) -> None:
    client = sdk(limited, fresh_key)
    for prompt in ("one", "two"):
        client.images.generate(model="dall-e-3", prompt=prompt)
    perf = httpx.post(
        f"{limited.base_url}/v1/images/generations", headers={"Authorization": f"Bearer {fresh_key}"}, json={"prompt": "three"}
    )
    assert perf.status_code == 200  # the Perf API's window for the same key is untouched
    with pytest.raises(openai.RateLimitError):
        client.images.generate(model="dall-e-3", prompt="three")


@pytest.mark.parametrize(("model", "size", "n"), [("dall-e-3", "1024x1792", 1), ("dall-e-2", "512x512", 3)])
def test_same_bytes_as_the_perf_api(client: httpx.Client, sim: RunningServer, model: str, size: str, n: int) -> None:
    prompt = "a lighthouse in a storm"
    native = sdk(sim).images.generate(model=model, prompt=prompt, size=size, n=n, response_format="b64_json")
    assert native.data is not None
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": model, "prompt": prompt, "size": size, "n": n, "response_format": "b64_json"},
    ).json()
    assert [image.b64_json for image in native.data] == [image["b64_json"] for image in perf["data"]]
    if model == "dall-e-3":
        assert native.data[0].revised_prompt == perf["data"][0]["revised_prompt"]


def test_every_answer_carries_openais_response_headers_errors_included(sim: RunningServer) -> None:
    """OpenAI's answers name their organization, API version and request id; an app may log them."""
    client = sdk(sim)
    made = client.images.with_raw_response.generate(model="dall-e-2", prompt="a red fox", size="256x256")
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="dall-e-2", prompt="a red fox", size="9x9")
    for headers in (made.headers, refused.value.response.headers):
        assert headers["openai-organization"] and headers["openai-version"] == "2020-10-01" and headers["x-request-id"]


@pytest.mark.parametrize("prompt", ["   ", "\t\n", " \u3000 "])
def test_a_whitespace_only_dall_e_3_prompt_is_accepted_and_revised_into_a_well_formed_prompt(client: httpx.Client, prompt: str) -> None:
    """OpenAI's documented rule is a length of at least 1, so the face accepts it (docs/providers.md); the revision was
    ", composed with ...", a text with no subject that starts with a comma, which a client showing it showed broken."""
    headers = {"Authorization": f"Bearer {KEY}"}
    answer = client.post("/openai/v1/images/generations", headers=headers, json={"prompt": prompt, "model": "dall-e-3"})
    assert answer.status_code == 200, answer.text
    revised = answer.json()["data"][0]["revised_prompt"]
    assert revised[:1].isupper() and not revised.startswith(",") and ", ," not in revised
    again = client.post("/openai/v1/images/generations", headers=headers, json={"prompt": revised, "model": "dall-e-3"})
    assert again.status_code == 200, "the revision is a prompt the model takes back"
