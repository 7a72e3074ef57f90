"""The Perf API's own wire format, in one place: where it is served, how a request body is read, the success body
and headers, and the error envelope with its headers (as each provider's mapping module holds that provider's)."""

from __future__ import annotations

import itertools
from typing import Any

from starlette.responses import Response

from simulator.engine.digest import hex_id
from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.engine.validate import validate_perf_request
from simulator.http import SafeJSONResponse, parse_json
from simulator.state.base import RateState
from spec import errors, tiers

PREFIX = "/v1"
PATH = "/images/generations"
# Errors carry no engine request id; theirs count per process, so two runs given the same requests send the same ids.
_error_ids = itertools.count()


def request_from_wire(raw: bytes) -> GenerationRequest:
    """A request body as the engine's request, or the ApiError naming the broken parameter."""
    return validate_perf_request(parse_json(raw))


def success_body(
    request: GenerationRequest, created: int, data: list[dict[str, str]], request_id: str, cost_usd: float, latency_ms: int
) -> dict[str, object]:
    """The document's success body; the in-process face and the gateway both answer with it."""
    perf = {
        "request_id": request_id,
        "model_used": request.model,
        "size": request.size,
        "quality": request.quality,
        "cost_usd": cost_usd,
        "latency_ms": latency_ms,
    }
    return {"created": created, "data": data, "perf": perf}


def success_headers(request_id: str, rate: RateState) -> dict[str, str]:
    return {"x-request-id": request_id, **rate_limit_headers(rate)}


def rate_limit_headers(rate: RateState) -> dict[str, str]:
    return {
        tiers.HEADER_LIMIT_MINUTE: str(rate.minute.limit),
        tiers.HEADER_REMAINING_MINUTE: str(rate.minute.remaining),
        tiers.HEADER_RESET_MINUTE: str(rate.minute.reset_seconds),
        tiers.HEADER_LIMIT_DAY: str(rate.day.limit),
        tiers.HEADER_REMAINING_DAY: str(rate.day.remaining),
        tiers.HEADER_RESET_DAY: str(rate.day.reset_seconds),
    }


def error_request_id() -> str:
    """The `x-request-id` of an answer the engine gave no id: an error, or an injected malformed answer."""
    return f"req_err_{hex_id(0, 'error', next(_error_ids))}"


def error_response(exc: ApiError, rate: RateState | None = None, headers: dict[str, str] | None = None) -> Response:
    """The document's envelope, with an `x-request-id` (as every Perf response has) and, on a wait longer than
    clients sleep, `x-should-retry: false` (see `spec.errors.LONGEST_CLIENT_RETRY_WAIT_SECONDS`)."""
    all_headers: dict[str, Any] = {"x-request-id": error_request_id()}
    if rate is not None:
        all_headers.update(rate_limit_headers(rate))
    if exc.retry_after is not None:
        all_headers["Retry-After"] = str(exc.retry_after)
        if exc.retry_after > errors.LONGEST_CLIENT_RETRY_WAIT_SECONDS:
            all_headers["x-should-retry"] = "false"
    all_headers.update(headers or {})
    return SafeJSONResponse(exc.envelope(), status_code=exc.status, headers=all_headers)


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    if allowed is None:
        return ApiError(errors.NOT_FOUND, f"no route for {method} {path}; see /openapi.json")
    return ApiError(errors.METHOD_NOT_ALLOWED, f"method {method} is not allowed on {path}; allowed: {allowed}")
