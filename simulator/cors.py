"""CORS open to every origin, as Starlette's `CORSMiddleware` answers with allow-all settings and credentials, at less
per-request cost.

Browsers call the simulator from any page (the home page, a web app under test), so every origin, method and
header is allowed, credentialed requests too (`fetch(..., {credentials: 'include'})`, axios `withCredentials`: an app
whose client sends them for its own backend), as Prism answers them: the request's `Origin` is reflected with
`Access-Control-Allow-Credentials: true`, since a browser refuses `*` for a credentialed request. Every response header
is exposed to an uncredentialed request (`*`), and the headers clients read (`EXPOSED_HEADERS`) to a credentialed one,
for which `*` is only a header's name. Starlette's middleware builds a `Headers` for every request and a
`MutableHeaders` for every response; on the hot path that was a tenth of a url response's server time. This layer
scans the raw header list once and appends the same headers, in the same order, to the same responses, their byte
strings made once but for the Origin's value; preflight requests (rare) go to Starlette's own code, so they answer
exactly as before, but for the body of a refusal (`refused_preflight`). Tests hold the two in agreement
(tests/test_cors.py). Docs: docs/control.md, "Browser apps".
"""

from __future__ import annotations

from collections.abc import Collection
from operator import itemgetter

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.engine.errors import invalid, quoted
from simulator.http import SafeJSONResponse
from spec.providers.openai import OPENAI_HEADER_LIMIT, OPENAI_HEADER_REMAINING, OPENAI_HEADER_RESET
from spec.tiers import RATE_LIMIT_HEADERS

EXPOSED_HEADERS = (
    "x-request-id",
    "retry-after",
    *RATE_LIMIT_HEADERS,
    "allow",  # a 405's
    # OpenAI's face
    "retry-after-ms",
    "x-should-retry",
    OPENAI_HEADER_LIMIT,
    OPENAI_HEADER_REMAINING,
    OPENAI_HEADER_RESET,
    "openai-processing-ms",
    "openai-version",
    "openai-organization",
    # BFL's 429
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    # Stability's image answer
    "finish-reason",
    "seed",
)
"""The response headers a client reads that a browser hides unless exposed (beyond Content-Type, Cache-Control and
the other CORS-safelisted ones): every one an API face sends (tests/test_cors_app.py collects them from every face's
answers). Exposed by name for a credentialed request, for which `Access-Control-Expose-Headers: *` exposes none."""

EMBEDDABLE = {"Cross-Origin-Resource-Policy": "cross-origin"}
"""On an image's answer (`/images/...`, a BFL sample): a page that isolates itself (`Cross-Origin-Embedder-Policy:
require-corp`, for SharedArrayBuffer or WebAssembly threads) may then show it in a plain `<img>`, as it may any
image of a CDN made to be embedded."""

_ORIGIN = b"origin"
_PREFLIGHT = b"access-control-request-method"
_VARY = b"vary"
_VARY_ORIGIN = (_VARY, b"Origin")
_ALLOW_ORIGIN = b"access-control-allow-origin"
_name = itemgetter(0)


def _allow_all(app: ASGIApp) -> CORSMiddleware:
    return CORSMiddleware(
        app,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=True,
        expose_headers=["*", *EXPOSED_HEADERS],
    )


_SIMPLE = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in _allow_all(Response()).simple_headers.items()]
"""What Starlette adds to an answer to a request with an Origin, `Access-Control-Allow-Origin` first: its `*`
then takes the Origin's value (`cors_headers`)."""
assert _SIMPLE[0][0] == _ALLOW_ORIGIN
_AFTER_ORIGIN = _SIMPLE[1:]


class OpenCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.starlette = _allow_all(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if preflight(scope):
            request_headers = Headers(scope=scope)
            answer = self.starlette.preflight_response(request_headers=request_headers)
            if answer.status_code == 400:
                answer = refused_preflight(answer, request_headers, self.starlette.allow_methods)
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, open_answer(scope, send))


_REFUSED_PREFIX = b"Disallowed CORS "


def refused_preflight(refusal: Response, request_headers: Headers, methods: Collection[str]) -> Response:
    """Starlette's refusal of a preflight (`Disallowed CORS method`, in plain text) as the simulator's other 400s
    are: in the Perf envelope, naming the header refused, with the same headers. Allowing every origin and header, it
    refuses only a method outside Starlette's list (`FOO`, a lower-case `post`) and private network access.

    Decision: no `x-request-id` is drawn for it, as no face answered: a browser reads no preflight's body, and an
    error id drawn would shift the ids of the namespace's API errors after it (simulator.perf.wire.ErrorIds)."""
    failures = bytes(refusal.body).removeprefix(_REFUSED_PREFIX).decode("latin-1").split(", ")
    if failures[0] == "method":
        method = request_headers["access-control-request-method"]
        error = invalid(
            "Access-Control-Request-Method",
            f"Access-Control-Request-Method: {quoted(method)} is no method a preflight is allowed for (methods are "
            f"case-sensitive); methods: {', '.join(methods)}",
        )
    elif failures[0] == "private-network":
        error = invalid(
            "Access-Control-Request-Private-Network",
            "Access-Control-Request-Private-Network: private network access is not allowed (a page on a public origin "
            "calling the simulator at a private address)",
        )
    else:  # an origin or a header, which an allow-all policy never refuses
        error = invalid(None, f"CORS preflight refused: {', '.join(failures)}")
    headers = {name: value for name, value in refusal.headers.items() if name not in ("content-length", "content-type")}
    return SafeJSONResponse(error.envelope(), status_code=400, headers=headers)


def preflight(scope: Scope) -> bool:
    """Whether the request is a browser's CORS preflight, which Starlette's own code answers; every other request
    gets its answer's CORS headers from `open_answer`. (Header names scanned in C, `in` over a map, not by a Python
    loop: this runs on every request.)"""
    return scope["method"] == "OPTIONS" and _ORIGIN in map(_name, scope["headers"]) and _PREFLIGHT in map(_name, scope["headers"])


def open_answer(scope: Scope, send: Send) -> Send:
    """`send` adding the CORS headers to an answer that is not a preflight's: the app's own answers (through
    `OpenCORS`, or a face's lane, simulator.face_lanes), and those made outside the app (the control layer's injected
    faults, its refusal of a bad namespace), so a browser app under test sees the fault, not a CORS error."""
    return _sending_with_cors(send, cors_headers(scope))


def cors_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The CORS headers of an answer to this request (`add_cors_headers` adds them): none without an Origin; with one,
    that Origin allowed, credentials too: the only bytes made per request are the Origin's pair. (A Python loop over
    the raw headers, which callgrind counts at fewer instructions than `in` over a map of their names for a request's
    4 to 13 headers, and which finds the value too.)"""
    for name, value in scope["headers"]:
        if name == _ORIGIN:
            return [(_ALLOW_ORIGIN, value), *_AFTER_ORIGIN]
    return []


def _sending_with_cors(send: Send, simple: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            add_cors_headers(message.setdefault("headers", []), simple)
        await send(message)

    return send_with_cors


def add_cors_headers(headers: list[tuple[bytes, bytes]], simple: list[tuple[bytes, bytes]]) -> None:
    """As Starlette's CORS `send` edits a response's headers, in place: with an Origin, the allow-origin and expose
    headers; always `Vary: Origin`, joined to any Vary the app set."""
    names = set(map(_name, headers))
    if _VARY not in names and names.isdisjoint(map(_name, simple)):
        # The usual response: none of these headers yet, so each goes last, as `_set` would put it.
        headers += simple
        headers.append(_VARY_ORIGIN)
        return
    for name, value in simple:
        _set(headers, name, value)
    varies = [value for name, value in headers if name == _VARY]
    _set(headers, _VARY, b", ".join([*varies, b"Origin"]))


def _set(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> None:
    """`MutableHeaders.__setitem__`: the first header of that name takes the value in its place, later ones go;
    a new name goes last."""
    found = [i for i, (key, _) in enumerate(headers) if key == name]
    for i in reversed(found[1:]):
        del headers[i]
    if found:
        headers[found[0]] = (name, value)
    else:
        headers.append((name, value))
