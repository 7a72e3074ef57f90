"""Stability AI SD3 <-> engine: the one place that knows the v2beta sd3 endpoint's form fields and answers.

Stability renders one image per call from an aspect ratio (not pixels); the engine's size is the ~1 MP size of
that ratio (`spec.models.STABILITY_ASPECT_SIZES`), so a Perf request for n images is n native calls.
Face direction: `request_from_native`, `success_json`, `success_headers`, `error_answer`.
Gateway direction (`UPSTREAM`): `credentials`, `native_calls`, `images_from_native`, `error_from_native`.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.engine.errors import ApiError, quoted
from simulator.engine.generate import GenerationResult
from simulator.engine.request import GenerationRequest
from simulator.http import whole_number
from simulator.providers.protocol import (
    NativeAnswer,
    NativeCall,
    NativeImage,
    NativeInvalid,
    Upstream,
    body_text,
    header,
    header_waits,
    json_or_none,
    native_message,
    native_status,
    said_text,
    upstream_error,
    upstream_rate_limited,
    upstream_refused,
    wait_seconds,
)
from spec import errors
from spec.models import STABILITY_ASPECT_SIZES, is_blank
from spec.providers import stability as p

PROVIDER = "stability"
PATH = "/v2beta/stable-image/generate/sd3"
JSON_MEDIA_TYPE = "application/json"
MISSING_KEY_MESSAGE = "authorization: missing, expected 'Authorization: Bearer <key>'"

_ASPECT_OF_SIZE = {size: ratio for ratio, size in STABILITY_ASPECT_SIZES.items()}
_ERROR_NAMES = {
    errors.INVALID_REQUEST: (400, p.STABILITY_ERROR_BAD_REQUEST),
    errors.AUTHENTICATION_ERROR: (401, p.STABILITY_ERROR_UNAUTHORIZED),
    errors.CONTENT_POLICY_VIOLATION: (403, p.STABILITY_ERROR_CONTENT_MODERATION),
    errors.NOT_FOUND: (404, p.STABILITY_ERROR_NOT_FOUND),
    errors.METHOD_NOT_ALLOWED: (405, p.STABILITY_ERROR_METHOD_NOT_ALLOWED),
    errors.PAYLOAD_TOO_LARGE: (413, p.STABILITY_ERROR_PAYLOAD_TOO_LARGE),
    errors.RATE_LIMIT_EXCEEDED: (429, p.STABILITY_ERROR_RATE_LIMIT),
}


@dataclass(frozen=True)
class StabilityRequest:
    """A native sd3 request: the engine's request plus what only the wire needs."""

    generation: GenerationRequest
    """Its `first_index` is the native seed (spec.providers, beside STABILITY_MAX_SEED)."""
    output_format: str
    as_json: bool


def _invalid(field: str, message: str) -> NativeInvalid:
    return NativeInvalid(field, f"{field}: {message}")


def _text(form: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(name, "must be a text field, not a file")
    if len(value) > limit:
        raise _invalid(name, f"must be at most {limit} characters, got {len(value)}")
    return value


def _choice(form: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(form, name, p.STABILITY_MAX_CHOICE_CHARS)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _invalid(name, f"must be one of {', '.join(allowed)}; got {quoted(value)}")
    return value


def _number(form: Mapping[str, Any], name: str, low: float, high: float, integer: bool) -> float | None:
    value = _text(form, name, p.STABILITY_MAX_NUMBER_CHARS)
    if value is None or value == "":
        return None
    number = _parsed(value, integer)
    if number is None:
        raise _invalid(name, f"must be {'an integer' if integer else 'a number'}; got {quoted(value)}")
    if not (math.isfinite(number) and low <= number <= high):
        raise _invalid(name, f"must be between {low:.12g} and {high:.12g}; got {value}")
    return number


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as a form field writes it: ASCII digits only (Python's `float` and `int` also read "1_0", "٣" and "１")."""


def _parsed(value: str, integer: bool) -> float | None:
    """`value` as a number, or None when it is not one as a form field writes it. An integer is ASCII digits after an
    optional `-`, however many (at most STABILITY_MAX_NUMBER_CHARS, so `int` reads it at once): one too long for
    `whole_number` (18 digits) was "must be an integer", where its trouble is its range."""
    if not integer:
        return float(value) if _DECIMAL.fullmatch(value) else None
    digits = value.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return None
    magnitude = int(digits)
    return -magnitude if value.startswith("-") else magnitude


DEFAULT_ACCEPT = "image/*"
"""What Stability answers when Accept is absent or empty: the image bytes."""
_Q_VALUE = re.compile(r"0(?:\.[0-9]*)?|1(?:\.0*)?")
"""A quality value from 0 to 1, with any number of decimals. Decision: RFC 9110 (12.4.2) writes at most three, but
`q=1.0000` and `q=0.55555` are read too, as lenient servers read them: extra digits leave no doubt what was meant."""


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """Each media range of an Accept header with its quality (1 unless a `q` says otherwise)."""
    ranges = []
    for part in accept.split(","):
        media, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                if not _Q_VALUE.fullmatch(value.strip()):
                    raise _invalid("accept", f"q must be a number from 0 to 1, such as q=0.5; got {quoted(accept)}")
                quality = float(value)
        if media.strip():
            ranges.append((media.strip().lower(), quality))
    return ranges


def _preference(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, bool]:
    """The quality the most specific range matching `media_type` gives it (RFC 9110 12.5.1), 0 when none does; and
    whether the client named the type (itself or its type/*), not only `*/*`."""
    matching = {media_type: 2, media_type.split("/")[0] + "/*": 1, "*/*": 0}
    given = [(matching[media], quality) for media, quality in ranges if media in matching]
    if not given:
        return 0.0, False
    specificity, quality = max(given)
    return quality, specificity > 0


def wants_json(accept: str | None, output_format: str) -> bool:
    """Whether the answer is base64 JSON rather than the image bytes, by the qualities Accept gives each.

    Decision: Stability documents `image/*` (the default) and `application/json`; the rest of RFC 9110's
    negotiation holds too: `q=0` refuses a type, the higher q wins (`image/*;q=0.1, application/json` is JSON); at
    equal q a type the client named (itself, or `image/*`) wins over one only `*/*` allows (`application/json, */*`,
    axios's default, is JSON), and a tie beyond that is the documented default (the bytes). A specific image type
    counts only if it is the one the form's
    `output_format` makes (`image/jpeg` for png output matches neither answer). Accept chooses between the two
    answers, never the image's format. An Accept that neither answer meets is a 400 naming it, as one naming no
    image or JSON type was before (HTTP's 406 is not among Stability's documented statuses)."""
    image_type = f"image/{output_format}"
    ranges = _media_ranges(accept or DEFAULT_ACCEPT) or _media_ranges(DEFAULT_ACCEPT)
    image, as_json = _preference(ranges, image_type), _preference(ranges, JSON_MEDIA_TYPE)
    if image[0] == as_json[0] == 0:
        allowed = f"{image_type} (output_format {output_format}; image/* allows any) or {JSON_MEDIA_TYPE}"
        raise _invalid("accept", f"must allow {allowed}; got {quoted(accept)}")
    return as_json > image


def request_from_native(form: Mapping[str, Any], accept: str | None) -> StabilityRequest:
    """An sd3 form (text fields; file parts other than `image` are ignored) as the engine's request."""
    output_format = _choice(form, "output_format", p.STABILITY_OUTPUT_FORMATS, p.STABILITY_DEFAULT_OUTPUT_FORMAT)
    as_json = wants_json(accept, output_format)
    prompt = _text(form, "prompt", p.STABILITY_MAX_PROMPT_CHARS)
    if prompt is None or is_blank(prompt):
        raise _invalid("prompt", "is required and must contain at least one non-whitespace character")
    mode = _choice(form, "mode", p.STABILITY_MODES, p.STABILITY_EMULATED_MODE)
    if mode != p.STABILITY_EMULATED_MODE:
        raise _invalid("mode", f"{mode} is not emulated by perf-image-sim; use {p.STABILITY_EMULATED_MODE}")
    _choice(form, "model", p.STABILITY_MODELS, p.STABILITY_DEFAULT_MODEL)
    aspect_ratio = _choice(form, "aspect_ratio", p.STABILITY_ASPECT_RATIOS, p.STABILITY_DEFAULT_ASPECT_RATIO)
    _text(form, "negative_prompt", p.STABILITY_MAX_PROMPT_CHARS)
    seed = _number(form, "seed", 0, p.STABILITY_MAX_SEED, integer=True)
    _number(form, "cfg_scale", *p.STABILITY_CFG_SCALE_RANGE, integer=False)
    size = STABILITY_ASPECT_SIZES[aspect_ratio]
    generation = GenerationRequest(
        prompt, p.STABILITY_PERF_MODEL, p.STABILITY_IMAGES_PER_CALL, size, "standard", None, "b64_json", first_index=int(seed or 0)
    )
    return StabilityRequest(generation, output_format, as_json)


def _finish_reason(filtered: bool) -> str:
    return p.STABILITY_FINISH_FILTERED if filtered else p.STABILITY_FINISH_SUCCESS


def success_headers(result: GenerationResult, output_format: str, filtered: bool = False) -> dict[str, str]:
    """Headers of an image-bytes answer; the seed reported is the one that reproduces the picture."""
    return {
        "content-type": f"image/{output_format}",
        "finish-reason": _finish_reason(filtered),
        "seed": str(result.request.first_index),
        "x-request-id": result.request_id,
    }


def success_json(result: GenerationResult, image_b64: str, output_format: str, filtered: bool = False) -> NativeAnswer:
    """A JSON answer. A filtered output is still a 200, with `finish_reason: CONTENT_FILTERED` and a blurred image."""
    body = {"image": image_b64, "finish_reason": _finish_reason(filtered), "seed": result.request.first_index}
    return NativeAnswer(200, body, {"x-request-id": result.request_id, "content-type": f"{JSON_MEDIA_TYPE}; type=image/{output_format}"})


def error_answer(exc: ApiError, error_id: str) -> NativeAnswer:
    """An engine error as Stability's `{"id", "name", "errors"}` body, `error_id` its id and x-request-id."""
    status, name = _ERROR_NAMES.get(exc.type, (exc.status, exc.type))  # its own word where it has one, else ours
    status = native_status(exc, status)
    message = native_message(exc, p.STABILITY_CONTENT_MODERATION_MESSAGE) if exc.type == errors.CONTENT_POLICY_VIOLATION else exc.message
    headers = {"x-request-id": error_id}
    if exc.retry_after is not None:
        headers["retry-after"] = str(exc.retry_after)
    return NativeAnswer(status, {"id": error_id, "name": name, "errors": [message]}, headers)


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def native_calls(request: GenerationRequest) -> list[NativeCall]:
    """The sd3 calls a gateway makes for a Perf request: one per image, image k asked for with seed k (so the
    answers are the Perf request's images in order), base64 JSON back, png."""
    if request.model != p.STABILITY_PERF_MODEL:
        raise ValueError(f"{request.model} is not served by Stability's sd3 endpoint")
    if not _utf8_encodable(request.prompt):
        message = "prompt holds unpaired surrogates, which Stability's multipart form (UTF-8 text) cannot carry"
        raise ApiError(errors.INVALID_REQUEST, message, "prompt")
    form = {
        "prompt": request.prompt,
        "model": request.spec.native_ids[PROVIDER],
        "aspect_ratio": _ASPECT_OF_SIZE[request.size],
        "output_format": "png",
    }
    return [
        NativeCall("POST", PATH, {"Accept": JSON_MEDIA_TYPE}, form={**form, "seed": str(request.first_index + k)}) for k in range(request.n)
    ]


def credentials(key: str) -> dict[str, str]:
    """The headers that carry a key on a call to the provider: Stability takes the key as a bearer token."""
    return {"Authorization": f"Bearer {key}"}


def error_from_native(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    body = json_or_none(content)
    body = body if isinstance(body, dict) else {}
    listed = body.get("errors")
    said = "; ".join(filter(None, map(said_text, listed))) if isinstance(listed, list) else ""
    said = said or body_text(content)
    if status == 403 and body.get("name") == p.STABILITY_ERROR_CONTENT_MODERATION:
        return ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    if status == 400:
        field = said.split(":", 1)[0] if ":" in said else None  # Stability names the field first: "prompt: ..."
        return upstream_refused(PROVIDER, said, field)
    if status == 429:
        retry_after = wait_seconds(*header_waits(headers), default=p.STABILITY_DEFAULT_RETRY_AFTER_SECONDS)
        return upstream_rate_limited(PROVIDER, retry_after, said)
    return upstream_error(PROVIDER, said, status, headers)


def images_from_native(status: int, headers: Mapping[str, str], content: bytes) -> list[NativeImage]:
    """The one image of an sd3 answer (bytes or JSON), or the ApiError it stands for (raised).

    An output the provider filtered (finish reason CONTENT_FILTERED, still a 200) is a content-policy error.
    """
    if status != 200:
        raise error_from_native(status, headers, content)
    content_type = (header(headers, "content-type") or "").lower()
    if content_type.startswith("image/"):
        finish, seed, image = header(headers, "finish-reason"), header(headers, "seed"), base64.b64encode(content).decode("ascii")
    else:
        body = json_or_none(content)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            raise upstream_error(PROVIDER, "answer is neither an image nor JSON with an image", status)
        finish, seed, image = body.get("finish_reason"), body.get("seed"), body["image"]
    if finish != p.STABILITY_FINISH_SUCCESS:
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    return [NativeImage(b64=image, seed=whole_number(str(seed)))]


UPSTREAM = Upstream(PROVIDER, native_calls, credentials, images_from_native)
