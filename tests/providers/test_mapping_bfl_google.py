"""The BFL and Imagen mappings both ways: Perf request -> native -> engine request is the identity, and native
answers and errors come back in Perf terms."""

from __future__ import annotations

import base64
import json

import pytest

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.providers.bfl import mapping as bfl
from simulator.providers.google import mapping as google
from simulator.providers.protocol import NativeImage, NativeTask
from spec import errors
from spec.models import FLUX_SIZES, IMAGEN_ASPECT_SIZES
from spec.providers import bfl as native
from spec.providers import google as google_spec


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


def test_the_gateway_calls_bfl_as_bfls_api_documents_it() -> None:
    """Written from BFL's API reference (POST /v1/flux-dev, x-key header, JSON width/height/seed/output_format), not
    from our mapping: a field misnamed alike both ways passes the round trip below. One submit per image, seed k."""
    calls = bfl.native_calls(GenerationRequest("a red fox", "flux-dev", 2, "1440x256", "standard", None, "url"))
    assert [(call.method, call.path, call.headers, call.form) for call in calls] == [
        ("POST", "/v1/flux-dev", {"accept": "application/json"}, None)
    ] * 2
    assert [call.json for call in calls] == [
        {"prompt": "a red fox", "width": 1440, "height": 256, "seed": seed, "output_format": "png"} for seed in (0, 1)
    ]
    assert bfl.credentials("bfl-test") == {"x-key": "bfl-test"}


@pytest.mark.parametrize("model", ["flux-pro", "flux-dev"])
@pytest.mark.parametrize("size", ["1024x1024", "256x1440", "1440x256", "768x512"])
def test_the_bfl_face_reads_each_of_the_gateways_submits_as_one_image_of_the_request(model: str, size: str) -> None:
    assert size in FLUX_SIZES
    perf = GenerationRequest("a red fox", model, 3, size, "standard", None, "b64_json")
    calls = bfl.native_calls(perf)
    assert [call.path for call in calls] == [f"/v1/{model}"] * 3
    for k, call in enumerate(calls):
        back = bfl.request_from_native(model, call.json)
        assert back.output_format == "png"
        assert back.generation == GenerationRequest("a red fox", model, 1, size, "standard", None, "url", first_index=k)


def test_bfl_defaults_are_bfls() -> None:
    native_request = bfl.request_from_native("flux-dev", {"prompt": "x"})
    assert native_request.generation.size == f"{native.BFL_DEFAULT_WIDTH}x{native.BFL_DEFAULT_HEIGHT}"
    assert native_request.output_format == native.BFL_DEFAULT_OUTPUT_FORMAT and native_request.generation.first_index == 0


def test_bfl_reports_every_broken_field_at_once() -> None:
    with pytest.raises(bfl.BflValidationError) as raised:
        bfl.request_from_native("flux-pro", {"prompt": 3, "width": 250, "guidance": 9, "seed": -1})
    assert [p["loc"][1] for p in raised.value.problems] == ["prompt", "width", "guidance", "seed"]
    assert bfl.error_answer(raised.value).status == 422


@pytest.mark.parametrize("output_format", ["", 0, False, {}, "webp"])
def test_bfl_output_format_other_than_jpeg_or_png_is_a_422_enum_problem(output_format: object) -> None:
    with pytest.raises(bfl.BflValidationError) as raised:
        bfl.request_from_native("flux-dev", {"prompt": "x", "output_format": output_format})
    assert [(p["loc"][1], p["type"]) for p in raised.value.problems] == [("output_format", "enum")]


def test_bfl_submit_answer_is_a_task_to_poll() -> None:
    task = {"id": "t-1", "polling_url": "http://bfl.test/v1/get_result?id=t-1"}
    assert bfl.images_from_native(200, {}, _json(task)) == [NativeTask("/v1/get_result?id=t-1", task["polling_url"])]
    assert bfl.images_from_native(200, {}, _json({"id": "t-2"})) == [NativeTask("/v1/get_result?id=t-2")]
    with pytest.raises(ApiError) as raised:
        bfl.images_from_native(200, {}, _json({"polling_url": "x"}))
    assert raised.value.type == errors.UPSTREAM_ERROR


@pytest.mark.parametrize(
    ("poll", "expected"),
    [
        ({"status": "Pending"}, None),
        ({"status": "Ready", "result": {"sample": "http://x/s.png"}}, "http://x/s.png"),
        ({"status": "Request Moderated"}, errors.CONTENT_POLICY_VIOLATION),
        ({"status": "Content Moderated"}, errors.CONTENT_POLICY_VIOLATION),
        ({"status": "Error"}, errors.UPSTREAM_ERROR),
        ({"status": "Task not found"}, errors.UPSTREAM_ERROR),
        ({"status": "Ready", "result": None}, errors.UPSTREAM_ERROR),
        ("garbage", errors.UPSTREAM_ERROR),
    ],
)
def test_bfl_poll_answers_in_perf_terms(poll: object, expected: str | None) -> None:
    if expected is None or expected.startswith("http"):
        assert bfl.poll_from_native(200, {}, _json(poll)) == (NativeImage(url=expected) if expected else None)
    else:
        with pytest.raises(ApiError) as raised:
            bfl.poll_from_native(200, {}, _json(poll))
        assert raised.value.type == expected


def test_bfl_http_errors_in_perf_terms() -> None:
    limited = bfl.error_from_native(429, {}, _json({"detail": "slow down", "retry_after": 7}))
    assert limited.type == errors.RATE_LIMIT_EXCEEDED and limited.retry_after == 7
    assert bfl.error_from_native(429, {"Retry-After": "12"}, b"").retry_after == 12
    assert bfl.error_from_native(503, {}, _json({"detail": "maintenance"})).type == errors.SERVICE_UNAVAILABLE
    failed = bfl.error_from_native(401, {}, _json({"detail": "Not authenticated"}))
    assert failed.type == errors.UPSTREAM_ERROR and "Not authenticated" in failed.message


def test_the_gateway_calls_imagen_as_the_gemini_api_documents_it() -> None:
    """Written from Google's API reference (POST /v1beta/models/imagen-3.0-generate-002:predict, x-goog-api-key,
    "instances" and camelCase "parameters"), not from our mapping: a field misnamed alike both ways passes the round
    trip below."""
    (call,) = google.native_calls(GenerationRequest("a red fox", "imagen-3", 2, "1024x1024", "standard", None, "url"))
    assert (call.method, call.path, call.form) == ("POST", "/v1beta/models/imagen-3.0-generate-002:predict", None)
    assert call.json == {
        "instances": [{"prompt": "a red fox"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "1:1", "includeRaiReason": True, "outputOptions": {"mimeType": "image/png"}},
    }
    assert google.credentials("g-test") == {"x-goog-api-key": "g-test"}


@pytest.mark.parametrize("n", [1, 4])
def test_the_google_face_reads_the_gateways_imagen_call_as_the_request_it_came_from(n: int) -> None:
    perf = GenerationRequest("a red fox", "imagen-3", n, "1024x1024", "standard", None, "url")
    (call,) = google.native_calls(perf)
    assert call.path == "/v1beta/models/imagen-3.0-generate-002:predict"
    back = google.request_from_native("imagen-3.0-generate-002", call.json)
    assert back.mime_type == "image/png" and back.include_rai_reason
    assert back.generation == GenerationRequest("a red fox", "imagen-3", n, "1024x1024", "standard", None, "b64_json")


@pytest.mark.parametrize(("ratio", "size"), IMAGEN_ASPECT_SIZES.items())
def test_imagen_aspect_ratios_give_their_sizes(ratio: str, size: str) -> None:
    body = {"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": ratio}}
    request = google.request_from_native("imagen-3.0-fast-generate-001", body).generation
    assert request.size == size and request.n == google_spec.IMAGEN_DEFAULT_SAMPLE_COUNT


def test_imagen_predictions_in_perf_terms() -> None:
    encoded = base64.b64encode(b"\x89PNG fake").decode()
    image = {"bytesBase64Encoded": encoded, "mimeType": "image/png"}
    assert google.images_from_native(200, {}, _json({"predictions": [image, image]})) == [NativeImage(b64=encoded)] * 2
    for filtered in ({}, {"predictions": [{"raiFilteredReason": "x"}]}, {"predictions": [image, {"raiFilteredReason": "x"}]}):
        with pytest.raises(ApiError) as raised:
            google.images_from_native(200, {}, _json(filtered))
        assert raised.value.type == errors.CONTENT_POLICY_VIOLATION
    with pytest.raises(ApiError) as bad:
        google.images_from_native(200, {}, _json({"predictions": "nope"}))
    assert bad.value.type == errors.UPSTREAM_ERROR


def test_imagen_http_errors_in_perf_terms() -> None:
    blocked = {"error": {"code": 400, "message": google_spec.IMAGEN_PROMPT_BLOCKED_MESSAGE, "status": "INVALID_ARGUMENT"}}
    assert google.error_from_native(400, {}, _json(blocked)).type == errors.CONTENT_POLICY_VIOLATION
    invalid = {"error": {"code": 400, "message": "bad sampleCount", "status": "INVALID_ARGUMENT"}}
    assert google.error_from_native(400, {}, _json(invalid)).type == errors.UPSTREAM_ERROR
    exhausted = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{"retryDelay": "37s"}]}}
    assert google.error_from_native(429, {}, _json(exhausted)).retry_after == 37
    assert google.error_from_native(429, {"retry-after": "5"}, b"").retry_after == 5
    assert google.error_from_native(503, {}, b"").type == errors.SERVICE_UNAVAILABLE
