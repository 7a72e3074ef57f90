"""The one place that translates between Imagen 3's `:predict` wire format and the engine, in both directions.

- native -> engine: `{"instances": [{"prompt"}], "parameters": {...}}` becomes an `ImagenCall` (a
  `GenerationRequest` plus the answer's mime type and whether to explain filtered images), or `InvalidArgument`.
- engine -> native: a Perf `GenerationRequest` becomes a predict body (the gateway's direction).
- native results -> engine terms: predictions become PNG bytes; RAI outcomes and HTTP errors become `ApiError`s
  in Perf terms.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from spec import errors
from spec.models import IMAGEN_ASPECT_SIZES, MODELS
from spec.providers import google


class InvalidArgument(Exception):
    """A 400 INVALID_ARGUMENT with this message."""


@dataclass(frozen=True)
class ImagenCall:
    request: GenerationRequest
    mime_type: str
    include_rai_reason: bool


def _choice(parameters: dict[str, Any], name: str, allowed: tuple[str, ...] | list[str], default: str | None) -> str | None:
    value = parameters.get(name, default)
    if value is not None and value not in allowed:
        raise InvalidArgument(f"Invalid value for parameters.{name}: {value!r}. Supported values: {', '.join(allowed)}.")
    return value


def call_from_native(model_id: str, body: Any) -> ImagenCall:
    """A predict body for `model_id` (already known to be an Imagen 3 id) as the engine's request.

    Parameters that do not change the picture here (personGeneration, safetySetting, language, seed, addWatermark,
    enhancePrompt, compressionQuality, ...) are checked where their values are enumerated, then ignored.
    """
    model = MODELS[google.IMAGEN_MODELS[model_id]]
    if not isinstance(body, dict):
        raise InvalidArgument("Invalid JSON payload received. Expected an object with 'instances' and 'parameters'.")
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise InvalidArgument("instances must be a list holding exactly one instance object with a prompt.")
    prompt = instances[0].get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidArgument("instances[0].prompt is required and must be a non-empty string.")
    if len(prompt) > model.max_prompt_chars:
        raise InvalidArgument(f"The prompt is too long: {len(prompt)} characters; at most {model.max_prompt_chars} are accepted.")
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidArgument("parameters must be an object.")

    count = parameters.get("sampleCount", google.IMAGEN_DEFAULT_SAMPLE_COUNT)
    lo, hi = google.IMAGEN_SAMPLE_COUNT
    if (
        isinstance(count, bool)
        or not isinstance(count, (int, float))
        or (isinstance(count, float) and not count.is_integer())
        or not lo <= count <= hi
    ):
        raise InvalidArgument(f"parameters.sampleCount must be an integer from {lo} to {hi}, got {count!r}.")
    aspect = _choice(parameters, "aspectRatio", list(IMAGEN_ASPECT_SIZES), google.IMAGEN_DEFAULT_ASPECT_RATIO)
    _choice(parameters, "personGeneration", google.IMAGEN_PERSON_GENERATION, None)
    _choice(parameters, "safetySetting", google.IMAGEN_SAFETY_SETTINGS, None)
    include_reason = parameters.get("includeRaiReason", False)
    if not isinstance(include_reason, bool):
        raise InvalidArgument(f"parameters.includeRaiReason must be a boolean, got {include_reason!r}.")
    options = parameters.get("outputOptions", {})
    if not isinstance(options, dict):
        raise InvalidArgument("parameters.outputOptions must be an object.")
    mime_type = _choice(options, "mimeType", google.IMAGEN_MIME_TYPES, google.IMAGEN_DEFAULT_MIME_TYPE)
    assert aspect is not None and mime_type is not None
    request = GenerationRequest(prompt, model.name, int(count), IMAGEN_ASPECT_SIZES[aspect], "standard", None, "b64_json")
    return ImagenCall(request, mime_type, include_reason)


def native_request(request: GenerationRequest) -> tuple[str, dict[str, Any]]:
    """A Perf request as Imagen's predict call: the model id and the body (PNG, reasons for filtered images)."""
    aspect = next(ratio for ratio, size in IMAGEN_ASPECT_SIZES.items() if size == request.size)
    body = {
        "instances": [{"prompt": request.prompt}],
        "parameters": {
            "sampleCount": request.n,
            "aspectRatio": aspect,
            "includeRaiReason": True,
            "outputOptions": {"mimeType": "image/png"},
        },
    }
    return MODELS[request.model].native_ids["google"], body


def images_from_predict(body: Any, expected: int) -> list[bytes]:
    """The `expected` images of a predict answer. Google omits filtered images, and a Perf answer has exactly n
    images (priced as n), so an answer short of images is a content-policy violation, as Stability and Ideogram
    outputs flagged in part are."""
    predictions = body.get("predictions", []) if isinstance(body, dict) else None
    if not isinstance(predictions, list):
        raise ApiError(errors.UPSTREAM_ERROR, "upstream google answered predict without a predictions list")
    images: list[bytes] = []
    for prediction in predictions:
        encoded = prediction.get("bytesBase64Encoded") if isinstance(prediction, dict) else None
        if encoded is None:
            continue
        try:
            images.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, TypeError, ValueError):
            raise ApiError(errors.UPSTREAM_ERROR, "upstream google sent an image that is not valid base64") from None
    if len(images) > expected:
        raise ApiError(errors.UPSTREAM_ERROR, f"upstream google sent {len(images)} images for sampleCount {expected}")
    if len(images) < expected:
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    return images


def _retry_after(error: dict[str, Any], header: str | None) -> int:
    for detail in error.get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = re.fullmatch(r"(\d+)(?:\.\d+)?s", delay) if isinstance(delay, str) else None
        if match:
            return max(1, int(match.group(1)))
    return int(header) if header and header.isdigit() else 1


def perf_error(status: int, body: Any, retry_after_header: str | None) -> ApiError:
    """An HTTP error answer from Google, in Perf terms: a blocked prompt (400 with a support code) is a
    content-policy violation, 429 a rate limit, 503 an outage, anything else the upstream's failure."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    if status == 400 and "Support codes" in message:
        return ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    if status == 429:
        return ApiError(errors.RATE_LIMIT_EXCEEDED, errors.RATE_LIMIT_MESSAGE, None, _retry_after(error, retry_after_header))
    said = f": {message}" if message else ""
    if status == 503:
        return ApiError(errors.SERVICE_UNAVAILABLE, f"upstream google is unavailable (503){said}")
    return ApiError(errors.UPSTREAM_ERROR, f"upstream google answered {status} {error.get('status', '')}{said}".rstrip())
