"""The API faces' own paths reached by one dictionary lookup, ahead of Starlette's whole stack.

Starlette's router tries each route's regex in turn, behind its error and exception middleware and the CORS layer;
on the hot path those layers and that walk were a sixth of a url response's cost. Every literal path an API face
serves (its mount's prefix joined to a route without parameters, or one of its root paths) is known when the app is
built, and so is the route the walk would pick for it: the first whose regex matches, a face's `Mount` or root
`Route`, which take any method. A request for such a path goes straight to that route, through the route's own
`matches` and `handle` as the walk would, its answer given the CORS headers `OpenCORS` would give it; every other
request, a CORS preflight included, takes the usual way.

Skipping the middleware changes no answer: a face answers every failure in its own envelope, an unexpected
exception as its 500 (`simulator.mounting.FaceApp`), so nothing the error and exception middleware handle ever
leaves it. The control layer (simulator.control.layer) sends a request no fault can apply to down its lane itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.cors import open_answer, preflight
from simulator.mounting import FaceApp


class FaceLanes:
    """The outermost layer of the Starlette app's stack (inside the control layer): `app` is the rest of it."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self.lanes = face_lanes(router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.lanes.get(get_route_path(scope))
            if route is not None and not preflight(scope):
                await route.handle(self.enter(route, scope), receive, open_answer(scope, send))
                return
        await self.app(scope, receive, send)

    def enter(self, route: BaseRoute, scope: Scope) -> Scope:
        """`scope` as Router.app passes it to the route it found: call the route's `handle` with it."""
        _, child_scope = route.matches(scope)
        scope.setdefault("router", self.router)
        scope["route"] = route
        scope.update(child_scope)
        return scope


def face_lanes(routes: Sequence[BaseRoute]) -> dict[str, BaseRoute]:
    """Literal path -> the face route the walk over `routes` picks for it, for every path a face serves as such."""
    lanes: dict[str, BaseRoute] = {}
    for route in routes:
        for path in _literal_paths(route):
            if path not in lanes and _first_match(routes, path) is route:
                lanes[path] = route
    return lanes


def _literal_paths(route: BaseRoute) -> Iterator[str]:
    if isinstance(route, Route) and isinstance(route.app, FaceApp) and route.methods is None and not route.param_convertors:
        yield route.path
    elif isinstance(route, Mount) and isinstance(route.app, FaceApp):
        for inner in route.app.router.routes:
            if isinstance(inner, Route) and not inner.param_convertors:
                yield route.path + inner.path


def _first_match(routes: Sequence[BaseRoute], path: str) -> BaseRoute | None:
    """The first route matching `path` at all; a face's routes match whatever the method, so the walk picks it."""
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    return next((route for route in routes if route.matches(scope)[0] is not Match.NONE), None)
