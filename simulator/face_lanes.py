"""The API faces' own paths reached by one dictionary lookup, ahead of Starlette's walk over every route.

Starlette's router tries each route's regex in turn, behind its exception middleware; on the hot path that walk
and that middleware were a sixth of a url response's cost. Every literal path an API face serves (its mount's
prefix joined to a route without parameters, or one of its root paths) is known when the app is built, and so is
the route the walk would pick for it: the first whose regex matches, a face's `Mount` or root `Route`, which take
any method. A request for such a path goes straight to that route, through the route's own `matches` and
`handle` as the walk would; every other request takes the usual way.

Skipping the exception middleware changes no answer: a face answers every failure in its own envelope
(`simulator.mounting.FaceApp`), so nothing the middleware handles ever leaves it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.mounting import FaceApp


class FaceLanes:
    """Starlette middleware, innermost: inside the CORS layer, whose headers every answer still gets."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self.lanes = face_lanes(router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.lanes.get(get_route_path(scope))
            if route is not None:
                # Router.app's steps for the route it would have found.
                _, child_scope = route.matches(scope)
                scope.setdefault("router", self.router)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
