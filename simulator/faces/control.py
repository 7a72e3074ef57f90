"""The simulator's control API under /_sim/: not part of the Perf API, and not in its OpenAPI document.

It lets a test reset everything, read and move the simulator clock (to cross a minute or a day without
waiting), and read a key's usage: its Perf API windows, and under `providers` its windows on each native provider
face (each face counts in its own window, with the keys file's `[providers.<name>]` limits when set).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError, invalid
from simulator.engine.generate import Engine
from simulator.http import SafeJSONResponse, parse_json, read_body
from simulator.keys import KeyRegistry
from simulator.perf.wire import error_response
from simulator.state.base import RateState, WindowState
from spec.models import PROVIDERS

_LATEST_CLOCK = datetime(9999, 1, 1, tzinfo=UTC).timestamp()


def _seconds(value: object) -> float | None:
    """A JSON number as a finite, non-negative float, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _window(w: WindowState) -> dict[str, int]:
    return {"limit": w.limit, "used": w.used, "remaining": w.remaining, "reset_seconds": w.reset_seconds}


def _windows(rate: RateState) -> dict[str, dict[str, int]]:
    return {"minute": _window(rate.minute), "day": _window(rate.day)}


class ControlFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, settings: dict[str, object]) -> None:
        self.engine = engine
        self.keys = keys
        self.settings = settings

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/health", self.health, methods=["GET"]),
            Route("/_sim/config", self.config, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
            Route("/_sim/clock", self.clock, methods=["GET"]),
            Route("/_sim/clock/advance", self.advance, methods=["POST"]),
            Route("/_sim/usage/{key}", self.usage, methods=["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        return SafeJSONResponse({"status": "ok"})

    async def config(self, request: Request) -> Response:
        return SafeJSONResponse(self.settings)

    async def reset(self, request: Request) -> Response:
        await self.engine.state.reset()
        return await self.clock(request)

    async def clock(self, request: Request) -> Response:
        now = await self.engine.state.now()
        return SafeJSONResponse({"now": now, "iso": datetime.fromtimestamp(now, UTC).isoformat()})

    async def advance(self, request: Request) -> Response:
        """Body {"seconds": N}: N a non-negative number (the clock never runs backwards) that keeps the clock within
        the years a timestamp can be written in (ISO dates, Ideogram's `created`), so one call cannot break the clock."""
        try:
            body = parse_json(await read_body(request))
            seconds = _seconds(body.get("seconds") if isinstance(body, dict) else None)
            if seconds is None or await self.engine.state.now() + seconds > _LATEST_CLOCK:
                raise invalid("seconds", 'send {"seconds": N} with N a non-negative number that keeps the clock before the year 9999')
        except ApiError as exc:
            return error_response(exc)
        await self.engine.state.advance_clock(seconds)
        return await self.clock(request)

    async def usage(self, request: Request) -> Response:
        try:
            tenant = self.keys.authenticate_key(request.path_params["key"])
        except ApiError as exc:
            return error_response(exc)
        rate = await self.engine.usage(tenant)
        providers = {p: _windows(await self.engine.usage(self.keys.limits_on(p, tenant), bucket=p)) for p in PROVIDERS}
        return SafeJSONResponse({"key": tenant.key, "tier": tenant.tier, **_windows(rate), "providers": providers})
