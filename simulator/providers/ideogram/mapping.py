"""Ideogram /generate <-> engine: the one place that knows Ideogram's `image_request` envelope and answers.

Ideogram picks pixels by an aspect-ratio or resolution enum; the engine's size is the resolution it names
(`spec.models.IDEOGRAM_ASPECT_SIZES`, `spec.providers.IDEOGRAM_RESOLUTIONS`). Results are URLs only.
Face direction: `request_from_native`, `success_answer`, `error_answer`.
Gateway direction (`UPSTREAM`): `credentials`, `native_calls`, `images_from_native`, `error_from_native`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulator.engine.errors import ApiError, quoted
from simulator.engine.generate import CountNeverAdmitted, GenerationResult
from simulator.engine.jsontypes import json_type, type_name
from simulator.engine.request import GenerationRequest
from simulator.providers.protocol import (
    NativeAnswer,
    NativeCall,
    NativeImage,
    NativeInvalid,
    Upstream,
    body_text,
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
from spec.models import IDEOGRAM_ASPECT_SIZES, is_blank
from spec.providers import ideogram as p

PROVIDER = "ideogram"
PATH = "/generate"
MISSING_KEY_MESSAGE = "Missing Api-Key header: send 'Api-Key: <key>' (Authorization: Bearer is not accepted by Ideogram)"

_ASPECT_OF_SIZE = {size: ratio for ratio, size in IDEOGRAM_ASPECT_SIZES.items()}
_STATUS = {
    errors.INVALID_REQUEST: 400,
    errors.AUTHENTICATION_ERROR: 401,
    errors.CONTENT_POLICY_VIOLATION: 422,
}


@dataclass(frozen=True)
class IdeogramRequest:
    """A native Ideogram request: the engine's request plus what only the wire needs."""

    generation: GenerationRequest
    """Its `first_index` is the native seed (spec.providers, beside IDEOGRAM_MAX_SEED)."""
    style_type: str


def _field(request: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = request.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise NativeInvalid(name, f"image_request.{name} must be {type_name(kind, article=True)}, got {json_type(value, article=True)}")
    return value


def _enum(request: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = _field(request, name, str, default)
    if value is not None and value not in allowed:
        raise NativeInvalid(name, f"image_request.{name} must be one of {', '.join(allowed)}; got {quoted(value)}")
    return value


def _integer(request: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = _field(request, name, int, default)
    if value is not None and not low <= value <= high:
        raise NativeInvalid(name, f"image_request.{name} must be between {low} and {high}; got {quoted(value)}")
    return value


def request_from_native(body: Any) -> IdeogramRequest:
    """An Ideogram `{"image_request": {...}}` body as the engine's request. Unknown fields are ignored."""
    request = body.get("image_request") if isinstance(body, dict) else None
    if not isinstance(request, dict):
        raise NativeInvalid("image_request", 'body must be {"image_request": {...}} with an object inside')
    prompt = _field(request, "prompt", str)
    if prompt is None or is_blank(prompt):
        raise NativeInvalid("prompt", "image_request.prompt is required and must not be blank")
    if len(prompt) > p.IDEOGRAM_MAX_PROMPT_CHARS:
        raise NativeInvalid("prompt", f"image_request.prompt must be at most {p.IDEOGRAM_MAX_PROMPT_CHARS} characters; got {len(prompt)}")
    model = _enum(request, "model", p.IDEOGRAM_MODELS, p.IDEOGRAM_DEFAULT_MODEL)
    aspect_ratio = _enum(request, "aspect_ratio", p.IDEOGRAM_ASPECT_RATIOS, None)
    resolution = _enum(request, "resolution", tuple(p.IDEOGRAM_RESOLUTIONS), None)
    style_type = _enum(request, "style_type", p.IDEOGRAM_STYLE_TYPES, None)
    if aspect_ratio and resolution:
        raise NativeInvalid("resolution", "image_request.aspect_ratio and image_request.resolution cannot be used together")
    for name, value in (("resolution", resolution), ("style_type", style_type)):
        if value and model not in p.IDEOGRAM_V2_MODELS:
            raise NativeInvalid(name, f"image_request.{name} is only supported for models {', '.join(p.IDEOGRAM_V2_MODELS)}")
    _enum(request, "magic_prompt_option", p.IDEOGRAM_MAGIC_PROMPT_OPTIONS, None)
    negative = _field(request, "negative_prompt", str)
    if negative is not None and len(negative) > p.IDEOGRAM_MAX_PROMPT_CHARS:
        raise NativeInvalid("negative_prompt", f"image_request.negative_prompt must be at most {p.IDEOGRAM_MAX_PROMPT_CHARS} characters")
    _field(request, "color_palette", dict)
    seed = _integer(request, "seed", 0, p.IDEOGRAM_MAX_SEED, None)
    num_images = _integer(request, "num_images", 1, p.IDEOGRAM_MAX_NUM_IMAGES, p.IDEOGRAM_DEFAULT_NUM_IMAGES)
    assert num_images is not None
    size = p.IDEOGRAM_RESOLUTIONS[resolution] if resolution else IDEOGRAM_ASPECT_SIZES[aspect_ratio or p.IDEOGRAM_DEFAULT_ASPECT_RATIO]
    reported_style = style_type if style_type and style_type != "AUTO" else p.IDEOGRAM_REPORTED_AUTO_STYLE
    generation = GenerationRequest(
        prompt, p.IDEOGRAM_PERF_MODEL, num_images, size, "standard", None, "url", first_index=seed or 0, index_period=p.IDEOGRAM_SEED_PERIOD
    )
    return IdeogramRequest(generation, reported_style)


def iso_created(created: int) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="microseconds")


def success_answer(result: GenerationResult, native: IdeogramRequest, urls: list[str], flagged: bool = False) -> NativeAnswer:
    """Ideogram's answer: ISO `created`, and per image its URL, resolution, seed, style and the prompt used.

    Image i reports its render index, first_index + i wrapped into Ideogram's seed range (spec.providers, beside
    IDEOGRAM_MAX_SEED): the seed that reproduces it. Images output moderation flagged are
    reported as Ideogram does: `is_image_safe: false` and no URL (still a 200).
    """
    data = []
    for image, url in zip(result.images, urls, strict=True):
        data.append(
            {
                "prompt": result.revised_prompt,
                "resolution": result.request.size,
                "is_image_safe": not flagged,
                "seed": image.render_key.image_index,
                "style_type": native.style_type,
                "url": None if flagged else url,
            }
        )
    return NativeAnswer(200, {"created": iso_created(result.created), "data": data}, {"x-request-id": result.request_id})


def error_answer(exc: ApiError) -> NativeAnswer:
    """An engine error as Ideogram's `{"error": "..."}` body (422 for the safety check; a count no window fits names
    `num_images`, as the face's other refusals name their field)."""
    if exc.type == errors.CONTENT_POLICY_VIOLATION:
        message = native_message(exc, p.IDEOGRAM_SAFETY_MESSAGE)
    elif isinstance(exc, CountNeverAdmitted):
        message = exc.naming(f"image_request.num_images of {exc.n}")
    else:
        message = exc.message
    headers = {"retry-after": str(exc.retry_after)} if exc.retry_after is not None else {}
    return NativeAnswer(native_status(exc, _STATUS.get(exc.type, exc.status)), {"error": message}, headers)


def native_calls(request: GenerationRequest) -> list[NativeCall]:
    """The one Ideogram call a gateway makes: V_2, the size's aspect ratio, n images from seed first_index (so they are
    the Perf request's images in order), magic prompt off (prompt verbatim)."""
    if request.model != p.IDEOGRAM_PERF_MODEL:
        raise ValueError(f"{request.model} is not an Ideogram model")
    image_request = {
        "prompt": request.prompt,
        "model": request.spec.native_ids[PROVIDER],
        "aspect_ratio": _ASPECT_OF_SIZE[request.size],
        "num_images": request.n,
        "seed": request.first_index,
        "magic_prompt_option": "OFF",
    }
    return [NativeCall("POST", PATH, {"Accept": "application/json"}, json={"image_request": image_request})]


def credentials(key: str) -> dict[str, str]:
    """The headers that carry a key to the provider: Ideogram's own `Api-Key` header (a bearer token is refused)."""
    return {"Api-Key": key}


def error_from_native(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    body = json_or_none(content)
    detail = body.get("error") if isinstance(body, dict) else None
    said = said_text(detail) or body_text(content)
    if status == 422:
        return ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    if status == 400:
        return upstream_refused(PROVIDER, said)
    if status == 429:
        return upstream_rate_limited(PROVIDER, wait_seconds(*header_waits(headers)), said)
    return upstream_error(PROVIDER, said, status, headers)


def images_from_native(status: int, headers: Mapping[str, str], content: bytes) -> list[NativeImage]:
    """The images of an Ideogram answer, or the ApiError it stands for (raised).

    Decision: an image Ideogram marks unsafe (`is_image_safe: false`, no URL) fails the whole Perf request as a
    content-policy violation, since the Perf API returns exactly n images or an error.
    """
    if status != 200:
        raise error_from_native(status, headers, content)
    body = json_or_none(content)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise upstream_error(PROVIDER, "answer has no data list", status)
    if any(item.get("is_image_safe") is False or not item.get("url") for item in data):
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    return [NativeImage(url=item["url"], revised_prompt=item.get("prompt"), seed=item.get("seed")) for item in data]


UPSTREAM = Upstream(PROVIDER, native_calls, credentials, images_from_native)
