"""The API faces this server speaks, declared once: name, where each is mounted, its face, its error envelope, what its
requests tell the journal and its gateway adapter. Everything else (the app's routes, the gateway, `/_sim/usage`, the CLI
banner, the tests' parametrisation) reads this table.

Layout (chosen so every official client works unchanged with only its base URL changed):
- perf        /v1/...                   (the document's API)
- openai      /openai/v1/...            (openai SDK: base_url=".../openai/v1")
- stability   /stability/v2beta/...
- bfl         /bfl/v1/... and, because the `blackforest` client drops any path in its base URL, its submit and poll
              paths at the root too (/v1/flux-pro, /v1/flux-dev, /v1/get_result: they do not collide with the Perf API),
              and BFL's other root paths, answered in its envelope (/v1/flux-*, /v1/get_result/..., /v1/licenses/...)
- ideogram    /ideogram/generate
- google      /google/v1beta/... and /google/v1beta1/projects/... (Gemini and Vertex paths)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.config import SimulatorConfig
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.gateway.upstreams import provider_base_urls
from simulator.journal_view import JournalView
from simulator.keys import KeyRegistry
from simulator.mounting import FaceApp, OwnedPaths, UnknownRoute, unknown_route_error
from simulator.perf import face as perf_face
from simulator.perf import journal_view as perf_journal
from simulator.perf import wire as perf_wire
from simulator.perf.gateway import GatewayFace
from simulator.providers.bfl import face as bfl_face
from simulator.providers.bfl import journal_view as bfl_journal
from simulator.providers.bfl import mapping as bfl_mapping
from simulator.providers.google import face as google_face
from simulator.providers.google import journal_view as google_journal
from simulator.providers.google import mapping as google_mapping
from simulator.providers.ideogram import face as ideogram_face
from simulator.providers.ideogram import journal_view as ideogram_journal
from simulator.providers.ideogram import mapping as ideogram_mapping
from simulator.providers.openai import face as openai_face
from simulator.providers.openai import journal_view as openai_journal
from simulator.providers.openai import mapping as openai_mapping
from simulator.providers.protocol import Upstream
from simulator.providers.stability import face as stability_face
from simulator.providers.stability import journal_view as stability_journal
from simulator.providers.stability import mapping as stability_mapping
from simulator.route_hints import RouteHints, face_routes
from spec import errors
from spec.models import MODELS, PERF_FACE
from spec.providers import bfl as bfl_spec
from spec.providers import stability as stability_spec

MalformedBytes = Callable[[Headers], tuple[bytes, dict[str, str]] | None]
"""A request's headers -> the `malformed` fault's body and headers when that request asked for bytes, else None."""


@runtime_checkable
class Served(Protocol):
    """A face's handlers, bound to one engine: its routes, relative to the face's prefix."""

    def routes(self) -> list[Route]: ...


@runtime_checkable
class Closing(Protocol):
    """A face that holds something open (the gateway's upstream client) until the server stops."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Face:
    name: str
    prefix: str
    """Where the face is mounted; its routes are relative to it."""
    client_base_path: str
    """The face's base URL on this server, relative to its root, as the provider's official client takes it."""
    serve: Callable[[Engine, KeyRegistry, SimulatorConfig], Served]
    answer: Callable[[ApiError], Response]
    """Any error in the face's own envelope."""
    journal: JournalView = field(kw_only=True)
    """What the control layer's journal reads of the face's requests and error answers, in its wire terms."""
    malformed: bytes = field(kw_only=True)
    """The start of the face's own success answer, cut short: the `malformed` fault's body. One shape for every face
    put a Perf answer in a BFL or Google client's error message."""
    malformed_bytes: MalformedBytes | None = field(default=None, kw_only=True)
    """For a face whose success answer may be bytes rather than JSON (Stability's image): the `malformed` body, with
    the headers that replace its content type, for a request that asked for the bytes (None: the JSON one above)."""
    unknown_route: UnknownRoute = unknown_route_error
    names_base_path: bool = field(default=False, kw_only=True)
    """Whether `unknown_route` is given the path with the namespace base path it came by (`mounting.FaceApp`): the
    faces whose 404 names a path to use instead (the Perf API; the OpenAI face, for a base URL without `/v1`)."""
    root_paths: tuple[str, ...] = ()
    """Paths the face also serves at the server's root, outside its prefix."""
    root_prefixes: tuple[str, ...] = ()
    """Root paths starting so are the face's too: it answers them (with its own 404 or 405 when it serves none)."""
    upstream: Upstream | None = None
    """How the Perf gateway calls this provider over HTTP, in its mapping's terms (None for the Perf API itself)."""
    max_body_bytes: int = errors.MAX_BODY_BYTES
    """The largest body the face reads (its spec's, for faces whose requests may carry an image), so the control
    layer reads as much for the journal."""

    @property
    def models(self) -> tuple[str, ...]:
        """The Perf models this face renders (the Perf API renders them all)."""
        return tuple(name for name, model in MODELS.items() if self.name in (PERF_FACE, model.provider))

    def owns(self, path: str) -> bool:
        return self.owns_at_root(path) or path == self.prefix or path.startswith(self.prefix + "/")

    def owns_at_root(self, path: str) -> bool:
        return path in self.root_paths or path.startswith(self.root_prefixes)

    def may_own_under(self, prefix: str) -> bool:
        """Whether some path starting with `prefix` is one this face claims (under its prefix or at the root)."""
        mounted = self.prefix + "/"
        return (
            mounted.startswith(prefix)
            or prefix.startswith(mounted)
            or any(path.startswith(prefix) for path in self.root_paths)
            or any(root.startswith(prefix) or prefix.startswith(root) for root in self.root_prefixes)
        )

    @property
    def path_starts(self) -> tuple[str, ...]:
        """How the face's paths start, as a message names them: its prefix, then its root prefixes and paths. For the
        Perf API, only its prefix: it also takes every path no other face serves (`faces_under`), which a message
        about it says instead."""
        roots = (path for path in self.root_paths if not path.startswith(self.root_prefixes))
        return (self.prefix + "/", *self.root_prefixes, *roots)


def _serve_perf(engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> Served:
    if config.gateway:
        return GatewayFace(engine, keys, config, gateway_upstreams(config))
    return perf_face.PerfFace(engine, keys, config.public_url)


PROVIDER_FACES: tuple[Face, ...] = (
    Face(
        "openai",
        openai_face.PREFIX,
        f"{openai_face.PREFIX}/v1",
        openai_face.OpenAIFace,
        openai_face.error_response,
        openai_face.unknown_route,
        names_base_path=True,
        journal=openai_journal.JOURNAL_VIEW,
        upstream=openai_mapping.UPSTREAM,
        malformed=openai_face.MALFORMED_ANSWER,
    ),
    Face(
        "stability",
        stability_face.PREFIX,
        stability_face.PREFIX,
        lambda engine, keys, config: stability_face.StabilityFace(engine, keys),
        stability_face.error_response,
        stability_face.unknown_route,
        journal=stability_journal.JOURNAL_VIEW,
        upstream=stability_mapping.UPSTREAM,
        malformed=stability_face.MALFORMED_ANSWER,
        malformed_bytes=stability_face.malformed_image,
        max_body_bytes=stability_spec.STABILITY_MAX_BODY_BYTES,
    ),
    Face(
        "bfl",
        bfl_face.PREFIX,
        "",
        lambda engine, keys, config: bfl_face.BflFace(engine, keys, config.public_url),
        bfl_face.error_response,
        bfl_face.unknown_route,
        journal=bfl_journal.JOURNAL_VIEW,
        root_paths=bfl_spec.BFL_ROOT_PATHS,
        root_prefixes=bfl_spec.BFL_ROOT_PREFIXES,
        upstream=bfl_mapping.UPSTREAM,
        malformed=bfl_face.MALFORMED_ANSWER,
        max_body_bytes=bfl_spec.BFL_MAX_BODY_BYTES,
    ),
    Face(
        "ideogram",
        ideogram_face.PREFIX,
        ideogram_face.PREFIX,
        ideogram_face.IdeogramFace,
        ideogram_face.error_response,
        ideogram_face.unknown_route,
        journal=ideogram_journal.JOURNAL_VIEW,
        upstream=ideogram_mapping.UPSTREAM,
        malformed=ideogram_face.MALFORMED_ANSWER,
    ),
    Face(
        "google",
        google_face.PREFIX,
        google_face.PREFIX,
        lambda engine, keys, config: google_face.GoogleFace(engine, keys),
        google_face.error_response,
        google_face.unknown_route,
        journal=google_journal.JOURNAL_VIEW,
        upstream=google_mapping.UPSTREAM,
        malformed=google_face.MALFORMED_ANSWER,
    ),
)
FACES: tuple[Face, ...] = (
    Face(
        PERF_FACE,
        perf_wire.PREFIX,
        perf_wire.PREFIX,
        _serve_perf,
        perf_wire.error_response,
        perf_wire.unknown_route,
        names_base_path=True,
        journal=perf_journal.JOURNAL_VIEW,
        malformed=perf_wire.MALFORMED_ANSWER,
    ),
    *PROVIDER_FACES,
)
FACE_NAMES: tuple[str, ...] = tuple(face.name for face in FACES)
PROVIDER_NAMES: tuple[str, ...] = tuple(face.name for face in PROVIDER_FACES)
BY_NAME: dict[str, Face] = {face.name: face for face in FACES}
CLIENT_BASE_PATHS: dict[str, str] = {face.name: face.client_base_path for face in PROVIDER_FACES}
MAX_BODY_BYTES: dict[str, int] = {face.name: face.max_body_bytes for face in FACES}
JOURNAL_VIEWS: dict[str, JournalView] = {face.name: face.journal for face in FACES}


def face_for_path(path: str) -> str | None:
    """The API face a request path belongs to; None for a path no face owns: the server's own pages (/, /_sim/...,
    /images/..., /openapi.json), or a request nothing serves, which the control layer makes the Perf API's.

    Root paths are looked at first, as they are routed first: /v1/flux-pro (and /v1/flux-*, /v1/get_result/...,
    /v1/licenses/...) is BFL's, any other /v1/... the Perf API's."""
    for face in FACES:
        if face.owns_at_root(path):
            return face.name
    for face in FACES:
        if face.owns(path):
            return face.name
    return None


def faces_under(prefix: str) -> tuple[str, ...]:
    """The faces a request whose path starts with `prefix` can belong to, as `face_for_path` and the control layer
    decide (the Perf API taking any path no face owns but the simulator's own pages): what a fault rule's `match.face`
    and `match.path` must agree on.

    A prefix inside a face's root prefixes, or under its mount where no other face claims a path, is that face's
    alone (`/openai/v1` is OpenAI's, `/v1/flux-pro` BFL's, `/v1/images` the Perf API's); any other prefix can be
    extended to a path no face owns, so it is the Perf API's as well as of every face claiming a path under it."""
    for face in FACES:
        if prefix.startswith(face.root_prefixes):
            return (face.name,)
    for face in FACES:
        others = (other for other in FACES if other is not face)
        if prefix.startswith(face.prefix + "/") and not any(other.may_own_under(prefix) for other in others):
            return (face.name,)
    return tuple(face.name for face in FACES if face.name == PERF_FACE or face.may_own_under(prefix))


def error_response(face: str, exc: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """`exc` (any status) in the face's own envelope, with Retry-After when the error says how long to wait."""
    response = BY_NAME[face].answer(exc)
    if exc.retry_after is not None and "retry-after" not in response.headers:
        response.headers["Retry-After"] = str(exc.retry_after)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_MALFORMED_STAND_IN = ApiError(errors.INTERNAL_ERROR, "the malformed fault's stand-in error: its body is never sent")
_MALFORMED_DROPPED_HEADERS = (b"content-length", b"content-type")


def malformed_response(face: str) -> ASGIApp:
    """The `malformed` fault's answer on `face`: 200, `Content-Type: application/json`, the start of the face's own
    success answer cut short, and the headers the face's own error answers carry, its `x-request-id` drawn as theirs
    is, in its provider's form (OpenAI's `req_<32 hex>` with `openai-version` and `openai-organization`, Stability's
    bare 32 hex, the Perf API's `req_err_...`), or none where the face's errors carry none (BFL, Ideogram, Google).
    A face whose success may be bytes (`Face.malformed_bytes`) answers a request that asked for them with bytes cut
    short instead, in their content type (Stability's PNG).

    Decision: no engine ran, so the answer has no engine id, as an error has none; the face's error answer is the one
    place that knows how the face writes such an id, so the body is swapped into it, rather than the control layer
    writing a Perf-form id on every face (which an openai SDK showed as `request_id` in a form OpenAI never sends)."""
    chosen = BY_NAME[face]
    return _MalformedAnswer(chosen.malformed, chosen.malformed_bytes, chosen.answer(_MALFORMED_STAND_IN))


class _MalformedAnswer:
    """A face's error answer sent with status 200 and the malformed body in place of its envelope."""

    def __init__(self, body: bytes, as_bytes: MalformedBytes | None, error: ASGIApp) -> None:
        self.body = body
        self.as_bytes = as_bytes
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.as_bytes(Headers(scope=scope)) if self.as_bytes is not None else None
        body, added = chosen or (self.body, {"content-type": "application/json"})
        dropped = (*_MALFORMED_DROPPED_HEADERS, *(name.lower().encode("latin-1") for name in added))
        typed = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in added.items()]

        async def as_malformed(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message["headers"] if name.lower() not in dropped]
                await send({**message, "status": 200, "headers": [*kept, *typed, (b"content-length", str(len(body)).encode())]})
            elif message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.error(scope, receive, as_malformed)


def control_refusal(face: str, exc: ApiError) -> Response:
    """A 400 for a bad control input (X-Sim-Fault, a [sim:...] token, X-Sim-Namespace) sent to `face`: the Perf
    envelope, as issue 9 asks of every such refusal, with the face's own error fields beside it where they do not
    clash (inside `error` too), so the face's official client reads the message: the `blackforest` client reads only
    a top-level `message` and showed "400 Client Error: Bad Request", google-genai a `status` of None. Also the Perf
    404 a `blackforest` client meets when given a namespace base URL (simulator.app, route_hints), for that reason."""
    perf = error_response(PERF_FACE, exc)
    if face == PERF_FACE:
        return perf
    native, ours = json.loads(bytes(error_response(face, exc).body)), exc.envelope()
    if not isinstance(native, dict):
        return perf
    with_id = native.pop("id", None) is not None  # Stability's, drawn only as its own answer is sent
    inner, error = native.get("error"), ours["error"]
    body = {**native, **ours, "error": {**inner, **error} if isinstance(inner, dict) and isinstance(error, dict) else error}
    headers = {name: value for name, value in perf.headers.items() if name not in ("content-length", "content-type")}
    answer = _RefusalWithId if with_id else perf_wire.ErrorAnswer
    return answer(body, status_code=perf.status_code, headers=headers)  # its x-request-id drawn as it is sent


class _RefusalWithId(perf_wire.ErrorAnswer):
    """A control refusal on a face whose error bodies carry their id (Stability's `{"id", "name", "errors"}`, which
    its clients read): the body's `id` is the refusal's `x-request-id`, drawn as it is sent, so no field the face's
    schema promises is missing and no second id is made up."""

    def __init__(self, content: dict[str, Any], **kwargs: Any) -> None:
        self.content = content
        super().__init__(content, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.body = self.render({"id": self.request_id, **self.content})
                kept = [(name, value) for name, value in message["headers"] if name.lower() != b"content-length"]
                message = {**message, "headers": [*kept, (b"content-length", b"%d" % len(self.body))]}
            elif message["type"] == "http.response.body":
                message = {**message, "body": self.body}
            await send(message)

        await super().__call__(scope, receive, with_id)


def gateway_upstreams(config: SimulatorConfig) -> dict[str, tuple[str, Upstream]]:
    """Provider -> (base URL, how to call it) for every provider this configuration sends upstream."""
    bases = provider_base_urls(config.upstream, config.upstream_overrides, CLIENT_BASE_PATHS)
    return {face.name: (bases[face.name], face.upstream) for face in PROVIDER_FACES if face.name in bases and face.upstream is not None}


def mounted_faces(engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> tuple[list[BaseRoute], list[Closing], RouteHints]:
    """Every face as a sub-application under its prefix (root paths first, as `face_for_path` reads them), answering
    its bare prefix too; the faces to close at shutdown; and the near misses of their routes, which the Perf API's
    404 and 405 name (simulator.route_hints)."""
    served = [(face, face.serve(engine, keys, config)) for face in FACES]
    routes = {face.name: served_face.routes() for face, served_face in served}
    hints = RouteHints(route for face in FACES for route in face_routes(face.name, face.prefix, face.root_paths, routes[face.name]))
    root_routes: list[BaseRoute] = []
    mounts: list[BaseRoute] = []
    closing: list[Closing] = []
    for face, served_face in served:
        if isinstance(served_face, Closing):
            closing.append(served_face)
        unknown_route = hints.hinting(face.unknown_route) if face.name == PERF_FACE else face.unknown_route
        app = FaceApp(face.name, routes[face.name], _answer(face.name), unknown_route, names_base_path=face.names_base_path)
        root_routes += [Route(path, app) for path in face.root_paths]
        root_routes.append(OwnedPaths((face.prefix,), face.root_prefixes, app))
        mounts.append(Mount(face.prefix, app))
    return [*root_routes, *mounts], closing, hints


def _answer(face: str) -> Callable[[ApiError, Mapping[str, str] | None], Response]:
    return lambda exc, headers: error_response(face, exc, headers)
