"""The Perf API's own wire format, in one place: where it is served, how a request body is read, the success body
and headers, and the error envelope with its headers (as each provider's mapping module holds that provider's)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from simulator.context import namespace, note_request_id
from simulator.engine.digest import id_salt, salted_hex_id
from simulator.engine.errors import ApiError, cut
from simulator.engine.request import GenerationRequest
from simulator.engine.validate import validate_perf_request
from simulator.http import SafeJSONResponse, parse_json
from simulator.namespace_path import is_control_path, split_namespace_path
from simulator.state.base import RateState
from spec import errors, tiers

PREFIX = "/v1"
MALFORMED_ANSWER = b'{"created": 1767225600, "data": [{"url": "http://127.0.0.1/images/img_'
"""The start of a success answer, cut short: what the control plane's `malformed` fault sends on this face."""
PATH = "/images/generations"


class ErrorIds:
    """The `x-request-id`s of answers the engine gave no id (errors, injected malformed answers), of one simulator.

    Decision: an error id is the digest of the seed, the namespace, a process salt and the namespace's own count of
    error answers, counted from 1 and forgotten by POST /_sim/reset as the success ids' sequence is. So a run repeats
    its error ids after a reset and under the same seed, one namespace's errors never shift another's, and the seed
    changes them. The count is kept in process, not in the shared state: an error answer costs no Redis round trip.
    With several workers each process has a random salt, so their counts never give the same id (those runs are not
    repeatable anyway: which worker answers is the kernel's choice); with one worker the salt is empty, so memory and
    Redis give the same ids. Each simulator (app) keeps its own counts (`create_app` makes them, `error_ids` finds
    them), so simulators in one process (two fixtures, `simulator_running` twice) each repeat their own run.

    Decision: the errors of the simulator's own routes (the control API, `/images/` and the other pages: a scope the
    control layer marks `OWN_ROUTE`) are counted apart from the API's, per namespace and under a salt of their own:
    a test helper that looks up a missing journal entry, an `<img>` of an expired URL or a misspelt control call
    must not change the `x-request-id` of the app's next API error, which is what an app logs and a golden file holds.
    """

    def __init__(self, seed: int, shared_by_workers: bool) -> None:
        """Count for a simulator of `seed`; `shared_by_workers`: other processes answer for it too."""
        self._seed = seed
        self._process = uuid.uuid4().hex[:16] if shared_by_workers else ""
        self._namespaces: dict[tuple[str, bool], tuple[str, Iterator[int]]] = {}
        """Each namespace's counts: its API's errors (key `(name, False)`) and its own routes' (`(name, True)`)."""

    def forget(self, name: str | None) -> None:
        """Count namespace `name` (every namespace, with None) from 1 again."""
        if name is None:
            self._namespaces.clear()
        else:
            for own in (False, True):
                self._namespaces.pop((name, own), None)

    def next_id(self, own: bool = False) -> str:
        return f"req_err_{self.next_hex(own=own)}"

    def next_hex(self, length: int = 24, own: bool = False) -> str:
        """The next error id's hex digits alone, `length` of them: a native face writes them in its provider's form
        (OpenAI's `req_` and 32, Stability's bare 32). `own`: an error of the simulator's own routes, counted apart."""
        name = namespace()
        counted = self._namespaces.get((name, own))
        if counted is None:
            purpose = f"own-error@{name}" if own else f"error@{name}"
            counted = self._namespaces[name, own] = (id_salt(self._seed, purpose, self._process), itertools.count(1))
        salt, count = counted
        return salted_hex_id(salt, next(count), length)


OWN_ROUTE = "perf_sim.own_route"
"""The scope key the control layer sets on a request for the simulator itself (no API face's), whose error answers
take their ids from a count of their own (`ErrorIds`)."""


def error_ids(scope: Scope) -> ErrorIds:
    """The error ids of the simulator serving `scope`: its app (Starlette puts the app in every scope it serves)
    holds them, so no request pays to carry them, and only an error answer looks them up."""
    ids: ErrorIds = scope["app"].state.error_ids
    return ids


class ErrorAnswer(SafeJSONResponse):
    """A Perf error answer. Its `x-request-id` is taken as it is sent, from the error ids of the simulator sending
    it (`error_ids`): the code that builds an answer need not know which simulator it serves; it is noted then for the
    request's journal entry (`note_request_id`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self.request_id = self.headers["x-request-id"] = error_ids(scope).next_id(own=OWN_ROUTE in scope)
        note_request_id(request_id)
        await super().__call__(scope, receive, send)


def request_from_wire(raw: bytes, request: Request | None = None) -> GenerationRequest:
    """A request body as the engine's request, or the ApiError naming the broken parameter (`request`: the HTTP
    request the body came in, whose headers say why a body that is not JSON is not, `parse_json`)."""
    return validate_perf_request(parse_json(raw, huge_numbers_as_sent=True, request=request))


def success_body(
    request: GenerationRequest, created: int, data: list[dict[str, str]], request_id: str, cost_usd: float, latency_ms: int
) -> dict[str, object]:
    """The document's success body; the in-process face and the gateway both answer with it."""
    perf = {
        "request_id": request_id,
        "model_used": request.model,
        "size": request.size,
        "quality": request.quality,
        "cost_usd": cost_usd,
        "latency_ms": latency_ms,
    }
    return {"created": created, "data": data, "perf": perf}


def success_headers(request_id: str, rate: RateState) -> dict[str, str]:
    return {"x-request-id": request_id, **rate_limit_headers(rate)}


def rate_limit_headers(rate: RateState) -> dict[str, str]:
    return {
        tiers.HEADER_LIMIT_MINUTE: str(rate.minute.limit),
        tiers.HEADER_REMAINING_MINUTE: str(rate.minute.remaining),
        tiers.HEADER_RESET_MINUTE: str(rate.minute.reset_seconds),
        tiers.HEADER_LIMIT_DAY: str(rate.day.limit),
        tiers.HEADER_REMAINING_DAY: str(rate.day.remaining),
        tiers.HEADER_RESET_DAY: str(rate.day.reset_seconds),
    }


def error_response(exc: ApiError, rate: RateState | None = None, headers: dict[str, str] | None = None) -> Response:
    """The document's envelope, with an `x-request-id` once sent (as every Perf response has, see `ErrorAnswer`) and,
    with a wait a client should not retry after (`ApiError.should_retry`), `x-should-retry: false`."""
    all_headers: dict[str, Any] = {}
    if rate is not None:
        all_headers.update(rate_limit_headers(rate))
    if exc.retry_after is not None:
        all_headers["Retry-After"] = str(exc.retry_after)
        if not exc.should_retry:
            all_headers["x-should-retry"] = "false"
    all_headers.update(headers or {})
    return ErrorAnswer(exc.envelope(), status_code=exc.status, headers=all_headers)


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    if allowed is None:
        # A path under a namespace's base path (`/_sim/ns/jobA/v1/x`) is the API's, as the same path without it is.
        document = "/_sim/openapi.json" if is_control_path(split_namespace_path(path)[1] or path) else "/openapi.json"
        return ApiError(errors.NOT_FOUND, f"no route for {method} {cut(path)}; see {document}")
    return ApiError(errors.METHOD_NOT_ALLOWED, f"method {method} is not allowed on {path}; allowed: {allowed}")
