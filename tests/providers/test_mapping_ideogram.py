"""The Ideogram mapping both ways: Perf request -> image_request -> Perf request, Ideogram answers -> images or errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from simulator.engine.errors import ApiError
from simulator.engine.generate import GenerationResult, RateLimited
from simulator.engine.request import GenerationRequest
from simulator.providers.ideogram import mapping
from simulator.providers.protocol import NativeAnswer, NativeInvalid
from simulator.state.base import RateState
from spec import errors
from spec.models import MODELS
from spec.providers.ideogram import IDEOGRAM_SEED_PERIOD


def test_the_gateway_calls_ideogram_as_ideograms_api_documents_it() -> None:
    """Written from Ideogram's API reference (POST /generate, Api-Key header, fields inside "image_request", 16:9 as
    ASPECT_16_9 at 1312x736), not from our mapping: a field misnamed alike both ways passes the round trips below."""
    request = GenerationRequest("a neon sign", "ideogram-2", 3, "1312x736", "standard", None, "url")
    (call,) = mapping.native_calls(request)
    assert (call.method, call.path, call.form) == ("POST", "/generate", None)
    assert call.json == {
        "image_request": {
            "prompt": "a neon sign",
            "model": "V_2",
            "aspect_ratio": "ASPECT_16_9",
            "num_images": 3,
            "seed": 0,
            "magic_prompt_option": "OFF",
        }
    }
    assert mapping.credentials("idg-test") == {"Api-Key": "idg-test"}


@pytest.mark.parametrize("size", MODELS["ideogram-2"].sizes)
@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_the_ideogram_face_reads_the_gateways_call_as_the_request_it_came_from(size: str, n: int, response_format: str) -> None:
    request = GenerationRequest("a neon sign", "ideogram-2", n, size, "standard", None, response_format)
    (call,) = mapping.native_calls(request)
    assert (call.method, call.path) == ("POST", "/generate")
    assert call.json is not None
    # Ideogram only answers with URLs; for b64_json the gateway fetches them.
    assert mapping.request_from_native(call.json).generation == request._replace(response_format="url", index_period=IDEOGRAM_SEED_PERIOD)


def test_the_gateway_writes_an_ideogram_body_as_the_face_read_it() -> None:
    image_request = {"prompt": "x", "model": "V_2", "aspect_ratio": "ASPECT_3_1", "num_images": 3, "seed": 9, "magic_prompt_option": "OFF"}
    body = {"image_request": image_request}
    assert mapping.native_calls(mapping.request_from_native(body).generation)[0].json == body


def test_native_defaults() -> None:
    native = mapping.request_from_native({"image_request": {"prompt": "x"}})
    generation = native.generation
    assert (generation.size, generation.n, generation.first_index, native.style_type) == ("1024x1024", 1, 0, "GENERAL")


def _wire(answer: NativeAnswer) -> tuple[int, dict[str, str], bytes]:
    return answer.status, answer.headers, json.dumps(answer.body).encode()


def test_success_answer_maps_back_to_its_urls(make_result: Callable[[GenerationRequest], GenerationResult]) -> None:
    native = mapping.request_from_native({"image_request": {"prompt": "x", "num_images": 2, "seed": 5}})
    answer = mapping.success_answer(make_result(native.generation), native, ["http://a/1.png", "http://a/2.png"])
    images = mapping.images_from_native(*_wire(answer))
    assert [(image.url, image.seed, image.revised_prompt) for image in images] == [("http://a/1.png", 5, "x"), ("http://a/2.png", 6, "x")]


def test_an_unsafe_image_is_a_content_policy_error(make_result: Callable[[GenerationRequest], GenerationResult]) -> None:
    native = mapping.request_from_native({"image_request": {"prompt": "x"}})
    answer = mapping.success_answer(make_result(native.generation), native, ["http://a/1.png"], flagged=True)
    assert answer.status == 200 and answer.body["data"][0]["is_image_safe"] is False and answer.body["data"][0]["url"] is None
    with pytest.raises(ApiError) as caught:
        mapping.images_from_native(*_wire(answer))
    assert caught.value.type == errors.CONTENT_POLICY_VIOLATION


def test_errors_map_back_to_what_the_perf_caller_sees(full_rate: RateState) -> None:
    cases: list[tuple[ApiError, int, str, int | None]] = [
        (NativeInvalid("num_images", "image_request.num_images must be between 1 and 8; got 9"), 400, errors.INVALID_REQUEST, None),
        (ApiError(errors.CONTENT_POLICY_VIOLATION, "no"), 422, errors.CONTENT_POLICY_VIOLATION, None),
        (RateLimited(3, full_rate, "minute", real_clock=True), 429, errors.RATE_LIMIT_EXCEEDED, 3),
        (ApiError(errors.AUTHENTICATION_ERROR, "bad key"), 401, errors.UPSTREAM_ERROR, None),
    ]
    for engine_error, status, perf_type, retry_after in cases:
        answer = mapping.error_answer(engine_error)
        assert answer.status == status
        mapped = mapping.error_from_native(*_wire(answer))
        assert (mapped.type, mapped.retry_after) == (perf_type, retry_after)
    refused = mapping.error_from_native(*_wire(mapping.error_answer(cases[0][0])))
    assert refused.message == f"upstream ideogram refused the call (400): {cases[0][0].message}"
