"""The Starlette application: every face mounted over one engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from simulator.config import SimulatorConfig
from simulator.context import note_answer, note_state_down
from simulator.control.api import ControlApi, namespace_param
from simulator.control.layer import ControlLayer
from simulator.control.open import open_plane
from simulator.control.plane import ControlPlane
from simulator.control.state_api import StateApi
from simulator.cors import OpenCORS, add_cors_headers, cors_headers
from simulator.engine.errors import ApiError, state_unavailable
from simulator.engine.generate import Engine
from simulator.face_lanes import FaceLanes
from simulator.http import SafeJSONResponse, allowed_methods, unheard_answer
from simulator.keys import KeyRegistry
from simulator.namespace_path import path_as_sent
from simulator.observe import observing
from simulator.pages import home
from simulator.pages.images import ImageFiles
from simulator.perf.wire import ErrorIds, error_response, unknown_route
from simulator.providers.bfl import mapping as bfl_mapping
from simulator.registry import control_refusal, mounted_faces
from simulator.route_hints import blackforest_joined_path
from simulator.state.base import State, StateUnavailable
from simulator.state.open import open_state
from spec import errors
from spec.control_openapi import control_openapi_document
from spec.openapi import openapi_document

log = logging.getLogger("perf-sim")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Outside every face's own routes (a path nothing serves, a page's wrong method, a control call gone wrong): the
    Perf API's envelope, naming the routes a 404 or 405 was probably meant for, noted for the journal as the face's
    endpoints note theirs."""
    assert isinstance(exc, HTTPException)
    allowed = allowed_methods(exc)
    headers = {**(exc.headers or {}), **({"Allow": allowed} if allowed else {})}
    if exc.status_code in (404, 405):
        path = path_as_sent(request.scope)
        error = request.app.state.route_hints.hinted(unknown_route(request.method, path, allowed), request.method, path)
        if blackforest_joined_path(path) is None:
            response = error_response(error, headers=headers)
        else:  # with BFL's top-level `message` beside the envelope: the blackforest client shows only that
            response = control_refusal(bfl_mapping.PROVIDER, error)
            response.headers.update(headers)
    else:
        response = error_response(ApiError(errors.INVALID_REQUEST, exc.detail), headers=headers)
    note_answer(response)
    return response


async def _refused(request: Request, exc: Exception) -> Response:
    """A control call's or page's refusal (a bad `?namespace=`, a malformed body, an unknown key): the Perf API's
    envelope, as every `/_sim/` answer is. Raised by the handler rather than answered in each one, so no call can
    let one through as a 500."""
    assert isinstance(exc, ApiError)
    response = error_response(exc)
    note_answer(response)
    return response


async def _state_unavailable(request: Request, exc: Exception) -> Response:
    response = error_response(state_unavailable(exc))
    note_answer(response)
    note_state_down()
    return response


async def _client_left(request: Request, exc: Exception) -> Response:
    return unheard_answer()


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug's 500, with the CORS headers every other answer gets: Starlette answers it from its outermost layer
    (`ServerErrorMiddleware`), outside `OpenCORS`, and a page on another origin would read a CORS failure instead of
    the message asking to report it."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response = error_response(ApiError(errors.INTERNAL_ERROR, "internal simulator error; this is a bug, please report it"))
    add_cors_headers(response.raw_headers, cors_headers(request.scope))
    note_answer(response)
    return response


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


class SimulatorApp(Starlette):
    """The Starlette app with the control layer outermost: faults such as `drop` act on the connection itself,
    so they sit outside Starlette's own error handling."""

    def __init__(
        self,
        plane: ControlPlane,
        state: State,
        pages: Sequence[BaseRoute],
        body_timeout: float,
        prompt_tokens: bool = True,
        waits_below_faces: bool = False,
        **kwargs: object,
    ) -> None:
        self.plane = plane
        self.body_timeout = body_timeout
        self.prompt_tokens = prompt_tokens
        self.waits_below_faces = waits_below_faces
        self.sim_state = state
        self.pages = pages
        """The simulator's own routes (everything but the API faces), which the control layer tells apart from a
        request no route serves."""
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def build_middleware_stack(self) -> ASGIApp:
        """The control layer, then the faces' lanes, then Starlette's own stack (error handling, CORS, routes)."""
        return ControlLayer(
            FaceLanes(super().build_middleware_stack(), self.router),
            self.plane,
            self.sim_state,
            self.pages,
            self.body_timeout,
            self.prompt_tokens,
            self.waits_below_faces,
        )


def create_app(config: SimulatorConfig | None = None, state: State | None = None) -> Starlette:
    config = config or SimulatorConfig()
    # python-multipart logs a warning for a malformed form body before it raises; the face answers that as a 400
    # naming the problem, so the line would only be noise on the server's stderr, one per bad request.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    state = state or open_state(config.state, config.clock, config.start_time)
    keys = KeyRegistry.from_file(config.keys_file, config.scenario, config.file_text(config.keys_file))
    engine = Engine(state, keys, config.seed, config.real_clock, config.latency_scale)
    plane = open_plane(config)

    async def openapi(request: Request) -> Response:
        return SafeJSONResponse(openapi_document())

    async def control_openapi(request: Request) -> Response:
        """The control API's document; a control call like any other, so it takes `namespace` (the typed client
        names one on every call) and refuses a query parameter it does not take, as every control call does."""
        namespace_param(request)
        return SafeJSONResponse(control_openapi_document())

    faces, closing, route_hints = mounted_faces(engine, keys, config)
    closers = [state.close, plane.close, *(face.close for face in closing)]
    pages = [
        *home.routes(),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/_sim/openapi.json", control_openapi, methods=["GET"]),
        *ImageFiles(engine).routes(),
        *StateApi(engine, keys, config.public_settings(), plane).routes(),
        *ControlApi(plane, engine, keys).routes(),
        *observing(plane.journal, keys, faces, config.workers),
    ]
    app = SimulatorApp(
        plane,
        state,
        pages,
        config.body_timeout,
        config.prompt_tokens,
        config.gateway or config.latency_scale > 0,
        # The API faces first: they are what the hot path asks for, and their prefixes overlap none of the pages.
        routes=[*faces, *pages],
        middleware=[Middleware(OpenCORS)],
        exception_handlers={
            HTTPException: _http_error,
            ApiError: _refused,
            StateUnavailable: _state_unavailable,
            ClientDisconnect: _client_left,
            Exception: _unexpected,
        },
        lifespan=_lifespan(state, *closers),
    )
    # Decision: a path with a slash too many is a 404 like any path no route serves, never Starlette's 307 to the path
    # without it: that redirect is built from the path a `/_sim/ns/<name>/` base path was taken off, so a client that
    # follows it (requests, curl -L) turned `POST /_sim/ns/jobA/_sim/reset/` into a reset of every namespace.
    app.router.redirect_slashes = False
    app.state.engine = engine
    app.state.route_hints = route_hints
    app.state.error_ids = ErrorIds(config.seed, shared_by_workers=config.workers > 1)
    app.state.control = plane
    app.state.journal_listeners = plane.journal.listeners
    return app
