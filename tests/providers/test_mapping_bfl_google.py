"""The BFL and Imagen mappings both ways: Perf request -> native -> engine request is the identity, and native
answers and errors come back in Perf terms."""

from __future__ import annotations

import base64

import pytest

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.providers.bfl import mapping as bfl
from simulator.providers.google import mapping as google
from spec import errors
from spec.models import FLUX_SIZES, IMAGEN_ASPECT_SIZES
from spec.providers import bfl as native
from spec.providers import google as google_spec


@pytest.mark.parametrize("model", ["flux-pro", "flux-dev"])
@pytest.mark.parametrize("size", ["1024x1024", "256x1440", "1440x256", "768x512"])
def test_bfl_round_trip_per_image(model: str, size: str) -> None:
    assert size in FLUX_SIZES
    perf = GenerationRequest("a red fox", model, 3, size, "standard", None, "b64_json")
    endpoint, bodies = bfl.native_requests(perf)
    assert endpoint == model and len(bodies) == 3
    for k, body in enumerate(bodies):
        back = bfl.submission_from_native(endpoint, body)
        assert back.output_format == "png"
        assert back.request == GenerationRequest("a red fox", model, 1, size, "standard", None, "url", first_index=k)


def test_bfl_defaults_are_bfls() -> None:
    submission = bfl.submission_from_native("flux-dev", {"prompt": "x"})
    assert submission.request.size == f"{native.BFL_DEFAULT_WIDTH}x{native.BFL_DEFAULT_HEIGHT}"
    assert submission.output_format == native.BFL_DEFAULT_OUTPUT_FORMAT and submission.request.first_index == 0


def test_bfl_reports_every_broken_field_at_once() -> None:
    with pytest.raises(bfl.BflValidationError) as raised:
        bfl.submission_from_native("flux-pro", {"prompt": 3, "width": 250, "guidance": 9, "seed": -1})
    assert [p["loc"][1] for p in raised.value.problems] == ["prompt", "width", "guidance", "seed"]


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
        assert bfl.sample_url(poll) == expected
    else:
        with pytest.raises(ApiError) as raised:
            bfl.sample_url(poll)
        assert raised.value.type == expected


def test_bfl_http_errors_in_perf_terms() -> None:
    limited = bfl.perf_error(429, {"detail": "slow down", "retry_after": 7}, None)
    assert limited.type == errors.RATE_LIMIT_EXCEEDED and limited.retry_after == 7
    assert bfl.perf_error(429, None, "12").retry_after == 12
    assert bfl.perf_error(503, {"detail": "maintenance"}, None).type == errors.SERVICE_UNAVAILABLE
    failed = bfl.perf_error(401, {"detail": "Not authenticated"}, None)
    assert failed.type == errors.UPSTREAM_ERROR and "Not authenticated" in failed.message


@pytest.mark.parametrize("n", [1, 4])
def test_imagen_round_trip(n: int) -> None:
    perf = GenerationRequest("a red fox", "imagen-3", n, "1024x1024", "standard", None, "url")
    model_id, body = google.native_request(perf)
    assert model_id == "imagen-3.0-generate-002"
    call = google.call_from_native(model_id, body)
    assert call.mime_type == "image/png" and call.include_rai_reason
    assert call.request == GenerationRequest("a red fox", "imagen-3", n, "1024x1024", "standard", None, "b64_json")


@pytest.mark.parametrize(("ratio", "size"), IMAGEN_ASPECT_SIZES.items())
def test_imagen_aspect_ratios_give_their_sizes(ratio: str, size: str) -> None:
    call = google.call_from_native("imagen-3.0-fast-generate-001", {"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": ratio}})
    assert call.request.size == size and call.request.n == google_spec.IMAGEN_DEFAULT_SAMPLE_COUNT


def test_imagen_predictions_in_perf_terms() -> None:
    png = b"\x89PNG fake"
    answer = {"predictions": [{"bytesBase64Encoded": base64.b64encode(png).decode(), "mimeType": "image/png"}, {"raiFilteredReason": "x"}]}
    assert google.images_from_predict(answer, 1) == [png]
    for filtered, expected in (({}, 1), ({"predictions": [{"raiFilteredReason": "x"}]}, 1), (answer, 2)):
        with pytest.raises(ApiError) as raised:
            google.images_from_predict(filtered, expected)
        assert raised.value.type == errors.CONTENT_POLICY_VIOLATION
    for broken, expected in (({"predictions": [{"bytesBase64Encoded": "***"}]}, 1), (answer, 0)):
        with pytest.raises(ApiError) as bad:
            google.images_from_predict(broken, expected)
        assert bad.value.type == errors.UPSTREAM_ERROR


def test_imagen_http_errors_in_perf_terms() -> None:
    blocked = {"error": {"code": 400, "message": google_spec.IMAGEN_PROMPT_BLOCKED_MESSAGE, "status": "INVALID_ARGUMENT"}}
    assert google.perf_error(400, blocked, None).type == errors.CONTENT_POLICY_VIOLATION
    invalid = {"error": {"code": 400, "message": "bad sampleCount", "status": "INVALID_ARGUMENT"}}
    assert google.perf_error(400, invalid, None).type == errors.UPSTREAM_ERROR
    exhausted = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{"retryDelay": "37s"}]}}
    assert google.perf_error(429, exhausted, None).retry_after == 37
    assert google.perf_error(429, None, "5").retry_after == 5
    assert google.perf_error(503, None, None).type == errors.SERVICE_UNAVAILABLE
