"""One API face as its own sub-application: its routes, and every failure around them in the face's own envelope.

A client of one provider must never see another provider's error format. So each face is mounted (Starlette's
`Mount`) as a `FaceApp`: an unknown path or a wrong method under its prefix, an `ApiError` a handler lets through
(a 413 while reading the body), a shared-state outage (Redis down, 503) and a bug (500) are all answered here in
that face's envelope, for any method.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.context import note_answer, note_state_down
from simulator.engine.errors import ApiError, cut, state_unavailable
from simulator.http import allowed_methods, unheard_answer
from simulator.namespace_path import path_as_sent
from simulator.state.base import StateUnavailable
from spec import errors

log = logging.getLogger("perf-sim")

Answer = Callable[[ApiError, Mapping[str, str] | None], Response]
"""(error, extra headers) -> the error in the face's envelope."""
UnknownRoute = Callable[[str, str, str | None], ApiError]
"""(method, full path, allowed methods or None for an unknown path) -> the error the face answers with."""


def unknown_route_error(method: str, path: str, allowed: str | None) -> ApiError:
    """The usual answer: 404 for a path the face does not serve, 405 naming the allowed methods for a wrong method."""
    if allowed is None:
        return ApiError(errors.NOT_FOUND, f"no route for {method} {cut(path)}")
    return ApiError(errors.METHOD_NOT_ALLOWED, f"method {method} is not allowed on {path}; allowed: {allowed}")


class OwnedPaths(BaseRoute):
    """The paths `paths` and every path starting with one of `prefixes`, any method, handed on unchanged to a face's
    app, which answers what it does not serve in its own envelope: the paths a face owns beyond its routes and its
    mount. Its bare prefix (`/google`) is one: Starlette's `Mount` matches only `/google/...`, and the app's router
    would otherwise redirect `/google` to `/google/` with an empty 307. Not a `Route`, so the metrics name no route
    after these paths (a path no face serves is `unmatched`)."""

    def __init__(self, paths: tuple[str, ...], prefixes: tuple[str, ...], app: ASGIApp) -> None:
        self.paths = paths
        self.prefixes = prefixes
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = get_route_path(scope)
            if path in self.paths or path.startswith(self.prefixes):
                return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class FaceApp:
    def __init__(
        self,
        face: str,
        routes: Sequence[BaseRoute],
        answer: Answer,
        unknown_route: UnknownRoute = unknown_route_error,
        names_base_path: bool = False,
    ) -> None:
        """`names_base_path`: the face's 404 and 405 name the path with the namespace base path it came by (the Perf
        API's, whose hints a client follows); a native face names the path its provider would, as before."""
        self.face = face
        self.names_base_path = names_base_path
        self.router = Router(list(routes), redirect_slashes=False)
        self.answer = answer
        self.unknown_route = unknown_route
        self.handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {Exception: self._handle}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A route's handler reports its exceptions to the handlers in the scope (the root app's, by default): the
        # face's own replace them. Routing's own 404/405 are raised past them, so they are caught here too.
        scope["starlette.exception_handlers"] = (self.handlers, {})
        try:
            await self.router(scope, receive, send)
        except HTTPException as exc:
            await self._failure(scope, exc)(scope, receive, send)

    async def _handle(self, request: Request, exc: Exception) -> Response:
        return self._failure(request.scope, exc)

    def _failure(self, scope: Scope, exc: Exception) -> Response:
        if isinstance(exc, ClientDisconnect):
            return unheard_answer()
        response = self._failure_answer(scope, exc)
        note_answer(response)
        return response

    def _failure_answer(self, scope: Scope, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code in (404, 405):
            allowed = allowed_methods(exc)
            error = self.unknown_route(scope["method"], path_as_sent(scope) if self.names_base_path else scope["path"], allowed)
            return self.answer(error, {"Allow": allowed} if allowed and error.status == 405 else None)
        if isinstance(exc, ApiError):
            return self.answer(exc, None)
        if isinstance(exc, StateUnavailable):
            note_state_down()
            return self.answer(state_unavailable(exc), None)
        log.exception("unhandled error on the %s face: %s %s", self.face, scope["method"], scope["path"], exc_info=exc)
        return self.answer(ApiError(errors.INTERNAL_ERROR, "internal simulator error; this is a bug, please report it"), None)
