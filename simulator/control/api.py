"""The control API of the fault rules, the request journal and namespaces, under /_sim/ (JSON, Perf envelope errors).

A control call names its namespace with `?namespace=NAME` (or the X-Sim-Namespace header, as API calls do).
Decision: where neither is given, calls over collections (faults, requests, count) cover every namespace,
and calls about one namespace's state (clock, usage) mean the default namespace. `POST /_sim/reset` without a
namespace forgets everything, as it did before namespaces existed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.context import DEFAULT_NAMESPACE, in_namespace
from simulator.control.journal import EntryFilter, mask_key
from simulator.control.plane import ControlPlane
from simulator.control.rules import match_from_json, namespace_from, rule_spec_from_json
from simulator.engine.errors import ApiError, invalid
from simulator.engine.generate import Engine
from simulator.http import SafeJSONResponse, parse_json, read_body
from simulator.keys import KeyRegistry
from simulator.registry import PERF, error_response
from simulator.state.base import WindowState
from spec import errors

DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1_000_000


def namespace_param(request: Request) -> str | None:
    """The namespace a control call names: `?namespace=`, else the X-Sim-Namespace header; None when neither."""
    value = request.query_params.get("namespace") or request.headers.get("x-sim-namespace")
    return None if value is None else namespace_from(value)


def _whole_param(request: Request, name: str, low: int, high: int) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise invalid(name, f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _window(w: WindowState) -> dict[str, int]:
    return {"limit": w.limit, "used": w.used, "remaining": w.remaining, "reset_seconds": w.reset_seconds}


class ControlApi:
    def __init__(self, plane: ControlPlane, engine: Engine, keys: KeyRegistry) -> None:
        self.plane = plane
        self.engine = engine
        self.keys = keys

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/faults", self.add_fault, methods=["POST"]),
            Route("/_sim/faults", self.list_faults, methods=["GET"]),
            Route("/_sim/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sim/faults/{rule_id}", self.delete_fault, methods=["DELETE"]),
            Route("/_sim/requests", self.list_requests, methods=["GET"]),
            Route("/_sim/requests", self.clear_requests, methods=["DELETE"]),
            Route("/_sim/requests/count", self.count_requests, methods=["POST"]),
            Route("/_sim/namespaces", self.namespaces, methods=["GET"]),
            Route("/_sim/usage", self.usage, methods=["GET"]),
        ]

    async def add_fault(self, request: Request) -> Response:
        try:
            spec = rule_spec_from_json(parse_json(await read_body(request)))
        except ApiError as exc:
            return error_response(PERF, exc)
        rule = await self.plane.rules.add(spec)
        return SafeJSONResponse(rule.as_json(), status_code=201)

    async def list_faults(self, request: Request) -> Response:
        try:
            namespace = namespace_param(request)
        except ApiError as exc:
            return error_response(PERF, exc)
        return SafeJSONResponse({"faults": [rule.as_json() for rule in await self.plane.rules.rules(namespace)]})

    async def clear_faults(self, request: Request) -> Response:
        try:
            namespace = namespace_param(request)
        except ApiError as exc:
            return error_response(PERF, exc)
        return SafeJSONResponse({"deleted": await self.plane.rules.clear(namespace)})

    async def delete_fault(self, request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if not await self.plane.rules.delete(rule_id):
            return error_response(PERF, ApiError(errors.NOT_FOUND, f"no fault rule {rule_id!r}; GET /_sim/faults lists them"))
        return SafeJSONResponse({"deleted": 1})

    async def list_requests(self, request: Request) -> Response:
        try:
            params = request.query_params
            selection = EntryFilter(
                face=params.get("face"),
                path=params.get("path"),
                method=params["method"].upper() if "method" in params else None,
                model=params.get("model"),
                status=_whole_param(request, "status", 100, 599),
                key=params.get("key"),
                namespace=namespace_param(request),
            )
            limit = _whole_param(request, "limit", 1, MAX_LIST_LIMIT) or DEFAULT_LIST_LIMIT
        except ApiError as exc:
            return error_response(PERF, exc)
        found = await self.plane.journal.find(selection, limit)
        return SafeJSONResponse({"requests": [entry.as_json() for entry in found]})

    async def clear_requests(self, request: Request) -> Response:
        try:
            namespace = namespace_param(request)
        except ApiError as exc:
            return error_response(PERF, exc)
        return SafeJSONResponse({"deleted": await self.plane.journal.delete(namespace)})

    async def count_requests(self, request: Request) -> Response:
        """WireMock's verify: how many journalled requests match, e.g. {"match": {"model": "dall-e-3"}}."""
        try:
            body = parse_json(await read_body(request))
            if not isinstance(body, dict) or set(body) - {"match", "namespace"}:
                raise invalid(None, 'send {"match": {...}, "namespace"?: NAME}; match takes face, path, method, model, key, prompt, status')
            match = match_from_json(body.get("match"), with_status=True)
            namespace = namespace_from(body["namespace"]) if "namespace" in body else None
        except ApiError as exc:
            return error_response(PERF, exc)
        selection = EntryFilter(
            face=match.face,
            path=match.path,
            method=match.method,
            model=match.model,
            status=match.status,
            key=match.key,
            prompt=match.compiled_prompt(),
            namespace=namespace,
        )
        return SafeJSONResponse({"count": await self.plane.journal.count(selection)})

    async def namespaces(self, request: Request) -> Response:
        return SafeJSONResponse({"namespaces": await self.plane.journal.namespaces()})

    async def usage(self, request: Request) -> Response:
        """Every key with a window in the namespace: its tier and, per face it used, its minute and day windows."""
        try:
            namespace = namespace_param(request) or DEFAULT_NAMESPACE
        except ApiError as exc:
            return error_response(PERF, exc)
        rows = []
        with in_namespace(namespace):
            for bucket in sorted(await self.engine.state.buckets()):
                face, _, key = bucket.partition(":")
                tenant = self.keys.lookup(key)
                if tenant is None:
                    continue
                limited = tenant if face == "perf" else self.keys.limits_on(face, tenant)
                rate = await self.engine.usage(limited, bucket=face)
                rows.append(
                    {"key": mask_key(key), "tier": tenant.tier, "face": face, "minute": _window(rate.minute), "day": _window(rate.day)}
                )
        return SafeJSONResponse({"keys": rows})
