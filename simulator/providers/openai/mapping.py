"""OpenAI Images <-> engine: the one place that knows how a dall-e request and answer look on OpenAI's wire.

Face direction: `request_from_native` (OpenAI body -> GenerationRequest, with OpenAI's rules and error codes),
`success_answer` and `error_answer` (engine result or error -> OpenAI body and headers).
Gateway direction (`UPSTREAM`): `credentials`, `native_calls` (GenerationRequest -> the OpenAI call), `images_from_native` and
`error_from_native` (OpenAI answer -> images, or an ApiError in Perf terms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.engine.errors import ApiError, cut, quoted
from simulator.engine.generate import GenerationResult, RateLimited
from simulator.engine.jsontypes import json_type
from simulator.engine.options import OptionError, request_with_options
from simulator.engine.request import GenerationRequest
from simulator.keys import KEY_HINT
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
from spec.models import MODELS
from spec.providers import openai as p

PROVIDER = "openai"
PATH = "/images/generations"
OPENAI_VERSION = "2020-10-01"
OPENAI_ORGANIZATION = "org-perf-image-sim"
"""What `openai-organization` says on every answer, as OpenAI's do (the organization the key belongs to)."""
MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
    f"(i.e. Authorization: Bearer YOUR_KEY). {KEY_HINT}"
)
"""OpenAI's own first sentences, then the keys this simulator takes, as every face's refusal of a key names them."""


def _string(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise NativeInvalid(
            name,
            f"Invalid type for '{name}': expected a string, but got {json_type(value, article=True)} instead.",
            p.OPENAI_CODE_INVALID_TYPE,
        )
    return value


def _integer(body: dict[str, Any]) -> int | None:
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int)):
        raise NativeInvalid(
            "n", f"Invalid type for 'n': expected an integer, but got {json_type(n, article=True)} instead.", p.OPENAI_CODE_INVALID_TYPE
        )
    return n


def _worded(exc: OptionError) -> NativeInvalid:
    """A broken option rule in OpenAI's words."""
    param, value, model, allowed = exc.param, exc.value, exc.model.name, [str(item) for item in exc.allowed]
    code = p.OPENAI_CODE_INVALID_VALUE
    if exc.problem == "not_for_model":
        message = f"Invalid '{param}': {param} is only supported for {' and '.join(allowed)}, not {model}."
    elif param == "n":
        message = f"Invalid 'n': n for {model} must be {exc.model.valid_n}, but got {quoted(value)}."
    elif param == "size":
        message, code = f"The size is not supported by this model. {model} supports: {', '.join(allowed)}.", p.OPENAI_CODE_INVALID_SIZE
    else:
        message = f"Invalid value for '{param}': {quoted(value)} is not supported by {model}. Supported values are: {', '.join(allowed)}."
    return NativeInvalid(param, message, code)


def request_from_native(body: Any) -> GenerationRequest:
    """An OpenAI Images request as the engine's request, or NativeInvalid saying what OpenAI would say."""
    if not isinstance(body, dict):
        raise NativeInvalid(None, f"Invalid type for request body: expected an object, but got {json_type(body, article=True)} instead.")
    for name in body:
        if name in p.OPENAI_GPT_IMAGE_FIELDS:
            raise NativeInvalid(
                name,
                f"'{name}' is only supported for gpt-image models, which perf-image-sim does not emulate; use dall-e-2 or dall-e-3.",
                p.OPENAI_CODE_UNKNOWN_PARAMETER,
            )
        if name not in p.OPENAI_KNOWN_FIELDS:
            raise NativeInvalid(None, f"Unrecognized request argument supplied: {cut(name)}")

    prompt = _string(body, "prompt", None)
    if prompt is None:
        raise NativeInvalid("prompt", "Missing required parameter: 'prompt'.", p.OPENAI_CODE_MISSING)
    if not prompt:
        message = "Invalid 'prompt': empty string. Expected a string with minimum length 1."
        raise NativeInvalid("prompt", message, p.OPENAI_CODE_INVALID_VALUE)

    model = _string(body, "model", p.OPENAI_DEFAULT_MODEL)
    assert model is not None
    if model not in p.OPENAI_MODELS:
        raise NativeInvalid(
            "model",
            f"Invalid value for 'model' = {cut(model)}: perf-image-sim emulates {' and '.join(p.OPENAI_MODELS)} on this endpoint.",
            p.OPENAI_CODE_INVALID_VALUE,
        )
    spec = MODELS[model]
    limit = p.OPENAI_PROMPT_LIMITS[model]
    if len(prompt) > limit:
        raise NativeInvalid(
            "prompt",
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            p.OPENAI_CODE_STRING_TOO_LONG,
        )

    try:
        request = request_with_options(prompt, spec, body, _string, _integer)
    except OptionError as exc:
        raise _worded(exc) from None
    _string(body, "user")
    return request


def _duration(seconds: int) -> str:
    """OpenAI's reset format: 1s, 6m0s, 1h2m3s."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def success_answer(result: GenerationResult, items: list[str]) -> NativeAnswer:
    """The OpenAI body for a result; `items` are the images' b64 strings or URLs, as response_format asks."""
    request = result.request
    key = "b64_json" if request.response_format == "b64_json" else "url"
    data: list[dict[str, str]] = []
    for item in items:
        entry = {key: item}
        if request.spec.rewrites_prompt:
            entry["revised_prompt"] = result.revised_prompt
        data.append(entry)
    minute = result.rate.minute
    headers = {
        "x-request-id": result.request_id,
        "openai-processing-ms": str(result.latency_ms),
        "openai-version": OPENAI_VERSION,
        "openai-organization": OPENAI_ORGANIZATION,
        p.OPENAI_HEADER_LIMIT: str(minute.limit),
        p.OPENAI_HEADER_REMAINING: str(minute.remaining),
        p.OPENAI_HEADER_RESET: _duration(minute.reset_seconds),
    }
    return NativeAnswer(200, {"created": result.created, "data": data}, headers)


def _envelope(message: str, error_type: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_answer(exc: ApiError, error_id: str, n: int | None = None) -> NativeAnswer:
    """An engine error in OpenAI's envelope, its x-request-id `req_<error_id>` (errors carry no engine id).

    Decision: a 429 always says `x-should-retry` ("true" or "false", as `exc.should_retry`): the openai SDK obeys it
    over its own rules, so a 429 no retry can pass reaches the caller at once."""
    headers = {"x-request-id": f"req_{error_id}", "openai-version": OPENAI_VERSION, "openai-organization": OPENAI_ORGANIZATION}
    if isinstance(exc, RateLimited):
        minute = exc.rate.minute
        window = exc.window
        limit = minute.limit if window == "minute" else exc.rate.day.limit
        used = minute.used if window == "minute" else exc.rate.day.used
        retry = exc.retry_after or 1
        message = (
            f"Rate limit exceeded for images per {window} in organization {OPENAI_ORGANIZATION}. Limit: {limit}/1{window[0]}. "
            f"Current: {used + (n or 1)}/1{window[0]}. Please try again in {retry}s. "
            "(perf-image-sim: limits come from the key's tier or the keys file's [providers.openai] section.)"
        )
        headers.update({"retry-after": str(retry), "retry-after-ms": str(retry * 1000)})
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
        headers.update({p.OPENAI_HEADER_LIMIT: str(minute.limit), p.OPENAI_HEADER_REMAINING: str(minute.remaining)})
        headers[p.OPENAI_HEADER_RESET] = _duration(minute.reset_seconds)
        return NativeAnswer(429, _envelope(message, p.OPENAI_ERROR_RATE_LIMIT_TYPE, None, p.OPENAI_CODE_RATE_LIMIT), headers)
    if exc.status == 429:  # an injected fault: no windows to report, only how long to wait
        retry = exc.retry_after or 1
        headers.update({"retry-after": str(retry), "retry-after-ms": str(retry * 1000)})
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
        return NativeAnswer(429, _envelope(exc.message, p.OPENAI_ERROR_RATE_LIMIT_TYPE, None, p.OPENAI_CODE_RATE_LIMIT), headers)
    if exc.retry_after is not None:  # an injected status asking for a wait (a 503's): told as the 429's is
        headers.update({"retry-after": str(exc.retry_after), "retry-after-ms": str(exc.retry_after * 1000)})
        if not exc.should_retry:  # as the Perf face: the SDK raises rather than sleep
            headers["x-should-retry"] = "false"
    if exc.type == errors.CONTENT_POLICY_VIOLATION:
        message = native_message(exc, p.OPENAI_CONTENT_POLICY_MESSAGE)
        body = _envelope(message, p.OPENAI_ERROR_INVALID_REQUEST, None, p.OPENAI_CODE_CONTENT_POLICY)
        return NativeAnswer(native_status(exc, 400), body, headers)
    if exc.type == errors.AUTHENTICATION_ERROR:
        code = None if exc.message == MISSING_KEY_MESSAGE else p.OPENAI_CODE_INVALID_API_KEY
        return NativeAnswer(native_status(exc, 401), _envelope(exc.message, p.OPENAI_ERROR_INVALID_REQUEST, None, code), headers)
    if exc.status < 500:
        code = exc.code if isinstance(exc, NativeInvalid) else None
        return NativeAnswer(exc.status, _envelope(exc.message, p.OPENAI_ERROR_INVALID_REQUEST, exc.param, code), headers)
    return NativeAnswer(exc.status, _envelope(exc.message, p.OPENAI_ERROR_SERVER, None, None), headers)


def native_calls(request: GenerationRequest) -> list[NativeCall]:
    """The one OpenAI call a gateway makes for a Perf request (dall-e only; quality and style go to dall-e-3 only)."""
    if request.spec.provider != PROVIDER:
        raise ValueError(f"{request.model} is not an OpenAI model")
    body: dict[str, Any] = {
        "model": request.spec.native_ids[PROVIDER],
        "prompt": request.prompt,
        "n": request.n,
        "size": request.size,
        "response_format": request.response_format,
    }
    if request.spec.styles:
        body.update(quality=request.quality, style=request.style)
    return [NativeCall("POST", PATH, {"Accept": "application/json"}, json=body)]


def credentials(key: str) -> dict[str, str]:
    """The headers that carry a key on a call to the provider: OpenAI takes the key as a bearer token."""
    return {"Authorization": f"Bearer {key}"}


def error_from_native(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    """An OpenAI error answer in Perf terms: what the caller can fix stays a 400/429; the rest is a 502.

    Decision: a 429 for `insufficient_quota` (in `code` or `type`: the provider account is out of credit) is a 502
    upstream_error naming it, not a 429. A 429 tells the caller to wait `retry_after` and send the same request again
    (the Perf document's only promise for it), and no wait restores a quota that billing must: every caller would
    retry, forever, against an account that stays empty. A 502 is the Perf API's "the upstream failed in a way the
    caller cannot fix", which is what the operator must hear."""
    body = json_or_none(content)
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    said = said_text(error.get("message")) or body_text(content)
    if status == 400 and error.get("code") == p.OPENAI_CODE_CONTENT_POLICY:
        return ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    if status == 400:
        param = error.get("param")
        return upstream_refused(PROVIDER, said, param if isinstance(param, str) else None)
    if status == 429 and p.OPENAI_CODE_INSUFFICIENT_QUOTA in (error.get("code"), error.get("type")):
        quota = f"{p.OPENAI_CODE_INSUFFICIENT_QUOTA}, the provider account's quota or billing, which no wait restores"
        return upstream_error(PROVIDER, f"{quota}: {said}" if said else quota, status)
    if status == 429:
        return upstream_rate_limited(PROVIDER, wait_seconds(*header_waits(headers)), said)
    return upstream_error(PROVIDER, said, status, headers)


def images_from_native(status: int, headers: Mapping[str, str], content: bytes) -> list[NativeImage]:
    """The images of an OpenAI answer, or the ApiError it stands for (raised)."""
    if status != 200:
        raise error_from_native(status, headers, content)
    body = json_or_none(content)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise upstream_error(PROVIDER, f"answer has no data list (x-request-id {header(headers, 'x-request-id')})", status)
    return [NativeImage(b64=item.get("b64_json"), url=item.get("url"), revised_prompt=item.get("revised_prompt")) for item in data]


UPSTREAM = Upstream(PROVIDER, native_calls, credentials, images_from_native)
