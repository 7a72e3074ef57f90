"""A base URL that implies a namespace: `/_sim/ns/<name>/...` is `/...` sent with `X-Sim-Namespace: <name>`.

For apps under test that take only a base URL (an `OPENAI_BASE_URL` environment variable, a settings field) and
cannot add a header: pointing them at `http://host/_sim/ns/<name>/v1` puts every request they send in namespace
<name>. Image URLs the simulator returns are its plain ones: images belong to no namespace, so they resolve from
anywhere (a browser, an `<img>` tag) without the prefix, and are never journalled nor faulted. A URL a client calls
back as an API request carries the prefix instead, so it stays in the namespace (`urls.namespaced_base_url`): a BFL
polling URL (the submitter's namespace) and a BFL sample URL (its task's namespace), journalled and faulted there.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import Scope

CONTROL_PREFIX = "/_sim/"
"""The simulator's own paths (control API, dashboard): never faulted nor journalled."""
_CONTROL_ROOT = CONTROL_PREFIX.rstrip("/")


def is_control_path(path: str) -> bool:
    """Whether `path` is the simulator's own: under CONTROL_PREFIX, or `/_sim` itself (a 404 pointing to the control
    API's document)."""
    return path.startswith(CONTROL_PREFIX) or path == _CONTROL_ROOT


PREFIX = CONTROL_PREFIX + "ns/"
_RAW_PREFIX = PREFIX.encode()
NAMESPACE_HEADER = b"x-sim-namespace"


def namespace_base_path(namespace: str) -> str:
    return f"{PREFIX}{namespace}"


NAMED_BY_PATH = "perf_sim.namespace_path"
"""The scope's key for the namespace its base path named, for an error message that says where a name came from."""


def path_as_sent(scope: Scope) -> str:
    """The request's path with the namespace base path it came by, if any (`/_sim/ns/jobA/v2/images`), for a message
    about the path the client sent."""
    name = scope.get(NAMED_BY_PATH)
    return scope["path"] if name is None else namespace_base_path(name) + scope["path"]


def split_namespace_path(path: str) -> tuple[str | None, str]:
    """(the namespace `path`'s base path names, or None, the rest): `/_sim/ns/jobA/v2` -> (`jobA`, `/v2`)."""
    if not path.startswith(PREFIX):
        return None, path
    name, slash, rest = path[len(PREFIX) :].partition("/")
    return name, slash + rest


def namespace_from_path(scope: Scope) -> Scope:
    """The request `/_sim/ns/<name>/...` (its path starts with PREFIX) as `/...` sent with the namespace header, so
    every layer below sees an ordinary request of that namespace. Called by the control layer, the first to see each
    request, before it reads the namespace.

    Decision: a namespace header the client sent as well is kept, after the path's: naming another namespace, it
    makes the request a 400 as any two names do (a client's session header on top of a namespaced base URL would
    otherwise move its requests to another namespace without a word); naming the same one, it is one name."""
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes) and raw_path.startswith(_RAW_PREFIX):
        # The name is read from the path as sent: `a%2Fb` is the name `a/b` (which the layer refuses), not `a`
        # followed by a path `/b/...` that no route serves.
        segment = raw_path[len(_RAW_PREFIX) :].partition(b"/")[0]
        name = unquote(segment.decode("latin-1"))
        rest, raw_path = scope["path"][len(PREFIX) + len(name) :], raw_path[len(_RAW_PREFIX) + len(segment) :]
    else:
        named, rest = split_namespace_path(scope["path"])
        name = named or ""
    headers = [(NAMESPACE_HEADER, name.encode("latin-1", "replace")), *scope.get("headers", [])]
    return {**scope, "path": rest or "/", "raw_path": raw_path, "headers": headers, NAMED_BY_PATH: name}
