"""The metrics' `route` label: a request path's route template, as the face that serves it declares it.

`/google/v1beta/models/{model}:predict` and `/bfl/delivery/{task_id}/sample.{ext}` are one label each, not one per
model, task or id, and a path no face serves is `unmatched`, whatever answered it (its 404, or an injected fault
that answered first): the label set is the faces' routes, bounded whatever paths clients send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from starlette.routing import BaseRoute, Mount, Route, compile_path

UNMATCHED_ROUTE = "unmatched"
_KNOWN_PATHS = 4096
"""Paths whose template is remembered; beyond them each is looked up again (BFL's sample paths are one per task)."""


def _templates(routes: Sequence[BaseRoute]) -> Iterator[str]:
    for route in routes:
        if isinstance(route, Mount):
            inner = getattr(route.app, "router", route.app)  # a face (simulator.mounting.FaceApp) routes by its router
            yield from (route.path + template for template in _templates(getattr(inner, "routes", ())))
        elif isinstance(route, Route):
            yield route.path


class RouteNames:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.templates: list[tuple[re.Pattern[str], str]] = [(compile_path(template)[0], template) for template in _templates(routes)]
        self.known: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        name = self.known.get(path)
        if name is None:
            name = next((template for pattern, template in self.templates if pattern.match(path)), UNMATCHED_ROUTE)
            if len(self.known) < _KNOWN_PATHS:
                self.known[path] = name
        return name
