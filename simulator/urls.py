"""Where clients reach this server, and where an image lives on it: every face builds its URLs from these."""

from __future__ import annotations

from functools import lru_cache

from starlette.datastructures import URL
from starlette.requests import Request

from simulator.context import DEFAULT_NAMESPACE, namespace
from simulator.http import request_header
from simulator.namespace_path import namespace_base_path

LOOPBACK_FOR_WILDCARD = {"0.0.0.0": "127.0.0.1", "::": "::1"}
"""The address a client on this machine reaches a server at that listens on every interface (of IPv4, of IPv6)."""


def listening_url(host: str, port: int) -> str:
    """The base URL at which a client on this machine reaches a server listening on `host` and `port`: the banner's
    URLs and the start-up health check, one mapping for both, so that every URL the banner prints answers.

    Decision: a wildcard host is shown as its loopback address (`--host 0.0.0.0` as http://127.0.0.1:PORT), which
    answers on every machine, where browsers refuse http://0.0.0.0; an IPv6 address is bracketed, as a URL writes it
    (http://[::1]:PORT; `http://::1:PORT` is no URL)."""
    host = LOOPBACK_FOR_WILDCARD.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def base_url(request: Request, public_url: str | None) -> str:
    """Where clients reach this server: --public-url when given, else the host the request was sent to."""
    if public_url:
        return public_url.rstrip("/")
    scope = request.scope
    server = scope.get("server")
    return _request_base(
        scope["scheme"],
        tuple(server) if server else None,
        scope.get("app_root_path", scope.get("root_path", "")),
        request_header(request, b"host"),
    )


def namespaced_base_url(request: Request, public_url: str | None, name: str | None = None) -> str:
    """`base_url` plus a namespace base path (`/_sim/ns/<name>`) outside the default namespace: for URLs a client
    calls back as API requests (a BFL polling URL, a BFL sample), which must land in the namespace they belong to, or
    a fault rule, the journal and the rate windows of that namespace would miss them. `name` is that namespace (a
    BFL task's own, for its sample), the request's when not given.

    Decision: whether the namespace came as a base path or as the `X-Sim-Namespace` header. A URL cannot carry a
    header, and a client that sent one meant all its calls for that namespace; the base path and the header name the
    same namespace, so a client that sends both stays in it. Image URLs stay plain (see namespace_path).
    """
    name = namespace() if name is None else name
    base = base_url(request, public_url)
    return base if name == DEFAULT_NAMESPACE else base + namespace_base_path(name)


@lru_cache(maxsize=256)
def _request_base(scheme: str, server: tuple[str, int] | None, root_path: str, host: str | None) -> str:
    """Starlette's `request.base_url`, remembered: building it costs a tenth of a url response's server time."""
    headers = [(b"host", host.encode("latin-1"))] if host is not None else []
    scope = {"type": "http", "scheme": scheme, "server": server, "path": root_path or "/", "query_string": b"", "headers": headers}
    return str(URL(scope=scope)).rstrip("/")


def image_url(base: str, image_id: str) -> str:
    return f"{base}/images/{image_id}.png"
