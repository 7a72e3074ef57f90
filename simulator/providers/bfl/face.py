"""Black Forest Labs' native API (FLUX.1 [pro] / [dev]): submit, poll, fetch the sample. Wire format only.

Served under /bfl and, for submit and poll, at the root too (the official `blackforest` client drops any path in
its base URL). Errors follow BFL's FastAPI app, in `mapping.error_answer`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.cors import EMBEDDABLE
from simulator.engine import tasks
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.engine.tasks import TaskRecord, TaskStore
from simulator.http import Endpoint, SafeJSONResponse, credential_header, parse_json, read_body
from simulator.keys import KeyRegistry, Tenant
from simulator.providers.bfl import mapping
from simulator.providers.bfl.mapping import NOT_AN_OBJECT, BflValidationError
from simulator.providers.serving import send
from simulator.urls import namespaced_base_url
from spec import errors
from spec.providers import bfl

PREFIX = "/bfl"
MALFORMED_ANSWER = b'{"id": "7c1f0b2e-'
"""The start of a submit's answer, cut short: what the control plane's `malformed` fault sends on this face."""
_PHASE_STATUS = {
    tasks.PENDING: bfl.BFL_STATUS_PENDING,
    tasks.READY: bfl.BFL_STATUS_READY,
    tasks.MODERATED: bfl.BFL_STATUS_REQUEST_MODERATED,
    tasks.FLAGGED: bfl.BFL_STATUS_CONTENT_MODERATED,
}
_EXTENSIONS = {"jpeg": "jpg", "png": "png"}


class BflFace:
    def __init__(self, engine: Engine, keys: KeyRegistry, public_url: str | None) -> None:
        self.engine = engine
        self.keys = keys
        self.public_url = public_url
        self.tasks = TaskStore(engine, "bfl", bfl.BFL_TASK_TTL_SECONDS)

    def routes(self) -> list[Route]:
        """The same routes under /bfl and at the root (spec.providers.bfl.BFL_ROOT_PATHS); sample delivery only under /bfl."""
        return [
            *(Route(f"/v1/{endpoint}", Endpoint(self.submit), methods=["POST"]) for endpoint in bfl.BFL_MODELS),
            Route("/v1/get_result", Endpoint(self.get_result), methods=["GET"]),
            Route("/delivery/{task_id}/sample.{ext}", Endpoint(self.sample), methods=["GET", "HEAD"]),
        ]

    def _tenant(self, request: Request) -> Tenant:
        key = credential_header(request, b"x-key", "x-key")
        if not key:
            raise ApiError(errors.AUTHENTICATION_ERROR, bfl.BFL_NOT_AUTHENTICATED)
        try:
            return self.keys.authenticate_key(key.strip())
        except ApiError:
            raise ApiError(errors.AUTHENTICATION_ERROR, bfl.BFL_INVALID_KEY) from None

    async def submit(self, request: Request) -> Response:
        endpoint = request.url.path.rsplit("/", 1)[1]
        try:
            tenant = self._tenant(request)
            native = mapping.request_from_native(endpoint, await _json_body(request))
            kept = {"seed": native.generation.first_index, "output_format": native.output_format}
            record = await self.tasks.submit(tenant, native.generation, mapping.PROVIDER, kept)
        except ApiError as exc:
            return error_response(exc)
        prefix = PREFIX if request.url.path.startswith(PREFIX + "/") else ""
        polling_url = f"{namespaced_base_url(request, self.public_url)}{prefix}/v1/get_result?id={record.task_id}"
        return SafeJSONResponse({"id": record.task_id, "polling_url": polling_url})

    async def get_result(self, request: Request) -> Response:
        """A task's state, for any known key (the task's own or another).

        Decision: BFL's docs poll with `x-key` (so does the `blackforest` client's session), so a poll without a
        key, or with an unknown one, is the submit's 401 (`Not authenticated`, `Invalid API key`), checked before
        the id as FastAPI solves a security dependency first: a client's 401 handling on the polling path can be
        exercised. Which key submitted the task is not checked: BFL documents nothing of the kind."""
        try:
            self._tenant(request)
        except ApiError as exc:
            return error_response(exc)
        task_id = request.query_params.get("id")
        if not task_id:
            return error_response(BflValidationError([{"type": "missing", "loc": ["query", "id"], "msg": "Field required", "input": None}]))
        record = await self.tasks.get(task_id)
        if record is None:
            return SafeJSONResponse({"id": task_id, "status": bfl.BFL_STATUS_NOT_FOUND, "result": None, "progress": None})
        phase = record.phase(await self.tasks.clock(record))
        result = self._result(request, record) if phase == tasks.READY else None
        return SafeJSONResponse({"id": task_id, "status": _PHASE_STATUS[phase], "result": result, "progress": None})

    def _result(self, request: Request, record: TaskRecord) -> dict[str, Any]:
        ext = _EXTENSIONS[record.native["output_format"]]
        return {
            # In the task's namespace, whichever namespace polled: its download is journalled, faulted and
            # counted there, not in `default` (a plain URL) or in another poller's.
            "sample": f"{namespaced_base_url(request, self.public_url, record.namespace)}/bfl/delivery/{record.task_id}/sample.{ext}",
            "prompt": record.prompt,
            "seed": record.native["seed"],
            "start_time": record.submitted_at,
            "end_time": record.submitted_at + record.latency_ms / 1000,
            "duration": record.latency_ms / 1000,
        }

    async def sample(self, request: Request) -> Response:
        """The delivery URL: valid from ready until BFL_SAMPLE_TTL_SECONDS later, then 403 as an expired signed URL."""
        record = await self.tasks.get(request.path_params["task_id"])
        now = 0.0 if record is None else await self.tasks.clock(record)
        if record is None or record.phase(now) != tasks.READY or _EXTENSIONS[record.native["output_format"]] != request.path_params["ext"]:
            return Response("The specified blob does not exist.", status_code=404, media_type="text/plain")
        if now >= record.ready_at + bfl.BFL_SAMPLE_TTL_SECONDS:
            message = f"Signed URL expired: BFL sample URLs are valid for {bfl.BFL_SAMPLE_TTL_SECONDS // 60} minutes."
            return Response(message, status_code=403, media_type="text/plain")
        png = await self.engine.image_png(record.image_ids[0])
        if png is None:
            return Response("The specified blob does not exist.", status_code=404, media_type="text/plain")
        output_format = record.native["output_format"]
        return Response(await self.engine.encode(png, output_format), media_type=f"image/{output_format}", headers=EMBEDDABLE)


async def _json_body(request: Request) -> Any:
    """The body as JSON; unreadable JSON is FastAPI's 422 `json_invalid` (an oversized body stays a 413).

    Decision: as FastAPI reads a body, one sent with a Content-Type other than JSON (`curl -d`'s form type,
    text/plain) is not parsed but taken as text, which is no object: FastAPI's 422 `model_attributes_type`. It
    was read as JSON and generated, so a client that forgot its header passed here and failed against BFL. A body
    sent without a Content-Type, or with an empty one, is read as JSON, as FastAPI reads it."""
    raw = await read_body(request, bfl.BFL_MAX_BODY_BYTES)  # its only error is the 413
    content_type = request.headers.get("content-type")
    if content_type and not _is_json_type(content_type):
        text = raw.decode("utf-8", "replace")
        raise BflValidationError([{"type": "model_attributes_type", "loc": ["body"], "msg": NOT_AN_OBJECT, "input": text}])
    try:
        return parse_json(raw, request=request)
    except ApiError as exc:
        raise BflValidationError([{"type": "json_invalid", "loc": ["body"], "msg": exc.message, "input": None}]) from None


def _is_json_type(content_type: str) -> bool:
    """application/json or application/<anything>+json, parameters aside, as FastAPI tells a JSON body."""
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def error_response(exc: ApiError) -> Response:
    return send(mapping.error_answer(exc))


def unknown_route(method: str, path: str, allowed: str | None) -> ApiError:
    """FastAPI's own answers, which BFL's API gives: {"detail": "Not Found"} and {"detail": "Method Not Allowed"}."""
    if allowed is None:
        return ApiError(errors.NOT_FOUND, "Not Found")
    return ApiError(errors.METHOD_NOT_ALLOWED, "Method Not Allowed")
