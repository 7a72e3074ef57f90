"""Near misses: the API routes a request that no route serves was probably meant for, named in the Perf API's 404
and 405 ("did you mean /v1/images/generations (perf) or /openai/v1/images/generations (openai)?").

The usual mistake is a base URL with a path part missing or doubled: the openai SDK given `http://host:8080` sends
`POST /images/generations`, the google-genai client given `http://host:8080` sends `/v1beta/models/...:predict`. So
a request's path is tried with leading segments dropped and a route's leading literal segments put in front, and
against close spellings of the routes without parameters (`/v1/images/generationz`), in the order `RouteHints._near`
gives. Only routes that take the request's method are named: a path some route serves with another method already
gets a 405 naming the methods.

Decision: only the Perf API's answers (ours to word) name near misses; a provider face answers an unknown path in its
provider's own words, as its official client expects them. One exception, after OpenAI's words: the OpenAI face's 404
for a base URL without `/v1` names the route (`simulator.providers.openai.face.unknown_route`).

Decision: a BFL root path under the namespace `v1` (`/_sim/ns/v1/flux-dev`) is what the `blackforest` client sends
when given a namespace base URL, so its 404 says that, and how to give the namespace, rather than naming routes
inside namespace `v1`, which only urljoin chose.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from starlette.routing import Route, compile_path

from simulator.engine.errors import ApiError
from simulator.mounting import UnknownRoute
from simulator.namespace_path import namespace_base_path, split_namespace_path
from spec.providers.bfl import BFL_ROOT_PATHS, BFL_ROOT_PREFIXES

MAX_HINTS = 3
CLOSE_SPELLING = 0.85
"""difflib's ratio from which a route's path counts as a misspelling of the request's."""
_LONGEST_PATH_SEGMENTS = 12
"""Paths with more segments are not tried for a missing or doubled base path: the search grows with them, and no
real base-URL mistake has that many."""


BLACKFOREST_JOINED = "v1"
"""The namespace a `blackforest` client given a namespace base URL lands in: it joins `v1/<model>` onto its base URL
with urljoin, which drops the base's last segment, so `http://host/_sim/ns/job7` sends `/_sim/ns/v1/flux-dev`."""
BLACKFOREST_BASE_PATH_HINT = (
    "this looks like the blackforest client given a namespace base URL (http://HOST:PORT/_sim/ns/NAME): it drops the "
    "last path segment of its base URL, so {path} landed in namespace 'v1'. Give BFLClient the server's root "
    "(base_url=perf_sim.server_url) and the namespace in a header: "
    "client.session.headers['X-Sim-Namespace'] = 'NAME' (perf_sim.headers)"
)


def blackforest_joined_path(path: str) -> str | None:
    """The BFL root path a request to `path` meant (`/v1/flux-dev`) when it is what a `blackforest` client given a
    namespace base URL sends (`/_sim/ns/v1/flux-dev`), else None."""
    name, rest = split_namespace_path(path)
    if name != BLACKFOREST_JOINED:
        return None
    meant = f"/{name}{rest}"
    return meant if meant in BFL_ROOT_PATHS or meant.startswith(BFL_ROOT_PREFIXES) else None


@dataclass(frozen=True)
class ApiRoute:
    face: str
    path: str
    """The full path template, from the server's root (`/google/v1beta/models/{model}:predict`)."""
    methods: frozenset[str]

    @property
    def bases(self) -> tuple[str, ...]:
        """The route's leading literal segments, each a base path a client may have left out (`/openai`,
        `/openai/v1`, `/openai/v1/images` for `/openai/v1/images/generations`)."""
        literal = self.path.split("{", 1)[0].split("/")[1:-1]
        return tuple("/" + "/".join(literal[:count]) for count in range(1, len(literal) + 1))


def face_routes(face: str, prefix: str, root_paths: Iterable[str], routes: Iterable[Route]) -> list[ApiRoute]:
    """A face's routes (relative to its `prefix`) as full paths, and again at the root for those it serves there."""
    found: list[ApiRoute] = []
    for route in routes:
        methods = frozenset(route.methods or ())
        found.append(ApiRoute(face, prefix + route.path, methods))
        if route.path in root_paths:
            found.append(ApiRoute(face, route.path, methods))
    return found


class RouteHints:
    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self.routes = tuple(routes)
        self._patterns: dict[ApiRoute, re.Pattern[str]] = {route: compile_path(route.path)[0] for route in self.routes}
        # Remembered per request line: a client repeating a wrong URL gets the same hint without the search.
        self.near = lru_cache(maxsize=1024)(self._near)

    def hinting(self, unknown_route: UnknownRoute) -> UnknownRoute:
        """`unknown_route`, its 404 and 405 naming near misses."""
        return lambda method, path, allowed: self.hinted(unknown_route(method, path, allowed), method, path)

    def hinted(self, error: ApiError, method: str, path: str) -> ApiError:
        """`error` (a 404 or 405 of the Perf API), naming the routes near `method path` when there are any, under the
        namespace base path the request came by: a hint without it would take the app out of its test's namespace."""
        bfl_path = blackforest_joined_path(path)
        if bfl_path is not None:
            message = BLACKFOREST_BASE_PATH_HINT.format(path=bfl_path)
            return ApiError(error.type, f"{error.message}; {message}", error.param, error.retry_after, error.given_status)
        name, searched = split_namespace_path(path)
        base = "" if name is None else namespace_base_path(name)
        near = self.near(method, searched)
        if not near:
            return error
        named = " or ".join(f"{base}{route_path} ({face})" for face, route_path in near)
        return ApiError(error.type, f"{error.message}; did you mean {named}?", error.param, error.retry_after, error.given_status)

    def _near(self, method: str, path: str) -> tuple[tuple[str, str], ...]:
        """(face, path) of up to MAX_HINTS routes taking `method` that `path` may have been meant for.

        Decision: a route reached by putting a base path in front of the whole request path (a base URL missing a
        part) comes first; then close spellings of the request path, which keep its base path and so its face; only
        then routes reached by dropping leading segments. Those keep only the request's tail, and may be another
        face's: `/v1/images/generate` keeps only `/generate` to reach `/ideogram/generate`, a provider whose body is
        not the Perf API's, when the Perf API's `/v1/images/generations` is one typo away."""
        serving = [route for route in self.routes if method in route.methods]
        dropped, rebased = self._rebased(serving, path)
        if dropped == 0:
            return tuple(dict.fromkeys(rebased))[:MAX_HINTS]
        literal = {route.path: route.face for route in serving if "{" not in route.path and route.path != path}
        close = [(literal[near], near) for near in difflib.get_close_matches(path, literal, MAX_HINTS, CLOSE_SPELLING)]
        return tuple(dict.fromkeys([*close, *rebased]))[:MAX_HINTS]

    def _rebased(self, serving: list[ApiRoute], path: str) -> tuple[int, list[tuple[str, str]]]:
        """Routes that serve `path` with the fewest leading segments dropped and a base path put in front, the
        shortest base first, and how many segments were dropped for them (none found: an empty list)."""
        segments = path.split("/")[1:]
        if len(segments) > _LONGEST_PATH_SEGMENTS:
            return len(segments), []
        tried = sorted(((base, route) for route in serving for base in ("", *route.bases)), key=lambda pair: len(pair[0]))
        for dropped in range(len(segments)):
            rest = "/" + "/".join(segments[dropped:])
            found = [
                (route.face, base + rest) for base, route in tried if base + rest != path and self._patterns[route].fullmatch(base + rest)
            ]
            if found:
                return dropped, found
        return len(segments), []
