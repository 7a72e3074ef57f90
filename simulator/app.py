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
from simulator.faces.images import ImageFace
from simulator.http import SafeJSONResponse
from simulator.keys import KeyRegistry
from simulator.perf.wire import error_response, unknown_route
from simulator.registry import mounted_faces
from simulator.state.base import State, StateUnavailable
from simulator.state.open import open_state
from spec import errors
from spec.openapi import openapi_document

log = logging.getLogger("perf-sim")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Outside every face's prefix (/, /_sim/..., /images/...): the Perf API's envelope."""
    assert isinstance(exc, HTTPException)
    allowed = (exc.headers or {}).get("Allow") if exc.status_code == 405 else None
    if exc.status_code in (404, 405):
        return error_response(unknown_route(request.method, request.url.path, allowed), headers=dict(exc.headers or {}))
    return error_response(ApiError(errors.INVALID_REQUEST, exc.detail), headers=dict(exc.headers or {}))


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

    faces, closing = mounted_faces(engine, keys, config)
    closers = [state.close, *(face.close for face in closing)]
    # The faces first: the router tries routes in order, and the Perf API's is the route under load. (No face's
    # prefix covers the server's own pages.)
    routes = [
        *faces,
        *home.routes(),
        Route("/openapi.json", openapi, methods=["GET"]),
        *ImageFace(engine).routes(),
        *ControlFace(engine, keys, config.public_settings()).routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(OpenCORS)],
        exception_handlers={HTTPException: _http_error, StateUnavailable: _state_unavailable, Exception: _unexpected},
        lifespan=_lifespan(state, *closers),
    )
    app.state.engine = engine
    return app
