"""The simulator's control API under /_sim/: not part of the Perf API, and not in its OpenAPI document.

It lets a test reset everything, read and move the simulator clock (to cross a minute or a day without
waiting), and read a key's usage: its Perf API windows, and under `providers` its windows on each native provider
face (each face counts in its own window, with the keys file's `[providers.<name>]` limits when set).
Each call takes `?namespace=NAME` to act on one namespace (see simulator.control.api); the fault rules, the
journal and the namespaces' own calls live in simulator.control.api.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.context import DEFAULT_NAMESPACE, in_namespace
from simulator.control.api import bodiless_namespace, namespace_param, window_json
from simulator.control.plane import ControlPlane
from simulator.control.since import shown_moment
from simulator.engine.errors import ApiError, cut, invalid, param_name, quoted
from simulator.engine.generate import Engine
from simulator.http import SafeJSONResponse, parse_json, read_body
from simulator.keys import KEY_FORMAT, KEY_HINT, KEY_PATTERN, KeyRegistry, Tenant
from simulator.perf.wire import error_ids
from simulator.registry import PROVIDER_NAMES
from simulator.state.base import LATEST_CLOCK_TIME, ClockLimit, RateState, StateUnavailable
from spec import errors

# Decision: one advance moves the clock at most 100 years (of 365.25 days), far past any window or expiry a test
# crosses, so the control API's document can state a maximum that holds whenever the clock is before the year 9899.
MAX_ADVANCE_SECONDS = 3_155_760_000


_ADVANCE_EXAMPLE = """send {"seconds": N} as JSON, e.g. curl -X POST .../_sim/clock/advance -d '{"seconds": 60}'"""


def _seconds(value: object) -> float | None:
    """A JSON number as a finite, non-negative float, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _advance_refused(given: object) -> ApiError:
    return invalid(
        "seconds",
        f'send {{"seconds": N}} with N a number from 0 to {MAX_ADVANCE_SECONDS} (100 years) that keeps the clock '
        f"before the year 9999, got {quoted(given)}",
    )


def _advance_past_the_bound(given: object, now: float) -> ApiError:
    """An advance the state refused (`ClockLimit`): it would carry the clock, at `now`, past LATEST_CLOCK_TIME. The
    message says where the clock is and what still fits: a real clock advanced near the bound runs on past it with
    wall time, and then no advance fits, not even 0."""
    at = shown_moment(now).isoformat()
    room = LATEST_CLOCK_TIME - now
    if room < 0:
        return invalid(
            "seconds",
            f"the clock is at {at}, past 9999-01-01T00:00:00+00:00, the latest time an advance may reach (a real clock "
            f"runs on past it): no advance fits, not even 0; POST /_sim/reset with this namespace brings the clock back, "
            f"got {quoted(given)}",
        )
    fits = f"{math.floor(room * 1000) / 1000:.3f}".rstrip("0").rstrip(".")
    return invalid(
        "seconds",
        f'send {{"seconds": N}} with N a number from 0 to {fits}: the clock is at {at}, and an advance must keep it '
        f"before the year 9999, got {quoted(given)}",
    )


def _clock_answer(now: float) -> Response:
    """`{"now", "iso"}`. The `iso` of a clock past the years a date can name (no advance makes one; a Redis key set by
    hand can, and a real clock running past 9999-01-01 eventually would) is the last moment one can
    (simulator.control.since.shown_moment), not a 500."""
    return SafeJSONResponse({"now": now, "iso": shown_moment(now).isoformat()})


def _windows(rate: RateState) -> dict[str, dict[str, int]]:
    return {"minute": window_json(rate.minute), "day": window_json(rate.day)}


class StateApi:
    def __init__(self, engine: Engine, keys: KeyRegistry, settings: dict[str, object], plane: ControlPlane) -> None:
        self.engine = engine
        self.keys = keys
        self.settings = settings
        self.plane = plane

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/health", self.health, methods=["GET"]),
            Route("/_sim/ready", self.ready, methods=["GET"]),
            Route("/_sim/config", self.config, methods=["GET"]),
            Route("/_sim/reset", self.reset, methods=["POST"]),
            Route("/_sim/clock", self.clock, methods=["GET"]),
            Route("/_sim/clock/advance", self.advance, methods=["POST"]),
            Route("/_sim/usage/{key}", self.usage, methods=["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        namespace_param(request)
        return SafeJSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        """Readiness, where `/_sim/health` is liveness: whether the state answers. With Redis state, a stopped or stuck
        Redis makes every API request a 503 while the process lives on; a healthcheck (compose, a load balancer)
        should stop sending to it. The state is asked for its clock, which every request reads; when it does not
        answer, the app's handler answers the state's 503 (`service_unavailable`, `Retry-After: 1`).

        The same 503 while a reset holds back the requests of the call's namespace (`?namespace=`; without it, while a
        full reset holds back every namespace's): they wait at its fence, then answer 503, as on a stuck Redis. A reset
        takes milliseconds; a fence stays up longer only when left by a worker that stopped mid-reset (at most
        FENCE_TTL_SECONDS), and a ready that said so while those requests failed misled a test waiting on it."""
        namespace = namespace_param(request)
        await self.engine.state.now()
        if await self.engine.state.reset_holds(namespace):
            which = "every namespace" if namespace is None else f"namespace {quoted(namespace)}"
            raise StateUnavailable(f"a reset holds back the requests of {which}; retry shortly")
        return SafeJSONResponse({"status": "ready", "state": self.settings["state"]})

    async def config(self, request: Request) -> Response:
        namespace_param(request)
        return SafeJSONResponse(self.settings)

    async def reset(self, request: Request) -> Response:
        """Without ?namespace= forgets everything; with it, only that namespace's windows, clock, journal and rules.

        The state's fence (`State.resetting`) holds back the namespace's admissions on every worker until the journal
        and the rules are reset too, so a request is admitted wholly before the reset or wholly after it."""
        namespace = await bodiless_namespace(request, "POST /_sim/reset")
        async with self.engine.state.resetting(namespace):
            await self.engine.state.reset(namespace)
            await self.plane.reset(namespace)
        error_ids(request.scope).forget(namespace)
        return await self.clock(request)

    async def clock(self, request: Request) -> Response:
        namespace = namespace_param(request) or DEFAULT_NAMESPACE
        with in_namespace(namespace):
            now = await self.engine.state.now()
        return _clock_answer(now)

    async def advance(self, request: Request) -> Response:
        """Body {"seconds": N}: N a non-negative number (the clock never runs backwards) that keeps the clock within
        the years a timestamp can be written in (ISO dates, Ideogram's `created`), so one call cannot break the clock.

        The state checks that bound in the step that moves the clock (`State.advance_clock`), so concurrent calls cannot
        carry it past together, and the answer is the clock this call's own move left: a read after it may see the
        moves of calls that ran since (in one namespace, on any worker)."""
        if "seconds" in request.query_params:  # the guess a reader of `POST /_sim/clock/advance` alone makes
            raise invalid("seconds", f"seconds goes in the body, not the query: {_ADVANCE_EXAMPLE}")
        namespace = namespace_param(request) or DEFAULT_NAMESPACE
        with in_namespace(namespace):
            raw = await read_body(request)
            if not raw.strip():
                raise invalid("seconds", f"request body is empty: {_ADVANCE_EXAMPLE}")
            body = parse_json(raw, fields_once=True, request=request)
            unknown = sorted(set(body) - {"seconds"}) if isinstance(body, dict) else []
            if unknown:
                raise invalid(param_name(unknown[0]), f'{cut(unknown[0])} is not a field of an advance; send {{"seconds": N}}')
            given = body["seconds"] if isinstance(body, dict) and "seconds" in body else body  # else no N to quote
            seconds = _seconds(body.get("seconds") if isinstance(body, dict) else None)
            if seconds is None or seconds > MAX_ADVANCE_SECONDS:
                raise _advance_refused(given)
            try:
                now = await self.engine.state.advance_clock(seconds)
            except ClockLimit:
                try:
                    now = await self.engine.state.now()
                except StateUnavailable:
                    raise _advance_refused(given) from None
                raise _advance_past_the_bound(given, now) from None
        return _clock_answer(now)

    async def usage(self, request: Request) -> Response:
        """Decision: a key the simulator does not know is a 404 naming `key` (a malformed one a 400), as the README
        says of every control call: the caller is not unauthenticated, it asked about something that is not there."""
        tenant = self._key_asked_about(request.path_params["key"])
        namespace = namespace_param(request) or DEFAULT_NAMESPACE
        with in_namespace(namespace):
            rate = await self.engine.usage(tenant)
            providers = {p: _windows(await self.engine.usage(tenant, face=p)) for p in PROVIDER_NAMES}
        return SafeJSONResponse({"key": tenant.key, "tier": tenant.tier, **_windows(rate), "providers": providers})

    def _key_asked_about(self, key: str) -> Tenant:
        if not KEY_PATTERN.fullmatch(key):
            raise invalid("key", f"{quoted(key)} is not a key: keys are {KEY_FORMAT}")
        tenant = self.keys.lookup(key)
        if tenant is None:
            raise ApiError(errors.NOT_FOUND, f"no key {quoted(key)}: {KEY_HINT}", "key")
        return tenant
