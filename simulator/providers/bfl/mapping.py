"""BFL's FLUX.1 submit-and-poll API <-> engine, in both directions, on the mapping protocol (`providers.protocol`).

Face direction: `request_from_native` (a submit body -> `BflRequest`, or a `BflValidationError` listing every
broken field as FastAPI reports them: the BFL API is a FastAPI app), `error_answer`.
Gateway direction (`UPSTREAM`): `native_calls` (one submit per image), `credentials`, `images_from_native` (a submit
answer -> the task to poll), `poll_from_native` (a poll answer -> the sample once ready), `error_from_native`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.engine.errors import ApiError
from simulator.engine.generate import RateLimited
from simulator.engine.request import GenerationRequest
from simulator.providers.protocol import (
    NativeAnswer,
    NativeCall,
    NativeImage,
    NativeInvalid,
    NativeTask,
    Upstream,
    body_text,
    header_waits,
    json_or_none,
    said_text,
    upstream_error,
    upstream_rate_limited,
    wait_seconds,
)
from spec import errors
from spec.models import MODELS, is_blank, parse_size
from spec.providers import bfl

PROVIDER = "bfl"
# Decision: poll every 0.25 s (BFL's own examples poll every 0.5-1 s); the measured latency is at most this much late.
POLL_INTERVAL_SECONDS = 0.25

Problem = dict[str, Any]


NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"
"""FastAPI's (pydantic's) words for a body that is not a JSON object (a JSON array, or a body not sent as JSON)."""


class BflValidationError(NativeInvalid):
    """A 422: the FastAPI-style `detail` list, one entry per broken field."""

    def __init__(self, problems: list[Problem]) -> None:
        field = problems[0]["loc"][-1] if problems else None
        super().__init__(str(field), "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class BflRequest:
    """A native submit: the engine's request plus what only the wire needs."""

    generation: GenerationRequest
    """Its `first_index` is the native seed (spec.providers.bfl, beside BFL_MAX_SEED)."""
    output_format: str


def _problem(field: str, kind: str, msg: str, value: Any, **ctx: Any) -> Problem:
    problem: Problem = {"type": kind, "loc": ["body", field], "msg": msg, "input": value}
    if ctx:
        problem["ctx"] = ctx
    return problem


def _number(body: dict[str, Any], field: str, integer: bool, bounds: tuple[float, float] | None, problems: list[Problem]) -> Any:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and isinstance(value, float) and not value.is_integer()):
        kind, what = ("int_type", "a valid integer") if integer else ("float_type", "a valid number")
        problems.append(_problem(field, kind, f"Input should be {what}", value))
        return None
    value = int(value) if integer else float(value)
    if bounds is not None:
        lo, hi = bounds
        if value < lo:
            problems.append(_problem(field, "greater_than_equal", f"Input should be greater than or equal to {lo}", value, ge=lo))
            return None
        if value > hi:
            problems.append(_problem(field, "less_than_equal", f"Input should be less than or equal to {hi}", value, le=hi))
            return None
    return value


def _dimension(body: dict[str, Any], field: str, default: int, problems: list[Problem]) -> int:
    value = _number(body, field, True, (bfl.BFL_DIMENSION_MIN, bfl.BFL_DIMENSION_MAX), problems)
    if value is None:
        return default
    if value % bfl.BFL_DIMENSION_STEP:
        step = bfl.BFL_DIMENSION_STEP
        problems.append(_problem(field, "multiple_of", f"Input should be a multiple of {step}", value, multiple_of=step))
    return int(value)


def request_from_native(endpoint: str, body: Any) -> BflRequest:
    """A FLUX.1 submit body (for endpoint "flux-pro" or "flux-dev") as the engine's request.

    Fields BFL takes that do not change the picture here (steps, guidance, interval, safety_tolerance,
    prompt_upsampling, image_prompt, webhooks) are range-checked where BFL checks them, then ignored; unknown
    fields are ignored, as FastAPI does.
    """
    model = MODELS[bfl.BFL_MODELS[endpoint]]
    if not isinstance(body, dict):
        raise BflValidationError([{"type": "model_attributes_type", "loc": ["body"], "msg": NOT_AN_OBJECT, "input": body}])
    problems: list[Problem] = []
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and is_blank(prompt)):
        problems.append(_problem("prompt", "missing", "Field required: a non-empty prompt (image_prompt alone is not emulated)", prompt))
    elif not isinstance(prompt, str):
        problems.append(_problem("prompt", "string_type", "Input should be a valid string", prompt))
    elif len(prompt) > model.max_prompt_chars:
        limit = model.max_prompt_chars
        problems.append(_problem("prompt", "string_too_long", f"String should have at most {limit} characters", prompt, max_length=limit))
    width = _dimension(body, "width", bfl.BFL_DEFAULT_WIDTH, problems)
    height = _dimension(body, "height", bfl.BFL_DEFAULT_HEIGHT, problems)
    ranges = bfl.BFL_RANGES[endpoint]
    for field, bounds in ranges.items():
        _number(body, field, field in ("steps", "safety_tolerance"), bounds, problems)
    if "interval" not in ranges and body.get("interval") is not None:
        problems.append(_problem("interval", "extra_forbidden", f"interval is not supported by {endpoint}", body["interval"]))
    seed = _number(body, "seed", True, (0, bfl.BFL_MAX_SEED), problems)
    output_format = body.get("output_format")
    if output_format is None:
        output_format = bfl.BFL_DEFAULT_OUTPUT_FORMAT
    if output_format not in bfl.BFL_OUTPUT_FORMATS:
        expected = " or ".join(f"'{f}'" for f in bfl.BFL_OUTPUT_FORMATS)
        problems.append(_problem("output_format", "enum", f"Input should be {expected}", output_format, expected=expected))
    upsampling = body.get("prompt_upsampling")
    if upsampling is not None and not isinstance(upsampling, bool):
        problems.append(_problem("prompt_upsampling", "bool_type", "Input should be a valid boolean", upsampling))
    if problems:
        raise BflValidationError(problems)
    assert isinstance(prompt, str)
    request = GenerationRequest(
        prompt=prompt,
        model=model.name,
        n=bfl.BFL_IMAGES_PER_TASK,
        size=f"{width}x{height}",
        quality="standard",
        style=None,
        response_format="url",
        first_index=seed or 0,
    )
    return BflRequest(request, output_format)


def error_answer(exc: ApiError) -> NativeAnswer:
    """Any error in BFL's envelope: `detail` (a list for a 422) and `message`, which the `blackforest` client reads
    (sources disagree, so both are sent); a rate limit also carries `retry_after` and BFL's X-RateLimit headers."""
    if isinstance(exc, BflValidationError):
        return NativeAnswer(422, {"detail": exc.problems, "message": exc.message})
    if isinstance(exc, RateLimited):
        minute = exc.rate.minute
        headers = {
            "Retry-After": str(exc.retry_after),
            "X-RateLimit-Limit": str(minute.limit),
            "X-RateLimit-Remaining": str(minute.remaining),
            "X-RateLimit-Reset": str(minute.reset_seconds),
        }
        body = {"detail": bfl.BFL_RATE_LIMIT_MESSAGE, "message": bfl.BFL_RATE_LIMIT_MESSAGE, "error": bfl.BFL_RATE_LIMIT_ERROR}
        return NativeAnswer(429, {**body, "retry_after": exc.retry_after}, headers)
    if exc.status == 429:  # an injected fault: BFL's fields, with no windows to report
        body = {"detail": exc.message, "message": exc.message, "error": bfl.BFL_RATE_LIMIT_ERROR}
        return NativeAnswer(429, body if exc.retry_after is None else {**body, "retry_after": exc.retry_after})
    return NativeAnswer(exc.status, {"detail": exc.message, "message": exc.message})


def native_calls(request: GenerationRequest) -> list[NativeCall]:
    """The submits a gateway makes for a Perf request: one task per image (BFL makes one image per task), image k
    asked for with seed k and PNG output, so the upstream's bytes are the k-th image of the same Perf request."""
    endpoint = MODELS[request.model].native_ids[PROVIDER]
    width, height = parse_size(request.size)
    return [
        NativeCall(
            "POST",
            f"/v1/{endpoint}",
            {"accept": "application/json"},
            json={"prompt": request.prompt, "width": width, "height": height, "seed": request.first_index + k, "output_format": "png"},
        )
        for k in range(request.n)
    ]


def credentials(key: str) -> dict[str, str]:
    """BFL takes the key in its own `x-key` header."""
    return {"x-key": key}


def images_from_native(status: int, headers: Mapping[str, str], content: bytes) -> list[NativeTask]:
    """A submit answer: the task to poll, or the ApiError it stands for (raised)."""
    if status != 200:
        raise error_from_native(status, headers, content)
    task = json_or_none(content)
    task_id = task.get("id") if isinstance(task, dict) else None
    if not isinstance(task_id, str):
        raise upstream_error(PROVIDER, "accepted the task without an id", status)
    polling_url = task.get("polling_url") if isinstance(task, dict) else None
    return [NativeTask(f"/v1/get_result?id={task_id}", polling_url if isinstance(polling_url, str) else None)]


def poll_from_native(status: int, headers: Mapping[str, str], content: bytes) -> NativeImage | None:
    """A poll answer: the sample once Ready, None while Pending, else the ApiError in Perf terms it means (raised)."""
    if status != 200:
        raise error_from_native(status, headers, content)
    poll = json_or_none(content)
    if not isinstance(poll, dict):
        raise upstream_error(PROVIDER, "answered a poll with something other than a JSON object", status)
    state = poll.get("status")
    if state == bfl.BFL_STATUS_PENDING:
        return None
    if state == bfl.BFL_STATUS_READY:
        result = poll.get("result")
        url = result.get("sample") if isinstance(result, dict) else None
        if not isinstance(url, str) or not url:
            raise upstream_error(PROVIDER, "reported Ready without a sample URL", status)
        return NativeImage(url=url)
    if state in (bfl.BFL_STATUS_REQUEST_MODERATED, bfl.BFL_STATUS_CONTENT_MODERATED):
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    raise upstream_error(PROVIDER, f"reported task status {state!r}", status)


def error_from_native(status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
    """An HTTP error answer from BFL, in Perf terms: 429 a rate limit, 503 an outage, anything else the upstream's."""
    body = json_or_none(content)
    detail = (body.get("message") or body.get("detail")) if isinstance(body, dict) else None
    said = said_text(detail) or body_text(content)
    if status == 429:
        retry_after = wait_seconds(body.get("retry_after") if isinstance(body, dict) else None, *header_waits(headers))
        return upstream_rate_limited(PROVIDER, retry_after, said)
    return upstream_error(PROVIDER, said, status, headers)


UPSTREAM = Upstream(PROVIDER, native_calls, credentials, images_from_native, poll_from_native, POLL_INTERVAL_SECONDS)
