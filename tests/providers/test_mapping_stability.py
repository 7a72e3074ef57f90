"""The Stability mapping both ways: Perf request -> n sd3 calls -> Perf request, sd3 answers -> images or errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from simulator.engine.errors import ApiError
from simulator.engine.generate import GenerationResult, RateLimited
from simulator.engine.request import GenerationRequest
from simulator.providers.protocol import NativeAnswer, NativeInvalid
from simulator.providers.stability import mapping
from simulator.state.base import RateState
from spec import errors
from spec.models import MODELS, STABILITY_ASPECT_SIZES
from spec.providers import stability as p


def test_the_gateway_calls_stability_as_stabilitys_api_documents_it() -> None:
    """Written from Stability's API reference (POST /v2beta/stable-image/generate/sd3, bearer key, multipart form
    fields, Accept: application/json for base64 JSON, 16:9 for 1344x768), not from our mapping: a field misnamed alike
    both ways passes the round trips below. One call per image, image k with seed k."""
    request = GenerationRequest("a lighthouse", "stable-diffusion-3", 2, "1344x768", "standard", None, "url")
    calls = mapping.native_calls(request)
    assert [(call.method, call.path, call.headers, call.json) for call in calls] == [
        ("POST", "/v2beta/stable-image/generate/sd3", {"Accept": "application/json"}, None)
    ] * 2
    assert [call.form for call in calls] == [
        {"prompt": "a lighthouse", "model": "sd3.5-large", "aspect_ratio": "16:9", "output_format": "png", "seed": seed}
        for seed in ("0", "1")
    ]
    assert mapping.credentials("sk-test") == {"Authorization": "Bearer sk-test"}


@pytest.mark.parametrize("size", MODELS["stable-diffusion-3"].sizes)
@pytest.mark.parametrize("n", [1, 4])
def test_the_stability_face_reads_each_of_the_gateways_calls_as_one_image_of_the_request(size: str, n: int) -> None:
    request = GenerationRequest("a lighthouse", "stable-diffusion-3", n, size, "standard", None, "url")
    calls = mapping.native_calls(request)
    assert len(calls) == n
    for k, call in enumerate(calls):
        assert (call.method, call.path, call.headers["Accept"]) == ("POST", "/v2beta/stable-image/generate/sd3", "application/json")
        assert call.form is not None and STABILITY_ASPECT_SIZES[call.form["aspect_ratio"]] == size
        native = mapping.request_from_native(call.form, call.headers["Accept"])
        # One image per call, image k by seed k, always delivered inline: the gateway, not Stability, makes a URL of it.
        assert native.generation == request._replace(n=1, response_format="b64_json", first_index=k)
        assert native.as_json and native.output_format == "png"


def test_the_gateway_writes_a_stability_form_as_the_face_read_it() -> None:
    form = {"prompt": "a lighthouse", "model": "sd3.5-large", "aspect_ratio": "21:9", "output_format": "png", "seed": "42"}
    (call,) = mapping.native_calls(mapping.request_from_native(form, "application/json").generation)
    assert call.form == form


@pytest.mark.parametrize(
    ("field", "value"),
    [("seed", "1_0"), ("seed", "\u0663"), ("seed", "\uff11"), ("seed", "1.0"), ("cfg_scale", "\u0663"), ("cfg_scale", "1_0")],
)
def test_form_numbers_in_anything_but_ascii_digits_are_refused(field: str, value: str) -> None:
    with pytest.raises(NativeInvalid) as raised:
        mapping.request_from_native({"prompt": "x", "model": "sd3.5-large", field: value}, None)
    assert raised.value.param == field and "must be" in raised.value.message


@pytest.mark.parametrize(("field", "value"), [("seed", "-1"), ("seed", str(p.STABILITY_MAX_SEED + 1))])
def test_an_out_of_range_seed_names_the_range_in_whole_numbers(field: str, value: str) -> None:
    with pytest.raises(NativeInvalid) as raised:
        mapping.request_from_native({"prompt": "x", field: value}, None)
    assert f"between 0 and {p.STABILITY_MAX_SEED}; got {value}" in raised.value.message


@pytest.mark.parametrize(("accept", "as_json"), [(None, False), ("image/*", False), ("*/*", False), ("application/json", True)])
def test_accept_chooses_bytes_or_json(accept: str | None, as_json: bool) -> None:
    assert mapping.request_from_native({"prompt": "x"}, accept).as_json is as_json


def _wire(answer: NativeAnswer) -> tuple[int, dict[str, str], bytes]:
    return answer.status, answer.headers, json.dumps(answer.body).encode()


def test_both_success_shapes_map_back_to_the_image(make_result: Callable[[GenerationRequest], GenerationResult]) -> None:
    result = make_result(GenerationRequest("x", "stable-diffusion-3", 1, "1024x1024", "standard", None, "b64_json", first_index=42))
    (from_json,) = mapping.images_from_native(*_wire(mapping.success_json(result, "iVBORw0K", "png")))
    (from_bytes,) = mapping.images_from_native(200, mapping.success_headers(result, "png"), base64.b64decode("iVBORw0K"))
    assert from_json.b64 == from_bytes.b64 == "iVBORw0K" and from_json.seed == from_bytes.seed == 42


def test_filtered_output_is_a_content_policy_error(make_result: Callable[[GenerationRequest], GenerationResult]) -> None:
    result = make_result(GenerationRequest("x", "stable-diffusion-3", 1, "1024x1024", "standard", None, "b64_json"))
    answers = [_wire(mapping.success_json(result, "iVBORw0K", "png", filtered=True))]
    answers.append((200, mapping.success_headers(result, "png", filtered=True), base64.b64decode("iVBORw0K")))
    for answer in answers:
        with pytest.raises(ApiError) as caught:
            mapping.images_from_native(*answer)
        assert caught.value.type == errors.CONTENT_POLICY_VIOLATION


def test_errors_map_back_to_what_the_perf_caller_sees(full_rate: RateState) -> None:
    cases: list[tuple[ApiError, int, str, str | None, int | None]] = [
        (NativeInvalid("aspect_ratio", "aspect_ratio: must be one of ..."), 400, errors.INVALID_REQUEST, "aspect_ratio", None),
        (ApiError(errors.CONTENT_POLICY_VIOLATION, "no"), 403, errors.CONTENT_POLICY_VIOLATION, None, None),
        (RateLimited(9, full_rate, "minute", real_clock=True), 429, errors.RATE_LIMIT_EXCEEDED, None, 9),
        (ApiError(errors.AUTHENTICATION_ERROR, "bad key"), 401, errors.UPSTREAM_ERROR, None, None),
        (ApiError(errors.PAYLOAD_TOO_LARGE, "too big"), 413, errors.UPSTREAM_ERROR, None, None),
    ]
    for engine_error, status, perf_type, param, retry_after in cases:
        answer = mapping.error_answer(engine_error, "0" * 32)
        assert answer.status == status
        mapped = mapping.error_from_native(*_wire(answer))
        assert (mapped.type, mapped.param, mapped.retry_after) == (perf_type, param, retry_after)
    refused = mapping.error_from_native(*_wire(mapping.error_answer(cases[0][0], "0" * 32)))
    assert refused.message == f"upstream stability refused the call (400): {cases[0][0].message}"


def test_a_429_without_retry_after_waits_stabilitys_window() -> None:
    assert mapping.error_from_native(429, {}, b"").retry_after == p.STABILITY_DEFAULT_RETRY_AFTER_SECONDS
