"""A base URL that implies a namespace: `/_sim/ns/<name>/...` is `/...` sent with `X-Sim-Namespace: <name>`.

For apps under test that take only a base URL (an `OPENAI_BASE_URL` environment variable, a settings field) and
cannot add a header: pointing them at `http://host/_sim/ns/<name>/v1` puts every request they send in namespace
<name>. Image URLs (and BFL sample URLs) the simulator returns are its plain ones: images belong to no namespace,
so they resolve from anywhere (a browser, an `<img>` tag) without the prefix. A URL a client calls back as an API
request (a BFL polling URL) carries the prefix instead, so it stays in the namespace (`urls.namespaced_base_url`).
"""

from __future__ import annotations

from starlette.types import Scope

PREFIX = "/_sim/ns/"
NAMESPACE_HEADER = b"x-sim-namespace"


def namespace_base_path(namespace: str) -> str:
    return f"{PREFIX}{namespace}"


def namespace_from_path(scope: Scope) -> Scope:
    """The request `/_sim/ns/<name>/...` (its path starts with PREFIX) as `/...` sent with the namespace header
    (replacing any sent), so every layer below sees an ordinary request of that namespace. Called by the control
    layer, the first to see each request, before it reads the namespace."""
    name, slash, rest = scope["path"][len(PREFIX) :].partition("/")
    prefix = namespace_base_path(name)
    headers = [(k, v) for k, v in scope.get("headers", []) if k != NAMESPACE_HEADER]
    headers.append((NAMESPACE_HEADER, name.encode("latin-1", "replace")))
    raw_path = scope.get("raw_path")
    return {
        **scope,
        "path": slash + rest or "/",
        "raw_path": raw_path[len(prefix.encode()) :] if isinstance(raw_path, bytes) and raw_path.startswith(prefix.encode()) else raw_path,
        "headers": headers,
    }
