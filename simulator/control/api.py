"""The control API of the fault rules, the request journal and namespaces, under /_sim/ (JSON, Perf envelope errors).

A control call names its namespace with `?namespace=NAME` (or the X-Sim-Namespace header, as API calls do).
Decision: where neither is given, calls over collections (faults, requests, count) cover every namespace,
and calls about one namespace's state (clock, usage) mean the default namespace. `POST /_sim/reset` without a
namespace forgets everything, as it did before namespaces existed. A rule is made in the namespace its body names,
else in the call's, else in the default namespace. A namespace named empty, or named twice differently (query,
header, body), is a 400, as is a query parameter a call does not take or one given twice differently: none is ever
quietly read as "all" or as one of its values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.context import DEFAULT_NAMESPACE, in_namespace
from simulator.control.actions import fault_parts
from simulator.control.journal import MAX_JOURNAL_SIZE, EntryFilter, check_key_id, check_masked_key, check_request_id, key_digest, key_id
from simulator.control.plane import ControlPlane
from simulator.control.prompt_pattern import COUNT_SEARCH_SECONDS, PromptPattern, too_slow
from simulator.control.rules import (
    Match,
    check_face_and_path,
    check_path_prefix,
    match_from_json,
    method_from,
    namespace_from,
    rule_spec_from_json,
)
from simulator.control.since import since_from_query
from simulator.engine.errors import ApiError, cut, invalid, param_name, quoted
from simulator.engine.generate import Engine
from simulator.http import SafeJSONResponse, parse_json, read_body, whole_number
from simulator.keys import KeyRegistry
from simulator.registry import FACE_NAMES, error_response
from simulator.state.base import WindowState
from spec import errors
from spec.models import PERF_FACE
from spec.tiers import mask_key

_LIST_PARAMS = ("face", "path", "method", "model", "status", "key", "key_id", "prompt", "fault", "since", "request_id", "limit")
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = MAX_JOURNAL_SIZE


def namespace_param(request: Request, takes: tuple[str, ...] = ()) -> str | None:
    """The namespace a control call names by `?namespace=` or the X-Sim-Namespace header (which a namespace base path
    `/_sim/ns/<name>/` sets); None when neither. An empty name, or two different ones, is a 400: read as "none", it
    would make the call act on every namespace, which is never what it meant. So is a query parameter other than
    `namespace` and those in `takes`: ignored, a typo (`?namspace=jobA`) would act on every namespace too.

    Decision: every control call takes `namespace`, even those that answer the same in every namespace (health,
    config, namespaces): the typed client names its namespace on every call, as a `/_sim/ns/<name>/` base path does."""
    taken = dict.fromkeys(("namespace", *takes))
    unknown = sorted(set(request.query_params) - set(taken))
    if unknown:
        raise invalid(param_name(unknown[0]), f"{quoted(unknown[0])} is not a parameter of this call; it takes: {', '.join(taken)}")
    for name in takes:  # a filter given twice (?status=429&status=503) would be read as its last value, the other lost
        values = set(request.query_params.getlist(name))
        if len(values) > 1:
            raise invalid(name, f"{name} is given twice, differently ({', '.join(map(quoted, sorted(values)))}): give one")
    named = {*request.query_params.getlist("namespace"), *request.headers.getlist("x-sim-namespace")}
    if len(named) > 1:
        raise invalid("namespace", f"namespace is named twice, differently ({', '.join(map(quoted, sorted(named)))}): name one")
    return namespace_from(named.pop()) if named else None


async def bodiless_namespace(request: Request, call: str) -> str | None:
    """`namespace_param` of a call that takes no body (a reset, a delete), which refuses any body but an empty one or
    `{}` (what a client sending `json={}` writes).

    Decision: a body is never ignored there. `{"namespace": "jobA"}` is how a rule or a count names its namespace,
    and read as nothing it would make a reset or a delete act on every namespace: other jobs' state gone."""
    namespace = namespace_param(request)
    raw = await read_body(request)
    body = parse_json(raw, fields_once=True, request=request) if raw.strip() else {}
    if body == {}:
        return namespace
    if not isinstance(body, dict):
        raise invalid(None, f"{call} takes no body; send none")
    field = next(iter(body))
    if field == "namespace":
        raise invalid(
            "namespace",
            f"{call} takes no body: name its namespace with ?namespace=NAME or the X-Sim-Namespace header, not in the body",
        )
    raise invalid(param_name(field), f"{cut(field)} is not a field of {call}, which takes no body")


def _namespace_of_body(request: Request, body: object) -> str | None:
    """A control call's namespace, which its JSON body may also name: given both ways, they must agree."""
    named = namespace_param(request)
    if not isinstance(body, dict) or "namespace" not in body:
        return named
    in_body = namespace_from(body["namespace"])
    if named is not None and in_body != named:
        raise invalid("namespace", f"the body names namespace {quoted(in_body)} and the request {quoted(named)}: name one")
    return in_body


def _whole_param(request: Request, name: str, low: int, high: int) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    number = whole_number(value)
    if number is None or not low <= number <= high:
        raise invalid(name, f"{name} must be a whole number from {low} to {high}, got {quoted(value)}")
    return number


def _selection(match: Match, namespace: str | None) -> EntryFilter:
    """The journal entries a listing's filters or a count's match select: one reading of both, so a listing shows
    exactly the entries a count counted (its prompt searched within the count's time, over the whole selection)."""
    return EntryFilter(
        face=match.face,
        path=match.path,
        method=match.method,
        model=match.model,
        status=match.status,
        fault=match.fault,
        key=match.key,
        key_id=match.key_id,
        since=match.since,
        request_id=match.request_id,
        prompt=match.prompt.within(COUNT_SEARCH_SECONDS) if match.prompt is not None else None,
        namespace=namespace,
    )


def _route(path: str, **endpoints: Callable[[Request], Awaitable[Response]]) -> Route:
    """One route for the methods a path serves, so that a 405 on it names them all in `Allow` (a route per method
    would name only its own)."""

    async def by_method(request: Request) -> Response:
        return await endpoints["GET" if request.method == "HEAD" else request.method](request)

    return Route(path, by_method, methods=list(endpoints))


def window_json(w: WindowState) -> dict[str, int]:
    return {"limit": w.limit, "used": w.used, "remaining": w.remaining, "reset_seconds": w.reset_seconds}


class ControlApi:
    def __init__(self, plane: ControlPlane, engine: Engine, keys: KeyRegistry) -> None:
        self.plane = plane
        self.engine = engine
        self.keys = keys

    def routes(self) -> list[Route]:
        return [
            _route("/_sim/faults", GET=self.list_faults, POST=self.add_fault, DELETE=self.clear_faults),
            Route("/_sim/faults/{rule_id}", self.delete_fault, methods=["DELETE"]),
            _route("/_sim/requests", GET=self.list_requests, DELETE=self.clear_requests),
            Route("/_sim/requests/count", self.count_requests, methods=["POST"]),
            _route("/_sim/requests/{id}", GET=self.get_request),
            Route("/_sim/namespaces", self.namespaces, methods=["GET"]),
            Route("/_sim/usage", self.usage, methods=["GET"]),
        ]

    async def add_fault(self, request: Request) -> Response:
        body = parse_json(await read_body(request), fields_once=True, request=request)
        spec = rule_spec_from_json(body, _namespace_of_body(request, body) or DEFAULT_NAMESPACE)
        rule = await self.plane.rules.add(spec)
        return SafeJSONResponse(rule.as_json(), status_code=201)

    async def list_faults(self, request: Request) -> Response:
        namespace = namespace_param(request)
        return SafeJSONResponse({"faults": [rule.as_json() for rule in await self.plane.rules.rules(namespace)]})

    async def clear_faults(self, request: Request) -> Response:
        namespace = await bodiless_namespace(request, "DELETE /_sim/faults")
        return SafeJSONResponse({"deleted": await self.plane.rules.clear(namespace)})

    async def delete_fault(self, request: Request) -> Response:
        """With a namespace, only that namespace's rule: a test's client must not remove another test's rule."""
        namespace = await bodiless_namespace(request, "DELETE /_sim/faults/{id}")
        rule_id = request.path_params["rule_id"]
        if not await self.plane.rules.delete(rule_id, namespace):
            where = "" if namespace is None else f" in namespace {quoted(namespace)}"
            return error_response(
                PERF_FACE, ApiError(errors.NOT_FOUND, f"no fault rule {quoted(rule_id)}{where}; GET /_sim/faults lists them")
            )
        return SafeJSONResponse({"deleted": 1})

    async def list_requests(self, request: Request) -> Response:
        params = request.query_params
        namespace = namespace_param(request, _LIST_PARAMS)
        if "face" in params and params["face"] not in FACE_NAMES:
            raise invalid("face", f"face must be one of {', '.join(FACE_NAMES)}, got {quoted(params['face'])}")
        for name in ("path", "method", "model", "key", "prompt", "fault"):  # as `?namespace=`: never read as "any"
            if params.get(name) == "":
                raise invalid(name, f"{name} is empty: give a value, or leave it out to list requests of every {name}")
        if "path" in params:
            check_path_prefix(params["path"], "path")
            if "face" in params:
                check_face_and_path(params["face"], params["path"], "face", "path")
        if "key" in params:
            check_masked_key(params["key"], "key")
        if "key_id" in params:
            check_key_id(params["key_id"], "key_id")
        if "request_id" in params:
            check_request_id(params["request_id"], "request_id")
        match = Match(
            face=params.get("face"),
            path=params.get("path"),
            method=method_from(params["method"], "method") if "method" in params else None,
            model=params.get("model"),
            status=_whole_param(request, "status", 100, 599),
            key=params.get("key"),
            key_id=params.get("key_id"),
            prompt=PromptPattern(params["prompt"], "prompt") if "prompt" in params else None,
            fault=fault_parts(params["fault"], "fault") if "fault" in params else None,
            since=since_from_query(params["since"], "since") if "since" in params else None,
            request_id=params.get("request_id"),
        )
        limit = _whole_param(request, "limit", 1, MAX_LIST_LIMIT) or DEFAULT_LIST_LIMIT
        try:
            found = await self.plane.journal.find(_selection(match, namespace), limit)
        except TimeoutError:
            return error_response(PERF_FACE, too_slow("prompt"))
        return SafeJSONResponse({"requests": [entry.as_json() for entry in found]})

    async def get_request(self, request: Request) -> Response:
        """One entry by its id (WireMock's `GET /__admin/requests/{id}`), in the call's namespace if it names one."""
        entry_id = request.path_params["id"]
        if entry_id == "count":  # a GET of POST /_sim/requests/count, which this route also matches: its 405
            raise HTTPException(405, headers={"Allow": "POST"})
        namespace = namespace_param(request)
        entry = await self.plane.journal.entry(entry_id, namespace)
        if entry is None:
            where = "" if namespace is None else f" in namespace {quoted(namespace)}"
            message = (
                f"no request {quoted(entry_id)} in the journal{where} (ids are as entries show them, request_N; the journal "
                "keeps the newest --journal-size); GET /_sim/requests lists them"
            )
            return error_response(PERF_FACE, ApiError(errors.NOT_FOUND, message, param="id"))
        return SafeJSONResponse(entry.as_json())

    async def clear_requests(self, request: Request) -> Response:
        namespace = await bodiless_namespace(request, "DELETE /_sim/requests")
        return SafeJSONResponse({"deleted": await self.plane.journal.delete(namespace)})

    async def count_requests(self, request: Request) -> Response:
        """WireMock's verify: how many journalled requests match, e.g. {"match": {"model": "dall-e-3"}}."""
        body = parse_json(await read_body(request), fields_once=True, request=request)
        if not isinstance(body, dict):
            raise invalid(
                None,
                'send {"match": {...}, "namespace"?: NAME}; match takes face, path, method, model, key, key_id, prompt, status, '
                "fault, since, request_id",
            )
        unknown = sorted(set(body) - {"match", "namespace"})
        if unknown:
            raise invalid(
                param_name(unknown[0]), f'{cut(unknown[0])} is not a field of a count; send {{"match": {{...}}, "namespace"?: NAME}}'
            )
        match = match_from_json(body["match"], for_journal=True) if "match" in body else Match()
        namespace = _namespace_of_body(request, body)
        try:
            return SafeJSONResponse({"count": await self.plane.journal.count(_selection(match, namespace))})
        except TimeoutError:
            return error_response(PERF_FACE, too_slow("match.prompt"))

    async def namespaces(self, request: Request) -> Response:
        namespace_param(request)
        return SafeJSONResponse({"namespaces": await self.plane.journal.namespaces()})

    async def usage(self, request: Request) -> Response:
        """Every key with a window in the namespace: its tier and, per face it used, its minute and day windows."""
        namespace = namespace_param(request) or DEFAULT_NAMESPACE
        rows = []
        with in_namespace(namespace):
            for bucket in sorted(await self.engine.state.buckets()):
                face, _, key = bucket.partition(":")
                tenant = self.keys.lookup(key)
                if tenant is None:
                    continue
                rate = await self.engine.usage(tenant, face=face)
                shown = {"key": mask_key(key), "key_id": key_id(key_digest(key))}
                rows.append({**shown, "tier": tenant.tier, "face": face, "minute": window_json(rate.minute), "day": window_json(rate.day)})
        return SafeJSONResponse({"keys": rows})
