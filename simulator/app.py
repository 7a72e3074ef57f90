"""The Starlette application: every face mounted over one engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import SimulatorConfig
from simulator.cors import OpenCORS
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.faces import home
from simulator.faces.control import ControlFace
from simulator.faces.errors import error_response
from simulator.faces.images import ImageFace
from simulator.faces.perf import PerfFace
from simulator.faces.providers import provider_routes
from simulator.gateway.face import GatewayFace
from simulator.http import SafeJSONResponse
from simulator.keys import KeyRegistry
from simulator.state.base import State, StateUnavailable
from simulator.state.open import open_state
from spec import errors
from spec.openapi import openapi_document

log = logging.getLogger("perf-sim")

_HTTP_ERROR_TYPES = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, errors.INVALID_REQUEST)
    if exc.status_code == 404:
        message = f"no route for {request.method} {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"method {request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    else:
        message = exc.detail
    return error_response(ApiError(error_type, message), headers=dict(exc.headers or {}))


async def _state_unavailable(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(errors.SERVICE_UNAVAILABLE, f"simulator state is unavailable: {exc}"), headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(ApiError(errors.INTERNAL_ERROR, "internal simulator error; this is a bug, please report it"))


def _lifespan(state: State, *closers: Callable[[], Awaitable[None]]) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Warm the state's connections before serving, and close what the app holds open (state connections, the
    gateway's upstream client) at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.warm_up()
        yield
        for close in closers:
            await close()

    return lifespan


def create_app(config: SimulatorConfig | None = None, state: State | None = None) -> Starlette:
    config = config or SimulatorConfig()
    state = state or open_state(config.state, config.clock, config.start_time)
    engine = Engine(state, config.seed, config.latency_scale)
    keys = KeyRegistry.from_file(config.keys_file)

    async def openapi(request: Request) -> Response:
        return SafeJSONResponse(openapi_document())

    perf = GatewayFace(engine, keys, config) if config.gateway else PerfFace(engine, keys, config.public_url)
    closers = [state.close, *([perf.close] if isinstance(perf, GatewayFace) else [])]
    # The Perf API first: the router tries routes in order, and it is the route under load.
    routes = [
        *perf.routes(),
        *home.routes(),
        Route("/openapi.json", openapi, methods=["GET"]),
        *ImageFace(engine).routes(),
        *ControlFace(engine, keys, config.public_settings()).routes(),
        *provider_routes(engine, keys, config),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(OpenCORS)],
        exception_handlers={HTTPException: _http_error, StateUnavailable: _state_unavailable, Exception: _unexpected},
        lifespan=_lifespan(state, *closers),
    )
    app.state.engine = engine
    return app
