"""The one place that translates between BFL's FLUX.1 wire format and the engine, in both directions.

- native -> engine: a submit body becomes a `BflSubmission` (a `GenerationRequest` plus BFL's own choices), or a
  `BflValidationError` listing every broken field as FastAPI reports them (the BFL API is a FastAPI app).
- engine -> native: a Perf `GenerationRequest` becomes one submit body per image (the gateway's direction).
- native results -> engine terms: a poll body becomes a sample URL, "still pending", or an `ApiError` in Perf terms;
  an HTTP error answer becomes an `ApiError` in Perf terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from spec import errors
from spec.models import MODELS, parse_size
from spec.providers import bfl

Problem = dict[str, Any]


class BflValidationError(Exception):
    """A 422: the FastAPI-style `detail` list, one entry per broken field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class BflSubmission:
    request: GenerationRequest
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


def submission_from_native(endpoint: str, body: Any) -> BflSubmission:
    """A FLUX.1 submit body (for endpoint "flux-pro" or "flux-dev") as the engine's request.

    Fields BFL takes that do not change the picture here (steps, guidance, interval, safety_tolerance,
    prompt_upsampling, image_prompt, webhooks) are range-checked where BFL checks them, then ignored; unknown
    fields are ignored, as FastAPI does.
    """
    model = MODELS[bfl.BFL_MODELS[endpoint]]
    if not isinstance(body, dict):
        raise BflValidationError(
            [{"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be a valid dictionary or object", "input": body}]
        )
    problems: list[Problem] = []
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
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
    output_format = body.get("output_format") or bfl.BFL_DEFAULT_OUTPUT_FORMAT
    if output_format not in bfl.BFL_OUTPUT_FORMATS:
        expected = " or ".join(f"'{f}'" for f in bfl.BFL_OUTPUT_FORMATS)
        problems.append(_problem("output_format", "enum", f"Input should be {expected}", output_format, expected=expected))
    upsampling = body.get("prompt_upsampling")
    if upsampling is not None and not isinstance(upsampling, bool):
        problems.append(_problem("prompt_upsampling", "bool_type", "Input should be a valid boolean", upsampling))
    if problems:
        raise BflValidationError(problems)
    request = GenerationRequest(
        prompt=prompt,
        model=model.name,
        n=1,
        size=f"{width}x{height}",
        quality="standard",
        style=None,
        response_format="url",
        first_index=seed or 0,
    )
    return BflSubmission(request, output_format)


def native_requests(request: GenerationRequest) -> tuple[str, list[dict[str, Any]]]:
    """A Perf request as BFL submits: the endpoint, and one body per image (BFL makes one image per task).

    Image k is asked for with seed k and PNG output, so the upstream's bytes are the k-th image of the same
    Perf request made in process.
    """
    endpoint = MODELS[request.model].native_ids["bfl"]
    width, height = parse_size(request.size)
    bodies = [
        {"prompt": request.prompt, "width": width, "height": height, "seed": request.first_index + k, "output_format": "png"}
        for k in range(request.n)
    ]
    return endpoint, bodies


def sample_url(poll: Any) -> str | None:
    """The sample URL of a Ready poll answer, None while the task is pending, else the ApiError it means."""
    if not isinstance(poll, dict):
        raise ApiError(errors.UPSTREAM_ERROR, "upstream bfl answered a poll with something other than a JSON object")
    status = poll.get("status")
    if status == bfl.BFL_STATUS_PENDING:
        return None
    if status == bfl.BFL_STATUS_READY:
        result = poll.get("result")
        url = result.get("sample") if isinstance(result, dict) else None
        if not isinstance(url, str) or not url:
            raise ApiError(errors.UPSTREAM_ERROR, "upstream bfl reported Ready without a sample URL")
        return url
    if status in (bfl.BFL_STATUS_REQUEST_MODERATED, bfl.BFL_STATUS_CONTENT_MODERATED):
        raise ApiError(errors.CONTENT_POLICY_VIOLATION, errors.CONTENT_POLICY_MESSAGE)
    raise ApiError(errors.UPSTREAM_ERROR, f"upstream bfl reported task status {status!r}")


def perf_error(status: int, body: Any, retry_after_header: str | None) -> ApiError:
    """An HTTP error answer from BFL, in Perf terms."""
    detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None
    said = f": {detail}" if isinstance(detail, str) else ""
    if status == 429:
        retry_after = body.get("retry_after") if isinstance(body, dict) else None
        if not isinstance(retry_after, int) and retry_after_header and retry_after_header.isdigit():
            retry_after = int(retry_after_header)
        return ApiError(errors.RATE_LIMIT_EXCEEDED, errors.RATE_LIMIT_MESSAGE, None, retry_after if isinstance(retry_after, int) else 1)
    if status == 503:
        return ApiError(errors.SERVICE_UNAVAILABLE, f"upstream bfl is unavailable (503){said}")
    return ApiError(errors.UPSTREAM_ERROR, f"upstream bfl answered {status}{said}")
