"""The Stability AI sd3 face with httpx, following Stability's own documented request examples."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from simulator.launcher import RunningServer
from spec.models import STABILITY_ASPECT_SIZES
from spec.policy import OUTPUT_FILTER_PHRASE, TRIGGER_PHRASE

KEY = "pk_test_pro_stability"
PATH = "/stability/v2beta/stable-image/generate/sd3"


def sd3(client: httpx.Client, data: dict[str, str], accept: str = "image/*", key: str | None = KEY) -> httpx.Response:
    """Stability's documented call: multipart form forced by an empty `none` file part, Accept chooses the answer."""
    headers = {"accept": accept}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return client.post(PATH, headers=headers, files={"none": ""}, data=data)


def assert_stability_error(response: httpx.Response, status: int, name: str) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"id", "name", "errors"} and body["name"] == name
    assert len(body["id"]) == 32 and body["errors"] and all(isinstance(e, str) for e in body["errors"])
    return list(body["errors"])


def test_documented_example_returns_jpeg_bytes_with_headers(client: httpx.Client) -> None:
    response = sd3(client, {"prompt": "Lighthouse on a cliff overlooking the ocean", "output_format": "jpeg"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg" and response.content.startswith(b"\xff\xd8")
    assert response.headers["finish-reason"] == "SUCCESS"
    assert response.headers["seed"] == "0" and response.headers["x-request-id"]
    assert Image.open(io.BytesIO(response.content)).size == (1024, 1024)


@pytest.mark.parametrize("aspect_ratio", ["16:9", "9:21", "4:5"])
def test_json_answer_is_base64_png_at_the_ratio_size(client: httpx.Client, aspect_ratio: str) -> None:
    response = sd3(client, {"prompt": "a lighthouse", "aspect_ratio": aspect_ratio, "model": "sd3.5-medium"}, accept="application/json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"image", "finish_reason", "seed"} and body["finish_reason"] == "SUCCESS"
    width, height = STABILITY_ASPECT_SIZES[aspect_ratio].split("x")
    assert Image.open(io.BytesIO(base64.b64decode(body["image"]))).size == (int(width), int(height))


def test_seed_k_is_the_kth_image_of_the_perf_request_and_is_reported(client: httpx.Client) -> None:
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "stable-diffusion-3", "prompt": "a lighthouse", "n": 3, "response_format": "b64_json"},
    ).json()
    answers = [sd3(client, {"prompt": "a lighthouse", "seed": str(k)}) for k in range(3)]
    assert [a.headers["seed"] for a in answers] == ["0", "1", "2"]
    assert [base64.b64encode(a.content).decode() for a in answers] == [item["b64_json"] for item in perf["data"]]
    assert sd3(client, {"prompt": "a lighthouse"}).content == answers[0].content


@pytest.mark.parametrize("accept", ["image/*", "application/json"])
def test_output_filter_is_200_content_filtered_with_a_blurred_image(client: httpx.Client, accept: str) -> None:
    prompt = f"a lighthouse {OUTPUT_FILTER_PHRASE}"
    response = sd3(client, {"prompt": prompt}, accept=accept)
    assert response.status_code == 200
    if accept == "image/*":
        finish, image = response.headers["finish-reason"], response.content
    else:
        finish, image = response.json()["finish_reason"], base64.b64decode(response.json()["image"])
    assert finish == "CONTENT_FILTERED"
    blurred = Image.open(io.BytesIO(image))
    # The renderer paints with a palette of 8 colours; a blur of its picture has far more.
    assert blurred.size == (1024, 1024) and len(blurred.convert("RGB").getcolors(1 << 20) or []) > 64, "a blur, not the picture"


def test_prompt_up_to_stabilitys_own_limit_is_accepted(client: httpx.Client) -> None:
    assert sd3(client, {"prompt": "p" * 10_000}).status_code == 200
    errors = assert_stability_error(sd3(client, {"prompt": "p" * 10_001}), 400, "bad_request")
    assert errors[0].startswith("prompt:")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"prompt": "x", "output_format": "webp"}, "output_format"),
        ({"prompt": "x", "model": "sd9"}, "model"),
        ({"prompt": "x", "seed": "4294967295"}, "seed"),
        ({"prompt": "x", "seed": "abc"}, "seed"),
        ({"prompt": "x", "cfg_scale": "11"}, "cfg_scale"),
        ({"prompt": "x", "mode": "image-to-image"}, "mode"),
    ],
)
def test_invalid_fields_are_400_bad_request_naming_the_field(client: httpx.Client, data: dict[str, str], field: str) -> None:
    errors = assert_stability_error(sd3(client, data), 400, "bad_request")
    assert errors[0].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("seed", "says"),
    [
        ("99999999999999999999999", "must be between 0 and 4294967294; got 99999999999999999999999"),
        ("-1234567890123456789012", "must be between 0 and 4294967294; got -1234567890123456789012"),
        ("0000000000000000000000000000001", None),
        ("1_0", "must be an integer; got '1_0'"),
        ("１", "must be an integer; got '１'"),
    ],
)
def test_an_over_long_integer_seed_gets_the_range_message_not_must_be_an_integer(client: httpx.Client, seed: str, says: str | None) -> None:
    """A seed of more digits than 18 was "must be an integer", though it is one; its trouble is its range. Leading
    zeros make no number larger, and what is no integer as a form writes one is still that message."""
    answer = sd3(client, {"prompt": "a lighthouse", "seed": seed})
    if says is None:
        assert answer.status_code == 200 and answer.headers["seed"] == "1"
    else:
        assert assert_stability_error(answer, 400, "bad_request") == [f"seed: {says}"]


def test_json_body_and_unsupported_accept_are_refused(client: httpx.Client) -> None:
    as_json = client.post(PATH, headers={"authorization": f"Bearer {KEY}"}, json={"prompt": "x"})
    assert "multipart/form-data" in assert_stability_error(as_json, 400, "bad_request")[0]
    assert_stability_error(sd3(client, {"prompt": "x"}, accept="text/html"), 400, "bad_request")


@pytest.mark.parametrize(
    ("accept", "output_format", "answer"),
    [
        ("image/jpeg", "jpeg", "image/jpeg"),
        ("image/png", "png", "image/png"),
        ("*/*", "png", "image/png"),
        ("application/json, image/*", "png", "image/png"),
        ("image/*;q=0.1, application/json", "png", "application/json; type=image/png"),
        ("application/json;q=0.9, image/*;q=0.5", "jpeg", "application/json; type=image/jpeg"),
        ("image/*;q=0, */*", "png", "application/json; type=image/png"),
        ("application/*", "png", "application/json; type=image/png"),
        ("image/webp, application/json;q=0.2", "png", "application/json; type=image/png"),
        ("application/json, text/plain, */*", "png", "application/json; type=image/png"),
        ("application/json;q=1.0000, image/*;q=0.5", "png", "application/json; type=image/png"),
        ("application/json;q=0.55555, image/*;q=0.5", "png", "application/json; type=image/png"),
    ],
)
def test_accept_chooses_bytes_or_json_by_its_qualities(client: httpx.Client, accept: str, output_format: str, answer: str) -> None:
    """Accept was read by type alone: q-values were ignored, and any image type got the bytes, whatever their format."""
    response = sd3(client, {"prompt": "a lighthouse", "output_format": output_format}, accept=accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == answer


@pytest.mark.parametrize("accept", ["image/jpeg", "image/webp", "image/*;q=0", "image/*;q=2"])
def test_an_accept_neither_answer_meets_is_a_400_naming_accept(client: httpx.Client, accept: str) -> None:
    """The answer's type is output_format's (png by default): Accept chooses bytes or JSON, never the image format."""
    errors = assert_stability_error(sd3(client, {"prompt": "a lighthouse"}, accept=accept), 400, "bad_request")
    assert errors[0].startswith("accept:")


@pytest.mark.parametrize("q", ["2", "-0.5", ".5", ""])
def test_a_q_that_is_no_number_from_0_to_1_is_refused_saying_what_q_takes(client: httpx.Client, q: str) -> None:
    """The message said "at most three decimals", where any number of decimals is read (q=0.55555 is a 200)."""
    accept = f"image/*;q={q}"
    errors = assert_stability_error(sd3(client, {"prompt": "a lighthouse"}, accept=accept), 400, "bad_request")
    assert errors == [f"accept: q must be a number from 0 to 1, such as q=0.5; got {accept!r}"]


def test_flagged_prompt_is_403_content_moderation(client: httpx.Client) -> None:
    errors = assert_stability_error(sd3(client, {"prompt": f"a cat {TRIGGER_PHRASE}"}), 403, "content_moderation")
    assert "not charged" in errors[0]


@pytest.mark.parametrize("key", [None, "sk-notarealstabilitykey"])
def test_missing_or_unknown_key_is_401(client: httpx.Client, key: str | None) -> None:
    assert_stability_error(sd3(client, {"prompt": "x"}, key=key), 401, "unauthorized")


def test_rate_limit_is_429_with_retry_after(limited: RunningServer, fresh_key: str) -> None:
    with httpx.Client(base_url=limited.base_url) as client:
        for _ in range(3):
            assert sd3(client, {"prompt": "x"}, key=fresh_key).status_code == 200
        response = sd3(client, {"prompt": "x"}, key=fresh_key)
    assert_stability_error(response, 429, "rate_limit_exceeded")
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_same_bytes_as_the_perf_api(client: httpx.Client) -> None:
    perf = client.post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "stable-diffusion-3", "prompt": "a lighthouse", "size": "1344x768", "response_format": "b64_json"},
    )
    perf_b64 = perf.json()["data"][0]["b64_json"]
    as_json = sd3(client, {"prompt": "a lighthouse", "aspect_ratio": "16:9"}, accept="application/json").json()
    as_bytes = sd3(client, {"prompt": "a lighthouse", "aspect_ratio": "16:9"}).content
    assert as_json["image"] == perf_b64 and base64.b64decode(perf_b64) == as_bytes


def _raw_form(client: httpx.Client, body: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {KEY}", "accept": "application/json", "content-type": "multipart/form-data; boundary=XyZ"}
    return client.post(PATH, headers=headers, content=body)


def test_a_form_field_that_is_not_utf8_is_refused_not_read_as_latin1(client: httpx.Client) -> None:
    """Read as Latin-1, `caf\\xe9` was drawn and screened as `café` and answered 200: the app's encoding bug hidden."""
    body = b'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\ncaf\xe9 \xff fox\r\n--XyZ--\r\n'
    (message,) = assert_stability_error(_raw_form(client, body), 400, "bad_request")
    assert message == "body: not a valid multipart form (field 'prompt' is not utf-8 text)"


def test_a_form_cut_before_its_closing_boundary_is_named_so_not_as_a_missing_prompt(client: httpx.Client) -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na red fox\r\n--XyZ--\r\n'
    (message,) = assert_stability_error(_raw_form(client, body[:-10]), 400, "bad_request")
    assert message == "body: not a valid multipart form (it ends before its closing boundary)"
    assert _raw_form(client, body).status_code == 200


@pytest.mark.parametrize("boundary", ["", '""'])
@pytest.mark.parametrize("body", [b'------\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na red fox\r\n--------\r\n', b"garbage"])
def test_an_empty_multipart_boundary_is_refused_naming_the_content_type_not_a_missing_prompt(
    client: httpx.Client, boundary: str, body: bytes
) -> None:
    """RFC 2046 asks for a boundary of 1 to 70 characters; split on an empty one, a framed form read as no fields."""
    headers = {"authorization": f"Bearer {KEY}", "accept": "application/json", "content-type": f"multipart/form-data; boundary={boundary}"}
    (message,) = assert_stability_error(client.post(PATH, headers=headers, content=body), 400, "bad_request")
    assert message == "content-type: boundary must not be empty (RFC 2046)"
