"""The Perf API's error envelope and rate-limit headers on the wire."""

from __future__ import annotations

from starlette.responses import Response

from simulator.engine.errors import ApiError
from simulator.http import SafeJSONResponse
from simulator.state.base import RateState
from spec import tiers


def rate_limit_headers(rate: RateState) -> dict[str, str]:
    return {
        tiers.HEADER_LIMIT_MINUTE: str(rate.minute.limit),
        tiers.HEADER_REMAINING_MINUTE: str(rate.minute.remaining),
        tiers.HEADER_RESET_MINUTE: str(rate.minute.reset_seconds),
        tiers.HEADER_LIMIT_DAY: str(rate.day.limit),
        tiers.HEADER_REMAINING_DAY: str(rate.day.remaining),
        tiers.HEADER_RESET_DAY: str(rate.day.reset_seconds),
    }


def error_response(exc: ApiError, rate: RateState | None = None, headers: dict[str, str] | None = None) -> Response:
    all_headers = dict(headers or {})
    if rate is not None:
        all_headers.update(rate_limit_headers(rate))
    if exc.retry_after is not None:
        all_headers["Retry-After"] = str(exc.retry_after)
    return SafeJSONResponse(exc.envelope(), status_code=exc.status, headers=all_headers)
