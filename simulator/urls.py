"""Where clients reach this server, and where an image lives on it: every face builds its URLs from these."""

from __future__ import annotations

from functools import lru_cache

from starlette.datastructures import URL
from starlette.requests import Request

from simulator.http import request_header


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


@lru_cache(maxsize=256)
def _request_base(scheme: str, server: tuple[str, int] | None, root_path: str, host: str | None) -> str:
    """Starlette's `request.base_url`, remembered: building it costs a tenth of a url response's server time."""
    headers = [(b"host", host.encode("latin-1"))] if host is not None else []
    scope = {"type": "http", "scheme": scheme, "server": server, "path": root_path or "/", "query_string": b"", "headers": headers}
    return str(URL(scope=scope)).rstrip("/")


def image_url(base: str, image_id: str) -> str:
    return f"{base}/images/{image_id}.png"
