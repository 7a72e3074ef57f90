"""The OpenAI mapping both ways: Perf request -> OpenAI call -> Perf request, OpenAI answer -> images or errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import product

import pytest

from simulator.engine.errors import ApiError
from simulator.engine.generate import GenerationResult, RateLimited
from simulator.engine.request import GenerationRequest
from simulator.providers.openai import mapping
from simulator.providers.protocol import NativeAnswer, NativeInvalid
from simulator.state.base import RateState
from spec import errors
from spec.models import MODELS, RESPONSE_FORMATS


def _perf_requests() -> list[GenerationRequest]:
    requests = []
    for name in ("dall-e-2", "dall-e-3"):
        spec = MODELS[name]
        for size, quality, style, fmt, n in product(spec.sizes, spec.qualities, spec.styles or (None,), RESPONSE_FORMATS, {1, spec.max_n}):
            requests.append(GenerationRequest("a red fox", name, n, size, quality, style, fmt))
    return requests


def test_the_gateway_calls_openai_as_openais_api_documents_it() -> None:
    """Written from OpenAI's API reference (POST {base}/v1/images/generations, bearer key, JSON fields by their
    names there), not from our mapping: a field misnamed alike both ways passes the round trips below, not this."""
    request = GenerationRequest("a red fox", "dall-e-3", 1, "1792x1024", "hd", "natural", "b64_json")
    (call,) = mapping.native_calls(request)
    assert (call.method, call.path, call.form) == ("POST", "/images/generations", None)
    assert call.json == {
        "model": "dall-e-3",
        "prompt": "a red fox",
        "n": 1,
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
    }
    assert mapping.credentials("sk-test") == {"Authorization": "Bearer sk-test"}


@pytest.mark.parametrize("request_", _perf_requests(), ids=str)
def test_the_openai_face_reads_the_gateways_call_as_the_request_it_came_from(request_: GenerationRequest) -> None:
    (call,) = mapping.native_calls(request_)
    assert (call.method, call.path) == ("POST", "/images/generations")
    assert call.json is not None and mapping.request_from_native(call.json) == request_


@pytest.mark.parametrize(
    "body",
    [
        {
            "model": "dall-e-3",
            "prompt": "x",
            "n": 1,
            "size": "1024x1792",
            "response_format": "b64_json",
            "quality": "hd",
            "style": "natural",
        },
        {"model": "dall-e-2", "prompt": "x", "n": 7, "size": "256x256", "response_format": "url"},
    ],
)
def test_the_gateway_writes_an_openai_body_as_the_face_read_it(body: dict[str, object]) -> None:
    assert mapping.native_calls(mapping.request_from_native(body))[0].json == body


def test_native_defaults_are_openais() -> None:
    request = mapping.request_from_native({"prompt": "x"})
    assert (request.model, request.n, request.size, request.quality, request.style, request.response_format) == (
        "dall-e-2",
        1,
        "1024x1024",
        "standard",
        None,
        "url",
    )
    assert mapping.request_from_native({"prompt": "x", "model": "dall-e-3"}).style == "vivid"


def test_non_openai_models_have_no_openai_call() -> None:
    with pytest.raises(ValueError):
        mapping.native_calls(GenerationRequest("x", "flux-pro", 1, "1024x1024", "standard", None, "url"))


def _wire(answer: NativeAnswer) -> tuple[int, dict[str, str], bytes]:
    return answer.status, answer.headers, json.dumps(answer.body).encode()


@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3"])
def test_success_answer_maps_back_to_its_images(model: str, make_result: Callable[[GenerationRequest], GenerationResult]) -> None:
    request = GenerationRequest("a fox", model, 1, "1024x1024", "standard", "vivid" if model == "dall-e-3" else None, "b64_json")
    result = make_result(request)
    images = mapping.images_from_native(*_wire(mapping.success_answer(result, ["QUJD"])))
    assert [image.b64 for image in images] == ["QUJD"]
    assert images[0].revised_prompt == (result.revised_prompt if model == "dall-e-3" else None)


def test_errors_map_back_to_what_the_perf_caller_sees(full_rate: RateState) -> None:
    cases: list[tuple[ApiError, str, str | None, int | None]] = [
        (NativeInvalid("size", "The size is not supported by this model.", "invalid_size"), errors.INVALID_REQUEST, "size", None),
        (ApiError(errors.CONTENT_POLICY_VIOLATION, "no"), errors.CONTENT_POLICY_VIOLATION, None, None),
        (RateLimited(17, full_rate, "minute", real_clock=True), errors.RATE_LIMIT_EXCEEDED, None, 17),
        # The gateway's own key was refused: nothing the Perf caller can fix. The provider down is an outage.
        (ApiError(errors.AUTHENTICATION_ERROR, "Incorrect API key provided"), errors.UPSTREAM_ERROR, None, None),
        (ApiError(errors.SERVICE_UNAVAILABLE, "down"), errors.SERVICE_UNAVAILABLE, None, None),
    ]
    for engine_error, perf_type, param, retry_after in cases:
        answer = mapping.error_answer(engine_error, "0" * 32, n=1)
        assert answer.status == engine_error.status
        mapped = mapping.error_from_native(*_wire(answer))
        assert (mapped.type, mapped.param, mapped.retry_after) == (perf_type, param, retry_after)
    refused = mapping.error_from_native(*_wire(mapping.error_answer(cases[0][0], "0" * 32)))
    assert refused.message == f"upstream openai refused the call (400): {cases[0][0].message}"


def test_an_upstream_400_names_the_upstream_so_its_keys_limit_is_not_read_as_the_callers() -> None:
    """The gateway's --upstream-key is a free key; the caller's is pro: "this key's limit" is the provider key's."""
    said = "a request for 8 images exceeds this key's limit of 5 images per minute (free tier), so it could never be admitted"
    body = {"error": {"message": said, "type": "invalid_request_error", "param": "n", "code": None}}
    refused = mapping.error_from_native(400, {}, json.dumps(body).encode())
    assert (refused.status, refused.type, refused.param) == (400, errors.INVALID_REQUEST, "n")
    assert refused.message == f"upstream openai refused the call (400): {said}"


def test_unreadable_answers_are_upstream_errors_and_a_503_an_outage_whatever_its_body() -> None:
    assert mapping.error_from_native(502, {}, b"<html>bad gateway</html>").type == errors.UPSTREAM_ERROR
    assert mapping.error_from_native(503, {}, b"<html>busy</html>").type == errors.SERVICE_UNAVAILABLE
    with pytest.raises(ApiError) as caught:
        mapping.images_from_native(200, {}, b"{}")
    assert caught.value.type == errors.UPSTREAM_ERROR
